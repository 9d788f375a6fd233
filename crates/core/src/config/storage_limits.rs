//! Bounds on what an account stores: how many snapshots a sandbox keeps and for how long
//! (nothing expires unless one is set; an admin may set them per account), how much an
//! account may store, and how fast the background scrub re-reads stored blobs, and how hard an
//! account's erasure presses on the database and the store.
//! Part of [`Limits`](super::Limits), flattened.

use clap::Args;

/// Bounds of stored snapshots and their verification.
#[derive(Debug, Clone, Args)]
pub struct StorageLimits {
    /// Snapshots kept per sandbox, newest first (0: all; the newest always stays).
    #[arg(long, env = "SANDBOXQL_SNAPSHOTS_KEEP", default_value_t = 0)]
    pub snapshots_keep: u64,
    /// Hours a snapshot is kept (0: no age limit; the newest always stays).
    #[arg(long, env = "SANDBOXQL_SNAPSHOTS_MAX_AGE_HOURS", default_value_t = 0)]
    pub snapshots_max_age_hours: u64,
    /// Bytes of distinct content one account may store (0: no quota); an upload past it
    /// is refused before it starts (CONFLICT `STORAGE_QUOTA_EXCEEDED`).
    #[arg(long, env = "SANDBOXQL_STORAGE_QUOTA_BYTES", default_value_t = 0)]
    pub storage_quota_bytes: u64,
    /// Hours after its delete that a sandbox's snapshots, checkpoints and run events are
    /// removed (0: kept); the blobs only they held are then reclaimed.
    #[arg(long, env = "SANDBOXQL_PURGE_DELETED_AFTER_HOURS", default_value_t = 720)]
    pub purge_deleted_after_hours: u64,
    /// Hours after a run ends that its token deltas (`TextDelta`, `ToolInputDelta`,
    /// `ThinkingDelta`) are removed, its typed events kept (0: kept forever).
    #[arg(long, env = "SANDBOXQL_RUN_EVENTS_MAX_AGE_HOURS", default_value_t = 168)]
    pub run_events_max_age_hours: u64,
    /// Seconds between background scrub passes (0: no scrub); each pass verifies the
    /// snapshot verified longest ago.
    #[arg(long, env = "SANDBOXQL_SCRUB_EVERY_SECS", default_value_t = 600)]
    pub scrub_every_secs: u64,
    /// Blobs verified at once by one verification.
    #[arg(long, env = "SANDBOXQL_VERIFY_PARALLELISM", default_value_t = 8)]
    pub verify_parallelism: u64,
    /// Damaged paths listed on a snapshot (the count beyond is kept, the paths not).
    #[arg(long, env = "SANDBOXQL_VERIFY_MAX_LISTED_PATHS", default_value_t = 100)]
    pub verify_max_listed_paths: u64,
    /// Rows or objects an account's erasure removes per statement or batch.
    #[arg(long, env = "SANDBOXQL_ERASE_BATCH", default_value_t = 500)]
    pub erase_batch: u64,
    /// Milliseconds an erasure pauses between batches, so erasing a large account does not
    /// crowd the database and the object store out for everyone else.
    #[arg(long, env = "SANDBOXQL_ERASE_PAUSE_MS", default_value_t = 20)]
    pub erase_pause_ms: u64,
}
