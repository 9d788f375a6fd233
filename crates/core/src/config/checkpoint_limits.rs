//! Bounds on checkpoints: how many a sandbox keeps and for how long (defaults an admin can
//! override per account), how much of a turn's change list is kept, how big a Claude
//! session may be to travel with a checkpoint, and how the blob reclaim paces itself.
//! Part of [`Limits`](super::Limits), flattened.

use clap::Args;

/// Bounds of checkpoints and of reclaiming the blobs they alone held.
#[derive(Debug, Clone, Args)]
pub struct CheckpointLimits {
    /// Take a checkpoint at the end of every turn of every run (off: only on demand).
    #[arg(long, env = "SANDBOXQL_CHECKPOINT_TURNS", default_value_t = true, action = clap::ArgAction::Set)]
    pub checkpoint_turns: bool,
    /// Checkpoints kept per sandbox, newest first (an admin may set another per account).
    #[arg(long, env = "SANDBOXQL_CHECKPOINTS_KEEP", default_value_t = 50)]
    pub checkpoints_keep: u64,
    /// Hours a checkpoint is kept (0: no age limit; an admin may set another per account).
    #[arg(long, env = "SANDBOXQL_CHECKPOINTS_MAX_AGE_HOURS", default_value_t = 24 * 7)]
    pub checkpoints_max_age_hours: u64,
    /// Changed paths listed on one checkpoint (the count beyond is kept, the paths not).
    #[arg(long, env = "SANDBOXQL_CHECKPOINT_MAX_LISTED_CHANGES", default_value_t = 1000)]
    pub checkpoint_max_listed_changes: u64,
    /// Largest Claude session (its transcript) kept with a checkpoint; a longer one
    /// leaves the checkpoint with files only (a rewind to it starts a new conversation).
    #[arg(long, env = "SANDBOXQL_CHECKPOINT_SESSION_MAX_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub checkpoint_session_max_bytes: u64,
    /// Milliseconds a turn waits for its checkpoint before going on without one.
    #[arg(long, env = "SANDBOXQL_CHECKPOINT_TIMEOUT_MS", default_value_t = 30_000)]
    pub checkpoint_timeout_ms: u64,
    /// Paths listed by one diff between checkpoints.
    #[arg(long, env = "SANDBOXQL_CHECKPOINT_MAX_DIFF_ENTRIES", default_value_t = 10_000)]
    pub checkpoint_max_diff_entries: u64,
    /// Seconds between an instance's passes over accounts whose blobs may be reclaimed.
    #[arg(long, env = "SANDBOXQL_RECLAIM_EVERY_SECS", default_value_t = 300)]
    pub reclaim_every_secs: u64,
    /// Milliseconds a sync, checkpoint or restore waits for a reclaim of its account's
    /// blobs to finish before it is refused (CONFLICT `RECLAIM_IN_PROGRESS`).
    #[arg(long, env = "SANDBOXQL_RECLAIM_WAIT_MS", default_value_t = 60_000)]
    pub reclaim_wait_ms: u64,
    /// Blob rows one reclaim looks at per statement (it renews its hold between them).
    #[arg(long, env = "SANDBOXQL_RECLAIM_BATCH", default_value_t = 1000)]
    pub reclaim_batch: u64,
    /// Distinct blobs an account's manifests may name for a reclaim to run (each costs
    /// about 100 bytes of memory while it does); more and the account is not reclaimed.
    #[arg(long, env = "SANDBOXQL_RECLAIM_MAX_REFERENCED", default_value_t = 2_000_000)]
    pub reclaim_max_referenced: u64,
}
