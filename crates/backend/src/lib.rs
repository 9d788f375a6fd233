#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! Where sandboxes run. One trait, one implementation per provider, chosen at start-up and
//! held as `Arc<dyn Backend>`, so services never know which one they talk to.

// The layers below, under the names the code uses.
pub(crate) use sandboxql_core::{config, error, metrics, work};
pub(crate) use sandboxql_entity as entity;
pub(crate) use sandboxql_storage as storage;

pub mod exec;
pub mod files;
pub mod local;
pub mod modal;
pub mod order;
pub mod template;
pub mod watch;

pub use self::watch::{RawChange, WorkspaceWatch};

use async_trait::async_trait;
use tokio::sync::mpsc;
use uuid::Uuid;

use self::{
    exec::{ExecHandle, ExecRequest},
    files::{FileBytes, FileEntry, Walk, WalkChunk, WalkOptions, WorkspacePath},
    template::SandboxTemplate,
};
use crate::{
    entity::enums::BackendName,
    error::{AppError, AppResult},
};

/// What a [`Backend::prefetch`] holds (spooled files) until the sync that asked drops it.
pub struct Prefetched {
    _guard: Option<Box<dyn Send + Sync>>,
}

impl Prefetched {
    /// Nothing was prefetched.
    pub fn none() -> Self {
        Self { _guard: None }
    }

    /// Holds `guard` (its drop releases what was prefetched).
    pub fn holding(guard: Box<dyn Send + Sync>) -> Self {
        Self { _guard: Some(guard) }
    }
}

fn asleep() -> AppError {
    AppError::conflict("the sandbox is asleep; a run or a write wakes it")
}

fn no_files() -> AppError {
    AppError::provider("this backend cannot access files", "file operation on a backend without file support")
}

/// What a backend needs to create a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// Our id of the sandbox (tags and directory names use it).
    pub sandbox_id: Uuid,
    /// Owner (tags, per-account volumes).
    pub account_id: Uuid,
    /// The premade configuration.
    pub template: SandboxTemplate,
}

/// What the backend says about a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendStatus {
    /// Accepting work.
    Running,
    /// Stopped (by us, a timeout or the provider).
    Terminated,
    /// The backend does not know it.
    Missing,
}

/// A sandbox provider. Errors are [`AppError`](crate::error::AppError)s: provider
/// failures as PROVIDER_UNAVAILABLE with detail for the log only.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Which backend this is, stored on each sandbox row.
    fn name(&self) -> BackendName;

    /// Creates a sandbox and returns the backend's id for it.
    async fn create(&self, spec: &SandboxSpec) -> AppResult<String>;

    /// Stops a sandbox: no command may start, every running one is killed. Its files stay
    /// readable. Stopping one that is already gone succeeds.
    async fn terminate(&self, external_id: &str) -> AppResult<()>;

    /// Removes a stopped sandbox's data for good (its workspace; on Modal its volume),
    /// once a delete has taken the final snapshot.
    async fn destroy(&self, _sandbox_id: Uuid, _external_id: &str) -> AppResult<()> {
        Ok(())
    }

    /// Removes whatever a create that never finished may have made for sandbox `id` (its
    /// row never learned the backend's id). Best effort: failures are logged.
    async fn forget(&self, _sandbox_id: Uuid) {}

    /// Current state of a sandbox.
    async fn status(&self, external_id: &str) -> AppResult<BackendStatus>;

    /// Whether this backend's sandboxes can end on their own while their files live on
    /// (then a sandbox sleeps and is woken by `create` with the same spec).
    fn sleeps(&self) -> bool {
        false
    }

    /// Walks a sleeping sandbox's files where they rest (Modal: its volume), without
    /// starting anything.
    async fn walk_at_rest(&self, _sandbox_id: Uuid, _path: &WorkspacePath, _opts: WalkOptions) -> AppResult<Walk> {
        Err(asleep())
    }

    /// One entry of a sleeping sandbox.
    async fn stat_at_rest(&self, _sandbox_id: Uuid, _path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
        Err(asleep())
    }

    /// A prefix of a file of a sleeping sandbox.
    async fn read_at_rest(&self, _sandbox_id: Uuid, _path: &WorkspacePath, _max_bytes: u64) -> AppResult<FileBytes> {
        Err(asleep())
    }

    /// Starts a command in the sandbox's workspace with a scrubbed environment.
    async fn exec(&self, external_id: &str, req: ExecRequest) -> AppResult<ExecHandle>;

    /// Whether commands run as root inside the sandbox (Claude then needs IS_SANDBOX=1
    /// before it accepts `--dangerously-skip-permissions`).
    fn runs_as_root(&self) -> bool;

    /// Environment that points Claude inside a sandbox at the Anthropic gateway
    /// (`ANTHROPIC_BASE_URL`, and proxy variables where egress goes through a proxy).
    fn gateway_env(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Watches the whole workspace as it changes, queueing at most `capacity` changes; None
    /// when this backend cannot watch (then callers poll with [`Backend::walk`]).
    async fn watch(&self, _external_id: &str, _capacity: usize) -> AppResult<Option<WorkspaceWatch>> {
        Ok(None)
    }

    /// Entries under a workspace directory in display order, in one pass.
    async fn walk(&self, _external_id: &str, _path: &WorkspacePath, _opts: WalkOptions) -> AppResult<Walk> {
        Err(no_files())
    }

    /// Entries under a workspace directory in display order, as a stream of chunks ending
    /// with a [`WalkChunk::Done`], for walks too big to hold (a sync of a whole workspace).
    /// The default walks in one go; backends that can stream do.
    async fn walk_stream(
        &self,
        external_id: &str,
        path: &WorkspacePath,
        opts: WalkOptions,
    ) -> AppResult<mpsc::Receiver<AppResult<WalkChunk>>> {
        let walk = self.walk(external_id, path, opts).await?;
        let (tx, rx) = mpsc::channel(2);
        let done = WalkChunk::Done { truncated: walk.truncated && walk.skipped == 0, skipped: walk.skipped };
        tokio::spawn(async move {
            if tx.send(Ok(WalkChunk::Entries(walk.entries))).await.is_ok() {
                let _ = tx.send(Ok(done)).await;
            }
        });
        Ok(rx)
    }

    /// Whether reading many files is much cheaper in one go than one by one (Modal: one
    /// exec instead of one per file); then a sync calls [`Backend::prefetch`] first.
    fn fetches_in_bulk(&self) -> bool {
        false
    }

    /// Fetches `paths` in one go so the `hash_file` and `read_stream` calls of the sync
    /// that follows are served locally, until the returned guard drops.
    async fn prefetch(&self, _external_id: &str, _paths: Vec<WorkspacePath>) -> AppResult<Prefetched> {
        Ok(Prefetched::none())
    }

    /// Extracts a tar archive into the workspace (a restore in one command, for backends
    /// that fetch in bulk).
    async fn extract_archive(&self, _external_id: &str, _archive: crate::storage::Upload) -> AppResult<()> {
        Err(no_files())
    }

    /// The sha256 (hex) and size of a regular file, read once. The default streams the
    /// file and hashes it on a blocking thread.
    async fn hash_file(&self, external_id: &str, path: &WorkspacePath) -> AppResult<(String, u64)> {
        let reader = tokio_util::io::SyncIoBridge::new(self.read_stream(external_id, path).await?);
        crate::work::blocking(move |cancel| files::hash_reader(reader, cancel)).await
    }

    /// Metadata of a workspace path (a final symlink is not followed); None when missing.
    async fn stat(&self, _external_id: &str, _path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
        Err(no_files())
    }

    /// Up to `max_bytes` of a file, never reading more.
    async fn read_file(&self, _external_id: &str, _path: &WorkspacePath, _max_bytes: u64) -> AppResult<FileBytes> {
        Err(no_files())
    }

    /// Replaces a file atomically, creating parent directories.
    async fn write_file(&self, _external_id: &str, _path: &WorkspacePath, _data: Vec<u8>) -> AppResult<FileEntry> {
        Err(no_files())
    }

    /// Writes a file from a stream (restoring large files without buffering them);
    /// replaces atomically like `write_file`.
    async fn write_stream(
        &self,
        external_id: &str,
        path: &WorkspacePath,
        mut body: crate::storage::Upload,
    ) -> AppResult<FileEntry> {
        use tokio::io::AsyncReadExt;
        let mut data = Vec::new();
        body.read_to_end(&mut data).await?;
        self.write_file(external_id, path, data).await
    }

    /// Creates a directory and its parents.
    async fn make_dir(&self, _external_id: &str, _path: &WorkspacePath) -> AppResult<FileEntry> {
        Err(no_files())
    }

    /// Moves a path; an existing destination is CONFLICT.
    async fn move_path(&self, _external_id: &str, _from: &WorkspacePath, _to: &WorkspacePath) -> AppResult<FileEntry> {
        Err(no_files())
    }

    /// Opens a regular file for streaming (hashing, uploading) without reading it whole.
    async fn read_stream(&self, _external_id: &str, _path: &WorkspacePath) -> AppResult<crate::storage::Upload> {
        Err(no_files())
    }

    /// Sets permission bits (restoring a snapshot).
    async fn set_mode(&self, _external_id: &str, _path: &WorkspacePath, _mode: u32) -> AppResult<()> {
        Err(no_files())
    }

    /// Creates a symlink at `path` pointing at `target` (restoring a snapshot). The link
    /// itself is inside the workspace; reads through it stay confined.
    async fn make_symlink(&self, _external_id: &str, _path: &WorkspacePath, _target: &str) -> AppResult<()> {
        Err(no_files())
    }

    /// Deletes a path (a directory only when empty, unless `recursive`).
    async fn delete_path(&self, _external_id: &str, _path: &WorkspacePath, _recursive: bool) -> AppResult<()> {
        Err(no_files())
    }
}
