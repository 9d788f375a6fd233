//! `StorageUsage`, `StoragePolicy` and `SnapshotVerification`: what an account stores,
//! the policy that bounds it, and what a verification found.

use async_graphql::SimpleObject;

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
