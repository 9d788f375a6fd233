//! The `local` backend: a directory per sandbox under the data dir, processes on this host.
//!
//! Layout of `{data_dir}/sandboxes/{id}/`: `workspace/` (the user's files, cwd of every
//! process), `home/` (HOME of every process: Claude's session files live here, one per
//! sandbox), and `state` (`running` or `terminated`).

use std::{
    path::{Path, PathBuf},
    sync::atomic::AtomicBool,
};

use async_trait::async_trait;
use uuid::Uuid;

pub mod cpu_group;
pub mod jail;

mod exec;
mod files;
mod processes;
mod remove;
mod walk;
mod watch;

use self::{files::Confined, jail::Jail};
use super::{
    Backend, BackendStatus, SandboxSpec, WorkspaceWatch,
    exec::{ExecHandle, ExecRequest},
    files::{FileBytes, FileEntry, Walk, WalkChunk, WalkOptions, WorkspacePath, hash_reader},
};
use crate::{
    entity::enums::BackendName,
    error::{AppError, AppResult},
    work::{self, CpuPool},
};
use tokio::sync::mpsc;

/// Sandboxes as directories on the server host.
#[derive(Clone)]
pub struct LocalBackend {
    root: PathBuf,
    jail: Jail,
    pool: CpuPool,
    max_delete_steps: u64,
    /// The gateway's URL as seen from this host (used when commands are not jailed).
    gateway_url: Option<String>,
    /// The process groups of each sandbox's running commands.
    groups: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, exec::Groups>>>,
}

const RUNNING: &str = "running";
const TERMINATED: &str = "terminated";

impl LocalBackend {
    /// A backend keeping sandboxes under `{data_dir}/sandboxes`, running commands in
    /// `jail`, walking big trees on `pool`, and giving up a recursive delete after
    /// `max_delete_steps` removals.
    pub fn new(data_dir: &Path, jail: Jail, pool: CpuPool, max_delete_steps: u64) -> Self {
        // Absolute, because HOME and cwd of sandbox processes are derived from it.
        let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let root = data_dir.join("sandboxes");
        Self { root, jail, pool, max_delete_steps, gateway_url: None, groups: Default::default() }
    }

    /// This backend with Claude pointed at the gateway at `url` (from this host).
    pub fn with_gateway_url(mut self, url: String) -> Self {
        self.gateway_url = Some(url);
        self
    }

    /// The directory of a sandbox; the id must be a UUID so it can never name another path.
    pub fn sandbox_dir(&self, external_id: &str) -> AppResult<PathBuf> {
        let id = Uuid::parse_str(external_id)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("local sandbox id {external_id:?} is not a uuid")))?;
        Ok(self.root.join(id.simple().to_string()))
    }

    /// The workspace root of a sandbox.
    pub fn workspace(&self, external_id: &str) -> AppResult<PathBuf> {
        Ok(self.sandbox_dir(external_id)?.join("workspace"))
    }

    /// The HOME directory of a sandbox.
    pub fn home(&self, external_id: &str) -> AppResult<PathBuf> {
        Ok(self.sandbox_dir(external_id)?.join("home"))
    }
}

fn io_failure(what: &str, e: std::io::Error) -> AppError {
    AppError::provider("the local sandbox backend failed", format!("{what}: {e}"))
}

#[async_trait]
impl Backend for LocalBackend {
    fn name(&self) -> BackendName {
        BackendName::Local
    }

    async fn create(&self, spec: &SandboxSpec) -> AppResult<String> {
        let external_id = spec.sandbox_id.to_string();
        let dir = self.sandbox_dir(&external_id)?;
        for sub in ["workspace", "home"] {
            tokio::fs::create_dir_all(dir.join(sub)).await.map_err(|e| io_failure("create dir", e))?;
        }
        tokio::fs::write(dir.join("state"), RUNNING).await.map_err(|e| io_failure("write state", e))?;
        Ok(external_id)
    }

    /// No command may start (the state says so), and every running one is killed with
    /// its whole process group (jailed ones with their PID namespace).
    async fn terminate(&self, external_id: &str) -> AppResult<()> {
        let dir = self.sandbox_dir(external_id)?;
        match tokio::fs::write(dir.join("state"), TERMINATED).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_failure("write state", e)),
        }
        self.kill_all(external_id).await;
        Ok(())
    }

    /// Removes the sandbox's directory (workspace and HOME), however deep it is.
    async fn destroy(&self, _sandbox_id: Uuid, external_id: &str) -> AppResult<()> {
        self.kill_all(external_id).await;
        self.remove_dir(external_id).await?;
        self.groups.lock().unwrap_or_else(|p| p.into_inner()).remove(external_id);
        Ok(())
    }

    async fn forget(&self, sandbox_id: Uuid) {
        let ext = sandbox_id.to_string();
        self.kill_all(&ext).await;
        if let Err(e) = self.remove_dir(&ext).await {
            tracing::warn!(%sandbox_id, error = ?e.log_detail(), "could not remove an abandoned sandbox directory");
        }
    }

    async fn status(&self, external_id: &str) -> AppResult<BackendStatus> {
        let state = self.sandbox_dir(external_id)?.join("state");
        match tokio::fs::read_to_string(&state).await {
            Ok(s) if s.trim() == RUNNING => Ok(BackendStatus::Running),
            Ok(_) => Ok(BackendStatus::Terminated),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BackendStatus::Missing),
            Err(e) => Err(io_failure("read state", e)),
        }
    }

    async fn exec(&self, external_id: &str, req: ExecRequest) -> AppResult<ExecHandle> {
        let dir = self.sandbox_dir(external_id)?;
        if self.status(external_id).await? != BackendStatus::Running {
            return Err(AppError::conflict("the sandbox is not running"));
        }
        let procs = self.groups_of(external_id);
        let mut guard = procs.lock().unwrap_or_else(|p| p.into_inner());
        if guard.terminated {
            return Err(AppError::conflict("the sandbox is not running"));
        }
        let (handle, group) =
            exec::spawn(&self.jail, &dir, &dir.join("workspace"), &dir.join("home"), req, procs.clone())?;
        guard.groups.extend(group);
        Ok(handle)
    }

    fn runs_as_root(&self) -> bool {
        self.jail.runs_as_root()
    }

    fn gateway_env(&self) -> Vec<(String, String)> {
        match &self.gateway_url {
            Some(url) => self.jail.network_env(url),
            None => Vec::new(),
        }
    }

    async fn watch(&self, external_id: &str, capacity: usize) -> AppResult<Option<WorkspaceWatch>> {
        watch::start(self.workspace(external_id)?, capacity).await.map(Some)
    }

    async fn walk(&self, external_id: &str, path: &WorkspacePath, opts: WalkOptions) -> AppResult<Walk> {
        let path = path.clone();
        let workspace = self.workspace(external_id)?;
        let threads = self.pool.job_threads();
        let job = move |cancel: &AtomicBool| Confined::open(&workspace)?.walk(&path, opts, threads, cancel);
        // A listing of one directory is light; deeper walks are CPU work for the pool.
        if opts.max_depth <= 1 { work::blocking(job).await } else { self.pool.run(job).await }
    }

    async fn walk_stream(
        &self,
        external_id: &str,
        path: &WorkspacePath,
        opts: WalkOptions,
    ) -> AppResult<mpsc::Receiver<AppResult<WalkChunk>>> {
        let (path, workspace) = (path.clone(), self.workspace(external_id)?);
        let (tx, rx) = mpsc::channel(4);
        // A plain blocking thread, not the CPU pool: it mostly waits for its consumer,
        // whose hashing needs the pool.
        tokio::task::spawn_blocking(move || {
            let cancel = AtomicBool::new(false);
            let walked = Confined::open(&workspace).and_then(|c| {
                c.walk_chunks(&path, opts, &cancel, 512, |entries| {
                    tx.blocking_send(Ok(WalkChunk::Entries(entries))).is_ok()
                })
            });
            let last = walked.map(|(truncated, skipped)| WalkChunk::Done { truncated, skipped });
            let _ = tx.blocking_send(last);
        });
        Ok(rx)
    }

    async fn hash_file(&self, external_id: &str, path: &WorkspacePath) -> AppResult<(String, u64)> {
        let (path, workspace) = (path.clone(), self.workspace(external_id)?);
        self.pool
            .run(move |cancel| {
                let file = Confined::open(&workspace)?.open_regular(&path)?;
                hash_reader(std::io::BufReader::with_capacity(256 * 1024, file), cancel)
            })
            .await
    }

    async fn stat(&self, external_id: &str, path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
        let path = path.clone();
        self.confined(external_id, move |c| c.stat(&path)).await
    }

    async fn read_file(&self, external_id: &str, path: &WorkspacePath, max_bytes: u64) -> AppResult<FileBytes> {
        let path = path.clone();
        self.confined(external_id, move |c| c.read(&path, max_bytes)).await
    }

    async fn write_file(&self, external_id: &str, path: &WorkspacePath, data: Vec<u8>) -> AppResult<FileEntry> {
        let path = path.clone();
        self.confined(external_id, move |c| c.write(&path, &data)).await
    }

    async fn write_stream(
        &self,
        external_id: &str,
        path: &WorkspacePath,
        mut body: crate::storage::Upload,
    ) -> AppResult<FileEntry> {
        let p = path.clone();
        let (dir, tmp, file) = self.confined(external_id, move |c| c.create_temp(&p)).await?;
        let mut out = tokio::fs::File::from_std(file);
        let copied = async {
            tokio::io::copy(&mut body, &mut out).await?;
            tokio::io::AsyncWriteExt::flush(&mut out).await
        }
        .await;
        drop(out);
        let p = path.clone();
        self.confined(external_id, move |c| c.commit_temp(&dir, &tmp, &p, copied.map_err(AppError::from))).await
    }

    async fn make_dir(&self, external_id: &str, path: &WorkspacePath) -> AppResult<FileEntry> {
        let path = path.clone();
        self.confined(external_id, move |c| c.make_dir(&path)).await
    }

    async fn move_path(&self, external_id: &str, from: &WorkspacePath, to: &WorkspacePath) -> AppResult<FileEntry> {
        let (from, to) = (from.clone(), to.clone());
        self.confined(external_id, move |c| c.rename(&from, &to)).await
    }

    async fn read_stream(&self, external_id: &str, path: &WorkspacePath) -> AppResult<crate::storage::Upload> {
        let path = path.clone();
        let file = self.confined(external_id, move |c| c.open_regular(&path)).await?;
        Ok(Box::pin(tokio::fs::File::from_std(file)))
    }

    async fn set_mode(&self, external_id: &str, path: &WorkspacePath, mode: u32) -> AppResult<()> {
        let path = path.clone();
        self.confined(external_id, move |c| c.set_mode(&path, mode)).await
    }

    async fn make_symlink(&self, external_id: &str, path: &WorkspacePath, target: &str) -> AppResult<()> {
        let (path, target) = (path.clone(), target.to_string());
        self.confined(external_id, move |c| c.symlink(&path, &target)).await
    }

    async fn delete_path(&self, external_id: &str, path: &WorkspacePath, recursive: bool) -> AppResult<()> {
        let path = path.clone();
        let steps = self.max_delete_steps;
        self.confined(external_id, move |c| c.delete(&path, recursive, steps)).await
    }
}

impl LocalBackend {
    /// Runs a blocking file operation on the sandbox's workspace off the async threads.
    async fn confined<T, F>(&self, external_id: &str, op: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Confined) -> AppResult<T> + Send + 'static,
    {
        let workspace = self.workspace(external_id)?;
        work::blocking(move |_| op(&Confined::open(&workspace)?)).await
    }
}
