//! `Checkpoint`, the changes it lists, and what `rewindSandbox` and `checkpointDiff`
//! answer.

use async_graphql::{Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::sandbox::Sandbox;
use crate::{
    entity::checkpoint::{self, ChangeKind as Kind, PathChange as Change},
    service::checkpoints::{diff::Diff, rewind::RewindOutcome},
};

/// How a path changed.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ChangeKind {
    /// It is new.
    Added,
    /// Its content, type, mode or link target changed.
    Modified,
    /// It is gone.
    Deleted,
}

impl From<Kind> for ChangeKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Added => ChangeKind::Added,
            Kind::Modified => ChangeKind::Modified,
            Kind::Deleted => ChangeKind::Deleted,
        }
    }
}

/// One changed path.
#[derive(SimpleObject)]
pub struct PathChange {
    /// Path from the workspace root.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

impl From<Change> for PathChange {
    fn from(c: Change) -> Self {
        Self { path: c.path, kind: c.kind.into() }
    }
}

/// The workspace and Claude's conversation after a turn (or when asked), kept outside
/// the sandbox: browse its files with `source: CHECKPOINT`, rewind to it, fork from it.
pub struct Checkpoint(pub checkpoint::Model);

#[Object]
impl Checkpoint {
    /// Checkpoint id (pass as `checkpointId`).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The sandbox it was taken of.
    async fn sandbox_id(&self) -> ID {
        ID(self.0.sandbox_id.to_string())
    }
    /// The run whose turn it follows; null when taken with `checkpointSandbox`.
    async fn run_id(&self) -> Option<ID> {
        self.0.run_id.map(|r| ID(r.to_string()))
    }
    /// Which turn of that run (1, 2, 3…).
    async fn turn(&self) -> Option<i64> {
        self.0.turn
    }
    /// When taken.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Paths changed since the checkpoint before it (at most
    /// `limits.checkpointMaxListedChanges`; `changesTotal` counts them all).
    async fn changes(&self) -> Vec<PathChange> {
        self.0.changes.0.iter().cloned().map(PathChange::from).collect()
    }
    /// How many paths changed since the checkpoint before it.
    async fn changes_total(&self) -> i64 {
        self.0.changes_total
    }
    /// Bytes of new content this checkpoint stored (unchanged files cost nothing).
    async fn bytes(&self) -> i64 {
        self.0.bytes_stored
    }
    /// Files in the workspace then.
    async fn file_count(&self) -> i64 {
        self.0.file_count
    }
    /// Their total size.
    async fn total_bytes(&self) -> i64 {
        self.0.total_bytes
    }
    /// Whether Claude's conversation was kept with it (a rewind or fork then goes on
    /// from this turn; without it, they start a new conversation).
    async fn has_session(&self) -> bool {
        self.0.session_key.is_some()
    }
}

/// What `rewindSandbox` did.
#[derive(SimpleObject)]
pub struct RewindResult {
    /// The sandbox, rewound.
    pub sandbox: Sandbox,
    /// Files and links written back.
    pub files_written: u64,
    /// Paths removed.
    pub paths_deleted: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

impl RewindResult {
    /// The result, with the sandbox as the service returned it.
    pub fn new(o: RewindOutcome, sandbox: Sandbox) -> Self {
        Self { sandbox, files_written: o.files_written, paths_deleted: o.paths_deleted, duration_ms: o.duration_ms }
    }
}

/// The changes that lead from one checkpoint to another.
#[derive(SimpleObject)]
pub struct CheckpointDiff {
    /// The changed paths, in path order (at most `limits.checkpointMaxDiffEntries`).
    pub changes: Vec<PathChange>,
    /// How many changed in all.
    pub total_count: u64,
    /// Whether `changes` leaves some out.
    pub truncated: bool,
}

impl From<Diff> for CheckpointDiff {
    fn from(d: Diff) -> Self {
        let truncated = d.total > d.changes.len() as u64;
        Self { changes: d.changes.into_iter().map(PathChange::from).collect(), total_count: d.total, truncated }
    }
}

/// An account's checkpoint retention.
#[derive(SimpleObject)]
pub struct CheckpointRetention {
    /// Checkpoints kept per sandbox.
    pub keep: u64,
    /// Hours one is kept (0: no age limit).
    pub max_age_hours: u64,
}

/// What `reclaimStorage` removed.
#[derive(SimpleObject)]
pub struct ReclaimResult {
    /// Whether it ran (false: the account's syncs, checkpoints or restores were busy).
    pub ran: bool,
    /// Blobs deleted.
    pub blobs_deleted: u64,
    /// Their bytes.
    pub bytes_deleted: u64,
}
