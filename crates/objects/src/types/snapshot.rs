//! `Snapshot` and `SyncResult`.

use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{entity::snapshot, service::snapshots::sync::SyncOutcome};

/// A stored copy of a sandbox's workspace.
#[derive(SimpleObject)]
pub struct Snapshot {
    /// Snapshot id (pass as `snapshotId` with `source: SNAPSHOT`, or `fromSnapshot`).
    #[graphql(owned)]
    pub id: ID,
    /// The sandbox it was taken of.
    pub sandbox_id: ID,
    /// When taken.
    pub created_at: DateTime<Utc>,
    /// Files in it.
    pub file_count: i64,
    /// Sum of their sizes.
    pub total_bytes: i64,
}

impl From<snapshot::Model> for Snapshot {
    fn from(s: snapshot::Model) -> Self {
        Self {
            id: ID(s.id.to_string()),
            sandbox_id: ID(s.sandbox_id.to_string()),
            created_at: s.created_at,
            file_count: s.file_count,
            total_bytes: s.total_bytes,
        }
    }
}

/// What syncSandbox did.
#[derive(SimpleObject)]
pub struct SyncResult {
    /// The snapshot taken.
    pub snapshot: Snapshot,
    /// Files in the snapshot.
    pub files_processed: u64,
    /// Files whose content was new and uploaded.
    pub files_uploaded: u64,
    /// Bytes uploaded.
    pub bytes_transferred: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Files that changed while the sync read them (e.g. a run was writing).
    pub files_changed_during_sync: u64,
    /// Entries left out because they lie below `limits.maxWalkDepth` or their path is too
    /// long; the rest of the workspace is in the snapshot.
    pub files_skipped: u64,
}

impl From<SyncOutcome> for SyncResult {
    fn from(o: SyncOutcome) -> Self {
        Self {
            snapshot: o.snapshot.into(),
            files_processed: o.files_processed,
            files_uploaded: o.files_uploaded,
            bytes_transferred: o.bytes_transferred,
            duration_ms: o.duration_ms,
            files_changed_during_sync: o.files_changed_during_sync,
            files_skipped: o.files_skipped,
        }
    }
}
