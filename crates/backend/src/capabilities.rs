//! What a backend can do, one trait per capability. [`Lifecycle`], [`Exec`] and [`Files`]
//! every backend implements whole (no method that fails at run time because a backend
//! forgot it); [`AtRest`], [`Bulk`] and [`Watch`] only backends that can, which they say
//! through [`Backend`](crate::Backend)'s accessors.

use async_trait::async_trait;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{
    BackendStatus, ExternalId, Prefetched, SandboxSpec, WorkspaceWatch,
    entity::enums::BackendName,
    error::AppResult,
    exec::{ExecHandle, ExecRequest},
    files::{self, FileBytes, FileEntry, Walk, WalkChunk, WalkOptions, WorkspacePath},
    storage::Upload,
};

/// Creating, stopping and removing sandboxes.
#[async_trait]
pub trait Lifecycle: Send + Sync + 'static {
    /// Which backend this is, stored on each sandbox row.
    fn name(&self) -> BackendName;

    /// Creates a sandbox and returns the backend's id for it.
    async fn create(&self, spec: &SandboxSpec) -> AppResult<ExternalId>;

    /// Stops a sandbox: no command may start, every running one is killed. Its files stay
    /// readable. Stopping one that is already gone succeeds.
    async fn terminate(&self, id: &ExternalId) -> AppResult<()>;

    /// Removes a stopped sandbox's data for good (its workspace; on Modal its volume),
    /// once a delete has taken the final snapshot.
    async fn destroy(&self, sandbox_id: Uuid, id: &ExternalId) -> AppResult<()>;

    /// Removes whatever a create that never finished may have made for sandbox `id` (its
    /// row never learned the backend's id). Best effort: failures are logged.
    async fn forget(&self, sandbox_id: Uuid);

    /// Current state of a sandbox.
    async fn status(&self, id: &ExternalId) -> AppResult<BackendStatus>;

    /// The ids of this deployment's sandboxes the backend says are running, from one
    /// listing of at most `max` (None: it cannot list, or there are more; then callers ask
    /// sandbox by sandbox). Lets a background pass ask about only those that ended.
    async fn running(&self, _max: usize) -> AppResult<Option<std::collections::HashSet<String>>> {
        Ok(None)
    }
}

/// Commands in a sandbox.
#[async_trait]
pub trait Exec: Send + Sync + 'static {
    /// Starts a command in the sandbox's workspace with a scrubbed environment.
    async fn exec(&self, id: &ExternalId, req: ExecRequest) -> AppResult<ExecHandle>;

    /// Whether commands run as root inside the sandbox (Claude then needs IS_SANDBOX=1
    /// before it accepts `--dangerously-skip-permissions`).
    fn runs_as_root(&self) -> bool;

    /// Whether a command left waiting on a conversation's input (a Claude kept between
    /// runs) ends by itself once the server that started it is gone: a jailed local
    /// command dies with its server, a Modal exec's input ends when the server's
    /// heartbeats stop. Only then may a process wait for a run with no deadline of its own.
    fn idle_commands_end_without_server(&self) -> bool {
        false
    }

    /// Environment that points Claude inside a sandbox at the Anthropic gateway
    /// (`ANTHROPIC_BASE_URL`, and proxy variables where egress goes through a proxy).
    fn gateway_env(&self) -> Vec<(String, String)>;

    /// Hands the backend what every command in a sandbox gets besides its own
    /// environment (the credential broker's address); set once at start-up.
    fn set_sandbox_env(&self, env: std::sync::Arc<dyn crate::sandbox_env::SandboxEnv>);
}

/// Long-lived processes and terminals a user starts in a sandbox (not Claude's runs).
#[async_trait]
pub trait Processes: Send + Sync + 'static {
    /// Starts `req` in the sandbox as its commands run: same jail, bounds and network.
    async fn start_process(
        &self,
        id: &ExternalId,
        req: crate::process::ProcessRequest,
    ) -> AppResult<crate::process::ProcessHandle>;
}

/// The ports a sandbox's own processes listen on, reached from the server (previews)
/// without giving the sandbox any network.
#[async_trait]
pub trait Ports: Send + Sync + 'static {
    /// Whether `port` can be previewed at all, asked before it is exposed: a backend whose
    /// sandboxes open their ports when they are made (Modal) says which (BAD_INPUT
    /// `PORT_NOT_OPENED`). The default takes any.
    fn exposable(&self, _port: u16) -> AppResult<()> {
        Ok(())
    }

    /// A new connection to `port` on the sandbox's loopback, plain or through the
    /// backend's encrypted tunnel; a port nothing listens on is CONFLICT `PORT_CLOSED`.
    async fn dial(&self, id: &ExternalId, port: u16) -> AppResult<PortStream>;
}

/// A connection to a sandbox's port, whatever carries it (a socket, TLS over a tunnel).
pub trait PortIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> PortIo for T {}

/// What [`Ports::dial`] returns.
pub type PortStream = Box<dyn PortIo>;

/// A running sandbox's workspace files.
#[async_trait]
pub trait Files: Send + Sync + 'static {
    /// Entries under a workspace directory in display order, in one pass.
    async fn walk(&self, id: &ExternalId, path: &WorkspacePath, opts: WalkOptions) -> AppResult<Walk>;

    /// Entries under a workspace directory in display order, as a stream of chunks ending
    /// with a [`WalkChunk::Done`], for walks too big to hold (a sync of a whole workspace).
    /// The default walks in one go; backends that can stream do.
    async fn walk_stream(
        &self,
        id: &ExternalId,
        path: &WorkspacePath,
        opts: WalkOptions,
    ) -> AppResult<mpsc::Receiver<AppResult<WalkChunk>>> {
        let walk = self.walk(id, path, opts).await?;
        let (tx, rx) = mpsc::channel(2);
        let done = WalkChunk::Done { truncated: walk.truncated && walk.skipped == 0, skipped: walk.skipped };
        tokio::spawn(async move {
            if tx.send(Ok(WalkChunk::Entries(walk.entries))).await.is_ok() {
                let _ = tx.send(Ok(done)).await;
            }
        });
        Ok(rx)
    }

    /// The sha256 (hex) and size of a regular file, read once. The default streams the
    /// file and hashes it on a blocking thread.
    async fn hash_file(&self, id: &ExternalId, path: &WorkspacePath) -> AppResult<(String, u64)> {
        let reader = tokio_util::io::SyncIoBridge::new(self.read_stream(id, path).await?);
        crate::work::blocking(move |cancel| files::hash_reader(reader, cancel)).await
    }

    /// Metadata of a workspace path (a final symlink is not followed); None when missing.
    async fn stat(&self, id: &ExternalId, path: &WorkspacePath) -> AppResult<Option<FileEntry>>;

    /// Up to `max_bytes` of a file, never reading more.
    async fn read_file(&self, id: &ExternalId, path: &WorkspacePath, max_bytes: u64) -> AppResult<FileBytes>;

    /// Replaces a file atomically, creating parent directories.
    async fn write_file(&self, id: &ExternalId, path: &WorkspacePath, data: Vec<u8>) -> AppResult<FileEntry>;

    /// Writes a file from a stream (restoring large files without buffering them);
    /// replaces atomically like `write_file`.
    async fn write_stream(&self, id: &ExternalId, path: &WorkspacePath, body: Upload) -> AppResult<FileEntry>;

    /// Creates a directory and its parents.
    async fn make_dir(&self, id: &ExternalId, path: &WorkspacePath) -> AppResult<FileEntry>;

    /// Moves a path; an existing destination is CONFLICT.
    async fn move_path(&self, id: &ExternalId, from: &WorkspacePath, to: &WorkspacePath) -> AppResult<FileEntry>;

    /// Opens a regular file for streaming (hashing, uploading) without reading it whole.
    async fn read_stream(&self, id: &ExternalId, path: &WorkspacePath) -> AppResult<Upload>;

    /// Sets permission bits (restoring a snapshot).
    async fn set_mode(&self, id: &ExternalId, path: &WorkspacePath, mode: u32) -> AppResult<()>;

    /// Creates a symlink at `path` pointing at `target` (restoring a snapshot). The link
    /// itself is inside the workspace; reads through it stay confined.
    async fn make_symlink(&self, id: &ExternalId, path: &WorkspacePath, target: &str) -> AppResult<()>;

    /// Deletes a path (a directory only when empty, unless `recursive`).
    async fn delete_path(&self, id: &ExternalId, path: &WorkspacePath, recursive: bool) -> AppResult<()>;
}

/// A sleeping sandbox's files, read where they rest (Modal: its volume) without waking it.
#[async_trait]
pub trait AtRest: Send + Sync {
    /// Walks a sleeping sandbox's files.
    async fn walk_at_rest(&self, sandbox_id: Uuid, path: &WorkspacePath, opts: WalkOptions) -> AppResult<Walk>;

    /// One entry of a sleeping sandbox.
    async fn stat_at_rest(&self, sandbox_id: Uuid, path: &WorkspacePath) -> AppResult<Option<FileEntry>>;

    /// A prefix of a file of a sleeping sandbox.
    async fn read_at_rest(&self, sandbox_id: Uuid, path: &WorkspacePath, max_bytes: u64) -> AppResult<FileBytes>;
}

/// Moving many files in one go, for backends where that is much cheaper than one by one.
#[async_trait]
pub trait Bulk: Send + Sync {
    /// Fetches `paths` in one go so the `hash_file` and `read_stream` calls of the sync
    /// that follows are served locally, until the returned guard drops.
    async fn prefetch(&self, id: &ExternalId, paths: Vec<WorkspacePath>) -> AppResult<Prefetched>;

    /// Extracts a tar archive into the workspace (a restore in one command).
    async fn extract_archive(&self, id: &ExternalId, archive: Upload) -> AppResult<()>;
}

/// Watching a workspace as it changes.
#[async_trait]
pub trait Watch: Send + Sync {
    /// Watches the whole workspace, queueing at most `capacity` changes.
    async fn watch(&self, id: &ExternalId, capacity: usize) -> AppResult<WorkspaceWatch>;
}

/// What a sandbox uses now, against what its template allows: None where the backend
/// cannot tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResourceUsage {
    /// Memory in use (page cache included, as the limit counts it).
    pub memory_bytes: Option<u64>,
    /// Highest memory use since the sandbox started.
    pub memory_peak_bytes: Option<u64>,
    /// CPU time used, in seconds.
    pub cpu_seconds: Option<f64>,
    /// Bytes in use on its disk (workspace and HOME).
    pub disk_bytes: Option<u64>,
    /// Processes and threads now.
    pub processes: Option<u64>,
}

/// Reading what a sandbox uses, where the backend can measure it.
#[async_trait]
pub trait Usage: Send + Sync {
    /// The sandbox's figures now.
    async fn usage(&self, id: &ExternalId) -> AppResult<ResourceUsage>;
}
