//! The `local` backend: a directory per sandbox under the data dir, processes on this host.
//!
//! Layout of `{data_dir}/sandboxes/{id}/` (0711, the server's): `state` (`running` or
//! `terminated`), `uid` (the sandbox's own uid, when jailed by a root server),
//! `resources` (its template's bounds, to make its cgroup again after a reboot), `passwd`
//! and `group` (its identity in the jail), `disk.img` (its disk, when bounded) and
//! `disk/`, where that disk is mounted, holding `workspace/` (the user's files, cwd of
//! every process) and `home/` (HOME of every process: Claude's session files), both 0700
//! and owned by the sandbox's uid.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use uuid::Uuid;

pub mod bounds;
pub mod cpu_group;
pub mod forward;
pub mod jail;
pub mod sandbox_net;

mod errno;
mod exec;
mod files;
mod jail_files;
mod jail_net;
mod layout;
mod netns;
mod ports;
mod processes;
mod remove;
mod tree;
mod usage;
mod user_process;
mod walk;
mod watch;
mod workspace;

use self::{bounds::Bounds, jail::Jail};
use super::{
    Backend, BackendStatus, Exec, ExternalId, Lifecycle, Ports, Processes, SandboxSpec, Usage, Watch, WorkspaceWatch,
    exec::{ExecHandle, ExecRequest},
    process::{ProcessHandle, ProcessRequest},
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
    /// What holds each sandbox to its template (none: they share the host).
    bounds: Bounds,
    /// The uid range of jailed sandboxes (None: they run as the server's uid).
    uids: Option<bounds::uids::Uids>,
    /// Disk sizes of the configured templates, kept formatted ahead in the pool.
    disk_sizes: std::sync::Arc<Vec<u64>>,
    /// Set while a pool refill runs (one at a time).
    refilling: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The gateway's URL as seen from this host (used when commands are not jailed).
    gateway_url: Option<String>,
    /// The process groups of each sandbox's running commands.
    groups: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, exec::Groups>>>,
    /// Each sandbox's shared network namespace, when commands share one (see `netns`).
    nets: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<sandbox_net::SandboxNet>>>>,
    /// What every command gets besides its own environment (the broker's address).
    extra_env: crate::sandbox_env::EnvSlot,
}

const RUNNING: &str = "running";
const TERMINATED: &str = "terminated";

impl LocalBackend {
    /// A backend keeping sandboxes under `{data_dir}/sandboxes`, running commands in
    /// `jail`, walking big trees on `pool`, and giving up a recursive delete after
    /// `max_delete_steps` removals. Unbounded until [`Self::with_bounds`].
    pub fn new(data_dir: &Path, jail: Jail, pool: CpuPool, max_delete_steps: u64) -> Self {
        // Absolute, because HOME and cwd of sandbox processes are derived from it.
        let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let root = data_dir.join("sandboxes");
        Self {
            root,
            jail,
            pool,
            max_delete_steps,
            bounds: Bounds::off(),
            uids: None,
            disk_sizes: Default::default(),
            refilling: Default::default(),
            gateway_url: None,
            groups: Default::default(),
            nets: Default::default(),
            extra_env: Default::default(),
        }
    }

    /// This backend holding sandboxes to `bounds`, keeping disks of `disk_sizes` formatted
    /// ahead, and giving jailed sandboxes uids from `uids`.
    pub fn with_bounds(mut self, bounds: Bounds, disk_sizes: Vec<u64>, uids: Option<bounds::uids::Uids>) -> Self {
        self.bounds = bounds;
        self.disk_sizes = std::sync::Arc::new(disk_sizes);
        self.uids = uids.filter(|_| self.jail.gives_uids());
        self
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
        Ok(self.sandbox_dir(external_id)?.join(layout::DISK).join("workspace"))
    }

    /// The HOME directory of a sandbox.
    pub fn home(&self, external_id: &str) -> AppResult<PathBuf> {
        Ok(self.sandbox_dir(external_id)?.join(layout::DISK).join("home"))
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
        self.make(&external_id, spec.template.resources).await?;
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
        self.unbound(external_id).await?;
        self.remove_dir(external_id).await?;
        self.groups.lock().unwrap_or_else(|p| p.into_inner()).remove(external_id.as_str());
        Ok(())
    }

    async fn forget(&self, sandbox_id: Uuid) {
        let ext = sandbox_id.to_string();
        self.kill_all(&ext).await;
        if let Err(e) = self.unbound(&ext).await {
            tracing::warn!(%sandbox_id, error = ?e.log_detail(), "could not remove an abandoned sandbox's bounds");
        }
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
    async fn exec(&self, external_id: &ExternalId, mut req: ExecRequest) -> AppResult<ExecHandle> {
        let dir = self.sandbox_dir(external_id)?;
        req.env.splice(0..0, self.extra_env.vars(external_id, &self.gateway_env()));
        if self.status(external_id).await? != BackendStatus::Running {
            return Err(AppError::conflict_because(crate::error::reasons::NOT_RUNNING, "the sandbox is not running"));
        }
        let place = self.ready(external_id).await?;
        let procs = self.groups_of(external_id);
        let mut guard = procs.lock().unwrap_or_else(|p| p.into_inner());
        if guard.terminated {
            return Err(AppError::conflict_because(crate::error::reasons::NOT_RUNNING, "the sandbox is not running"));
        }
        let ws = (self.workspace(external_id)?, self.home(external_id)?);
        let (handle, group) = exec::spawn(&self.jail, &dir, &ws.0, &ws.1, &place, req, procs.clone())?;
        guard.groups.extend(group);
        Ok(handle)
    }

    fn runs_as_root(&self) -> bool {
        self.jail.runs_as_root()
    }

    fn idle_commands_end_without_server(&self) -> bool {
        self.jail.dies_with_server()
    }

    fn gateway_env(&self) -> Vec<(String, String)> {
        match &self.gateway_url {
            Some(url) => self.jail.network_env(url),
            None => Vec::new(),
        }
    }

    fn set_sandbox_env(&self, env: std::sync::Arc<dyn crate::sandbox_env::SandboxEnv>) {
        self.extra_env.set(env);
    }
}

#[async_trait]
impl Processes for LocalBackend {
    async fn start_process(&self, external_id: &ExternalId, mut req: ProcessRequest) -> AppResult<ProcessHandle> {
        let dir = self.sandbox_dir(external_id)?;
        req.env.splice(0..0, self.extra_env.vars(external_id, &self.gateway_env()));
        let place = self.ready(external_id).await?;
        let procs = self.groups_of(external_id);
        let mut guard = procs.lock().unwrap_or_else(|p| p.into_inner());
        if guard.terminated {
            return Err(AppError::conflict_because(crate::error::reasons::NOT_RUNNING, "the sandbox is not running"));
        }
        let (ws, home) = (self.workspace(external_id)?, self.home(external_id)?);
        let dirs = user_process::Dirs { sandbox: &dir, workspace: &ws, home: &home };
        let (mut handle, pid) = user_process::start(&self.jail, dirs, &place, req)?;
        // The sandbox's stop kills it with everything else; its exit forgets it.
        guard.groups.insert(pid);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let exit = std::mem::replace(&mut handle.exit, rx);
        let groups = procs.clone();
        tokio::spawn(async move {
            let ended = exit.await;
            groups.lock().unwrap_or_else(|p| p.into_inner()).groups.remove(&pid);
            if let Ok(e) = ended {
                let _ = tx.send(e);
            }
        });
        Ok(handle)
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

    fn processes(&self) -> Option<&dyn Processes> {
        Some(self)
    }

    fn ports(&self) -> Option<&dyn Ports> {
        Some(self)
    }

    fn usage(&self) -> Option<&dyn Usage> {
        Some(self)
    }

    fn bounds_report(&self) -> Option<bounds::BoundsReport> {
        Some(self.bounds.report())
    }
}
