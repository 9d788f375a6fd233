//! `StorageUsage`, `StoragePolicy`, `SnapshotVerification` and `AccountErasure`: what an
//! account stores, the policy that bounds it, what a verification found, and how far the
//! erasure of an account has come.

use async_graphql::{Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};

use crate::service::erasure::ErasureState;

use super::snapshot::Snapshot;

/// What an account stores.
#[derive(SimpleObject)]
pub struct StorageUsage {
    /// Bytes of distinct content (identical files are stored once).
    pub bytes: u64,
    /// Distinct blobs.
    pub blobs: u64,
    /// Snapshots.
    pub snapshots: u64,
    /// Its quota in bytes (0: none).
    pub quota_bytes: u64,
}

/// An account's snapshot retention and storage quota.
#[derive(SimpleObject)]
pub struct StoragePolicy {
    /// Snapshots kept per sandbox (0: all; the newest always stays).
    pub snapshots_keep: u64,
    /// Hours a snapshot is kept (0: no age limit).
    pub snapshots_max_age_hours: u64,
    /// Bytes the account may store (0: no quota).
    pub storage_quota_bytes: u64,
}

/// What `verifySnapshot` found.
#[derive(SimpleObject)]
pub struct SnapshotVerification {
    /// The snapshot, with its new status.
    pub snapshot: Snapshot,
    /// Damaged or missing paths (at most `limits.verifyMaxListedPaths`).
    pub corrupt_paths: Vec<String>,
    /// How many paths are damaged or missing.
    pub corrupt_count: u64,
    /// Distinct blobs read back.
    pub blobs_read: u64,
    /// Their bytes.
    pub bytes_read: u64,
}

/// How far an account's erasure has come.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ErasureStage {
    /// Stopping each sandbox and removing its workspace, volume and rows.
    Sandboxes,
    /// Deleting every object the account stored.
    Objects,
    /// Deleting the account's remaining rows.
    Rows,
    /// Nothing of the account is left but the audit record of its erasure.
    Done,
}

/// An account's erasure (`deleteAccount`): resumed by another instance if this one dies.
#[derive(SimpleObject)]
pub struct AccountErasure {
    /// The account's id, the one thing of it kept (in the audit record).
    pub account_id: ID,
    /// Where it stands.
    pub stage: ErasureStage,
    /// Rows and objects removed so far (while it runs).
    pub erased: i64,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<ErasureState> for AccountErasure {
    fn from(s: ErasureState) -> Self {
        use crate::entity::enums::ErasureStage as S;
        let stage = match s.stage {
            Some(S::Sandboxes) => ErasureStage::Sandboxes,
            Some(S::Objects) => ErasureStage::Objects,
            Some(S::Rows) => ErasureStage::Rows,
            None => ErasureStage::Done,
        };
        Self {
            account_id: ID(s.account_id.to_string()),
            stage,
            erased: s.erased,
            requested_at: s.requested_at,
            finished_at: s.finished_at,
        }
    }
}
