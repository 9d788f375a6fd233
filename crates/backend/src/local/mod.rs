//! The `local` backend: a directory per sandbox under the data dir, processes on this host.
//!
//! Layout of `{data_dir}/sandboxes/{id}/`: `workspace/` (the user's files, cwd of every
//! process), `home/` (HOME of every process: Claude's session files live here, one per
//! sandbox), and `state` (`running` or `terminated`).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use uuid::Uuid;

pub mod cpu_group;
pub mod jail;

mod errno;
mod exec;
mod files;
mod processes;
mod remove;
mod walk;
mod watch;
mod workspace;

use self::jail::Jail;
use super::{
    Backend, BackendStatus, Exec, ExternalId, Lifecycle, SandboxSpec, Watch, WorkspaceWatch,
    exec::{ExecHandle, ExecRequest},
};
use crate::{
    entity::enums::BackendName,
    error::{AppError, AppResult},
    work::CpuPool,
};

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
impl Lifecycle for LocalBackend {
    fn name(&self) -> BackendName {
        BackendName::Local
    }

    async fn create(&self, spec: &SandboxSpec) -> AppResult<ExternalId> {
        let external_id = spec.sandbox_id.to_string();
        let dir = self.sandbox_dir(&external_id)?;
        for sub in ["workspace", "home"] {
            tokio::fs::create_dir_all(dir.join(sub)).await.map_err(|e| io_failure("create dir", e))?;
        }
        tokio::fs::write(dir.join("state"), RUNNING).await.map_err(|e| io_failure("write state", e))?;
        Ok(external_id.into())
    }

    /// No command may start (the state says so), and every running one is killed with
    /// its whole process group (jailed ones with their PID namespace).
    async fn terminate(&self, external_id: &ExternalId) -> AppResult<()> {
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
    async fn destroy(&self, _sandbox_id: Uuid, external_id: &ExternalId) -> AppResult<()> {
        self.kill_all(external_id).await;
        self.remove_dir(external_id).await?;
        self.groups.lock().unwrap_or_else(|p| p.into_inner()).remove(external_id.as_str());
        Ok(())
    }

    async fn forget(&self, sandbox_id: Uuid) {
        let ext = sandbox_id.to_string();
        self.kill_all(&ext).await;
        if let Err(e) = self.remove_dir(&ext).await {
            tracing::warn!(%sandbox_id, error = ?e.log_detail(), "could not remove an abandoned sandbox directory");
        }
    }

    async fn status(&self, external_id: &ExternalId) -> AppResult<BackendStatus> {
        let state = self.sandbox_dir(external_id)?.join("state");
        match tokio::fs::read_to_string(&state).await {
            Ok(s) if s.trim() == RUNNING => Ok(BackendStatus::Running),
            Ok(_) => Ok(BackendStatus::Terminated),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BackendStatus::Missing),
            Err(e) => Err(io_failure("read state", e)),
        }
    }
}

#[async_trait]
impl Exec for LocalBackend {
    async fn exec(&self, external_id: &ExternalId, req: ExecRequest) -> AppResult<ExecHandle> {
        let dir = self.sandbox_dir(external_id)?;
        if self.status(external_id).await? != BackendStatus::Running {
            return Err(AppError::conflict_because(crate::error::reasons::NOT_RUNNING, "the sandbox is not running"));
        }
        let procs = self.groups_of(external_id);
        let mut guard = procs.lock().unwrap_or_else(|p| p.into_inner());
        if guard.terminated {
            return Err(AppError::conflict_because(crate::error::reasons::NOT_RUNNING, "the sandbox is not running"));
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
}

#[async_trait]
impl Watch for LocalBackend {
    async fn watch(&self, external_id: &ExternalId, capacity: usize) -> AppResult<WorkspaceWatch> {
        watch::start(self.workspace(external_id)?, capacity).await
    }
}

/// Local sandboxes can be watched (inotify); they never sleep and have no bulk path.
impl Backend for LocalBackend {
    fn watcher(&self) -> Option<&dyn Watch> {
        Some(self)
    }
}
