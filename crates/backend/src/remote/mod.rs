//! Local sandboxes on several hosts. [`RoutedBackend`] stands in front of this host's own
//! local backend: work on a sandbox whose workspace is on this host goes to it, work on
//! one on another host goes over the internal channel to a live instance there (which
//! runs it with its own local backend), and a sandbox whose host has none answers
//! CONFLICT `HOST_UNAVAILABLE`. Database-only work never comes here.
//!
//! Forwarded: create and the lifecycle, commands (Claude's runs, syncs' and restores'
//! reads and writes), every file operation, workspace watches, usage, processes and
//! terminals, and connections to sandbox ports (previews).

pub mod client;
mod files_route;
mod session;
pub mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use self::{
    client::Remote,
    wire::{Call, ExecStart},
};
use crate::{
    Backend, BackendStatus, ExternalId, SandboxSpec,
    capabilities::{Exec, Lifecycle, PortStream, Ports, Processes, Usage, Watch},
    entity::enums::BackendName,
    error::{AppError, AppResult},
    exec::{ExecHandle, ExecRequest},
    process::{ProcessHandle, ProcessRequest},
};

/// Where a sandbox's work is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Here, by this instance's own backend.
    Local,
    /// By the instance at this internal URL.
    Remote(String),
}

/// Which host holds each sandbox (kept in the database, by the service layer, which
/// also places new ones).
#[async_trait]
pub trait HostMap: Send + Sync + 'static {
    /// Where the work on sandbox `id` goes, or CONFLICT `HOST_UNAVAILABLE`.
    async fn route(&self, id: Uuid) -> AppResult<Route>;
}

/// This host's local backend, and the way to the others.
pub struct RoutedBackend {
    local: Arc<dyn Backend>,
    directory: Arc<dyn HostMap>,
    remote: Remote,
}

impl RoutedBackend {
    /// Routes by `directory`, doing this host's work with `local`.
    pub fn new(local: Arc<dyn Backend>, directory: Arc<dyn HostMap>, remote: Remote) -> Self {
        Self { local, directory, remote }
    }

    /// Where the work on the sandbox with backend id `ext` goes.
    pub(super) async fn route(&self, ext: &ExternalId) -> AppResult<Route> {
        match Uuid::parse_str(ext.as_str()) {
            Ok(id) => self.directory.route(id).await,
            Err(_) => Ok(Route::Local),
        }
    }
}

#[async_trait]
impl Lifecycle for RoutedBackend {
    fn name(&self) -> BackendName {
        self.local.name()
    }

    async fn create(&self, spec: &SandboxSpec) -> AppResult<ExternalId> {
        // The row names its host from its insert (or a move): create it there.
        match self.directory.route(spec.sandbox_id).await? {
            Route::Local => self.local.create(spec).await,
            Route::Remote(url) => {
                tracing::info!(sandbox_id = %spec.sandbox_id, "creating a sandbox on another host");
                let call = Call::Create {
                    sandbox_id: spec.sandbox_id,
                    account_id: spec.account_id,
                    template: spec.template.name.clone(),
                };
                Ok(ExternalId::from(self.remote.call::<String>(&url, &call).await?.as_str()))
            }
        }
    }

    async fn terminate(&self, id: &ExternalId) -> AppResult<()> {
        match self.route(id).await? {
            Route::Local => self.local.terminate(id).await,
            Route::Remote(url) => self.remote.call(&url, &Call::Terminate { ext: id.as_str().into() }).await,
        }
    }

    async fn destroy(&self, sandbox_id: Uuid, id: &ExternalId) -> AppResult<()> {
        match self.route(id).await? {
            Route::Local => self.local.destroy(sandbox_id, id).await,
            Route::Remote(url) => self.remote.call(&url, &Call::Destroy { sandbox_id, ext: id.as_str().into() }).await,
        }
    }

    async fn forget(&self, sandbox_id: Uuid) {
        match self.directory.route(sandbox_id).await {
            Ok(Route::Remote(url)) => {
                if let Err(e) = self.remote.call::<()>(&url, &Call::Forget { sandbox_id }).await {
                    tracing::warn!(%sandbox_id, error = ?e.log_detail(), "could not clean up on the sandbox's host");
                }
            }
            _ => self.local.forget(sandbox_id).await,
        }
    }

    async fn status(&self, id: &ExternalId) -> AppResult<BackendStatus> {
        match self.route(id).await? {
            Route::Local => self.local.status(id).await,
            Route::Remote(url) => self.remote.call(&url, &Call::Status { ext: id.as_str().into() }).await,
        }
    }
}

#[async_trait]
impl Exec for RoutedBackend {
    async fn exec(&self, id: &ExternalId, req: ExecRequest) -> AppResult<ExecHandle> {
        let url = match self.route(id).await? {
            Route::Local => return self.local.exec(id, req).await,
            Route::Remote(url) => url,
        };
        let start = ExecStart {
            ext: id.as_str().into(),
            argv: req.argv,
            env: req.env,
            secret_env: req.secret_env.into_iter().map(|(k, v)| (k, v.0)).collect(),
            stdin: req.stdin.is_some(),
            max_line_bytes: req.max_line_bytes,
            nice: req.nice,
            conversation: req.conversation,
        };
        self.remote.exec(&url, start, req.stdin).await
    }

    fn runs_as_root(&self) -> bool {
        self.local.runs_as_root()
    }

    fn idle_commands_end_without_server(&self) -> bool {
        // A forwarded command is killed when its socket to this instance goes.
        self.local.idle_commands_end_without_server()
    }

    fn gateway_env(&self) -> Vec<(String, String)> {
        self.local.gateway_env()
    }

    fn set_sandbox_env(&self, env: Arc<dyn crate::sandbox_env::SandboxEnv>) {
        self.local.set_sandbox_env(env)
    }
}

#[async_trait]
impl Processes for RoutedBackend {
    async fn start_process(&self, id: &ExternalId, req: ProcessRequest) -> AppResult<ProcessHandle> {
        let local = self.local.processes().ok_or_else(|| AppError::bad_input("this backend has no processes"))?;
        match self.route(id).await? {
            Route::Local => local.start_process(id, req).await,
            Route::Remote(url) => {
                let start = wire::ProcessStart {
                    ext: id.as_str().into(),
                    argv: req.argv,
                    env: req.env,
                    cwd: req.cwd,
                    tty: req.tty,
                    nice: req.nice,
                };
                self.remote.start_process(&url, start).await
            }
        }
    }
}

#[async_trait]
impl Ports for RoutedBackend {
    fn exposable(&self, port: u16) -> AppResult<()> {
        self.local.ports().map_or(Ok(()), |p| p.exposable(port))
    }

    async fn dial(&self, id: &ExternalId, port: u16) -> AppResult<PortStream> {
        let local = self.local.ports().ok_or_else(|| AppError::bad_input("this backend has no ports"))?;
        match self.route(id).await? {
            Route::Local => local.dial(id, port).await,
            Route::Remote(url) => self.remote.dial(&url, wire::Dial { ext: id.as_str().into(), port }).await,
        }
    }
}

#[async_trait]
impl Usage for RoutedBackend {
    async fn usage(&self, id: &ExternalId) -> AppResult<crate::ResourceUsage> {
        let local = self.local.usage().ok_or_else(|| AppError::bad_input("this backend cannot measure usage"))?;
        match self.route(id).await? {
            Route::Local => local.usage(id).await,
            Route::Remote(url) => self.remote.call(&url, &Call::Usage { ext: id.as_str().into() }).await,
        }
    }
}

impl Backend for RoutedBackend {
    fn watcher(&self) -> Option<&dyn Watch> {
        self.local.watcher().map(|_| self as &dyn Watch)
    }

    fn processes(&self) -> Option<&dyn Processes> {
        self.local.processes().map(|_| self as &dyn Processes)
    }

    fn ports(&self) -> Option<&dyn Ports> {
        self.local.ports().map(|_| self as &dyn Ports)
    }

    fn bounds_report(&self) -> Option<crate::local::bounds::BoundsReport> {
        self.local.bounds_report()
    }

    fn usage(&self) -> Option<&dyn Usage> {
        self.local.usage().map(|_| self as &dyn Usage)
    }
}
