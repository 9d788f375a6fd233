//! Sandboxes in Modal over its gRPC API (the seeds' provider). Modal has no REST API, so
//! this speaks the same protobuf services as Modal's own SDKs (`proto/modal_api.proto`
//! and `proto/task_command_router.proto`, field numbers from the public
//! `modal_proto/*.proto`). Files and runs go through each task's command router: one
//! command per operation, never one per file, with every path its own argv element.

mod auth_token;
mod capabilities;
mod client;
mod exec;
mod files;
mod home_move;
mod ids;
mod network;
mod processes;
mod provision;
mod records;
mod router;
mod runs;
mod sandboxes;
mod spool;
mod stdin;
mod tunnels;
mod versioned;
mod volume_files;
mod volumes;

/// Code generated at build time from `proto/` (the subset of Modal's API sandboxql uses),
/// one module per protobuf package so the router's messages can use the control plane's
/// (`SecretSource`). The server halves exist so contract tests can stand up a fake Modal
/// that speaks exactly the same messages.
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used)]
pub mod pb {
    /// `modal.client`: the control plane.
    pub mod client {
        tonic::include_proto!("modal.client");
    }
    /// `modal.task_command_router`: exec in a task, the way the official clients do it.
    pub mod task_command_router {
        tonic::include_proto!("modal.task_command_router");
    }
}

pub use pb::{client as proto, task_command_router as router_proto};

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;

use self::{
    client::ModalClient, exec::Stdin, proto::generic_result::GenericStatus, provision::Provisioner, router::Router,
};
use super::{
    AtRest, Backend, BackendStatus, Bulk, Exec, ExternalId, Lifecycle, SandboxSpec,
    exec::{ExecHandle, ExecRequest},
};
use crate::{
    config::{Limits, ModalConfig},
    entity::enums::BackendName,
    error::{AppError, AppResult},
};

/// Where the workspace volume is mounted and commands start.
pub const WORKDIR: &str = "/mnt/workspace";
/// Claude's HOME: on the sandbox's home volume, so `--resume` finds its conversation in
/// whichever Modal sandbox mounts the volume next.
pub const HOME_DIR: &str = "/mnt/home";
/// Tag holding sandboxql's sandbox id (found again by `SandboxList` to clean up orphans).
pub const TAG_SANDBOX: &str = "sandboxql-sandbox-id";
/// Tag holding the owning account id.
pub const TAG_ACCOUNT: &str = "sandboxql-account-id";

/// The Modal backend: a client, cached Modal objects and each sandbox's task id.
pub struct ModalBackend {
    client: ModalClient,
    provision: Provisioner,
    tasks: Mutex<HashMap<String, String>>,
    routers: tokio::sync::Mutex<HashMap<String, Arc<Router>>>,
    max_answer_bytes: usize,
    gateway_url: Option<String>,
    /// Hosts sandboxes may reach besides the gateway (`--sandbox-egress`).
    egress: Vec<String>,
    environment: String,
    /// Fetches volume blocks (signed links) for sleeping sandboxes' files.
    http: reqwest::Client,
    /// Files spooled for running syncs.
    spools: spool::Spools,
    /// The ports sandboxes open for previews, and where their tunnels end.
    tunnels: tunnels::Tunnels,
    /// What every command gets besides its own environment (the broker's address).
    extra_env: crate::sandbox_env::EnvSlot,
}

impl ModalBackend {
    /// Prepares a lazily connected client; fails only on missing or malformed settings.
    pub fn new(cfg: &ModalConfig, limits: &Limits) -> anyhow::Result<Self> {
        let client = ModalClient::connect(cfg, limits)?;
        let hello = client.clone();
        tokio::spawn(async move { hello.hello().await });
        Ok(Self {
            provision: Provisioner::new(client.clone(), cfg),
            client,
            tasks: Mutex::new(HashMap::new()),
            routers: tokio::sync::Mutex::new(HashMap::new()),
            max_answer_bytes: limits.max_backend_answer_bytes as usize,
            gateway_url: None,
            egress: Vec::new(),
            environment: cfg.modal_environment.clone(),
            http: reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
                .timeout(std::time::Duration::from_secs(120))
                .build()?,
            spools: Default::default(),
            tunnels: tunnels::Tunnels::new(cfg)?,
            extra_env: Default::default(),
        })
    }

    /// This backend with Claude pointed at the gateway's public URL.
    pub fn with_gateway_url(mut self, url: String) -> Self {
        self.gateway_url = Some(url);
        self
    }

    /// This backend letting sandboxes reach `hosts` (`--sandbox-egress`) besides the
    /// gateway; nothing else.
    pub fn with_egress(mut self, hosts: Vec<String>) -> Self {
        self.egress = hosts;
        self
    }
}

#[async_trait]
impl Lifecycle for ModalBackend {
    fn name(&self) -> BackendName {
        BackendName::Modal
    }

    async fn create(&self, spec: &SandboxSpec) -> AppResult<ExternalId> {
        self.create_sandbox(spec).await.map(ExternalId::from)
    }

    async fn destroy(&self, sandbox_id: uuid::Uuid, _external_id: &ExternalId) -> AppResult<()> {
        self.provision.delete_volumes(sandbox_id).await
    }

    async fn forget(&self, sandbox_id: uuid::Uuid) {
        if let Ok(app_id) = self.provision.app_id().await {
            self.remove_orphans(sandbox_id, &app_id).await;
        }
        if let Err(e) = self.provision.delete_volumes(sandbox_id).await {
            tracing::error!(%sandbox_id, error = ?e.log_detail(), "could not delete the volume of an unfinished create");
        }
    }

    async fn terminate(&self, external_id: &ExternalId) -> AppResult<()> {
        self.tunnels.forget(external_id.as_str());
        let task = self.tasks().remove(external_id.as_str());
        if let Some(task) = task {
            self.routers.lock().await.remove(&task);
        }
        match self.terminate_call(external_id.as_str()).await {
            Ok(_) | Err(AppError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn running(&self, max: usize) -> AppResult<Option<std::collections::HashSet<String>>> {
        self.running_ids(max).await
    }

    async fn status(&self, external_id: &ExternalId) -> AppResult<BackendStatus> {
        match self.wait_call(external_id.as_str(), 0.0).await {
            Ok(resp) => match resp.result {
                Some(r) if r.status != GenericStatus::Unspecified as i32 => Ok(BackendStatus::Terminated),
                _ => Ok(BackendStatus::Running),
            },
            Err(AppError::NotFound(_)) => Ok(BackendStatus::Missing),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Exec for ModalBackend {
    async fn exec(&self, external_id: &ExternalId, mut req: ExecRequest) -> AppResult<ExecHandle> {
        req.env.splice(0..0, self.extra_env.vars(external_id, &self.gateway_env()));
        runs::exec(self, external_id, req).await
    }

    fn runs_as_root(&self) -> bool {
        true
    }

    fn idle_commands_end_without_server(&self) -> bool {
        // A conversation's input ends once the server's heartbeats stop (`runs.rs`).
        true
    }

    fn gateway_env(&self) -> Vec<(String, String)> {
        self.gateway_url.iter().map(|u| ("ANTHROPIC_BASE_URL".to_string(), u.clone())).collect()
    }

    fn set_sandbox_env(&self, env: Arc<dyn crate::sandbox_env::SandboxEnv>) {
        self.extra_env.set(env);
    }
}

/// Modal sandboxes sleep (their files stay on the volume), move files in bulk, run
/// users' processes and terminals and serve previews through Modal's tunnels; they
/// cannot be watched (callers poll).
impl Backend for ModalBackend {
    fn at_rest(&self) -> Option<&dyn AtRest> {
        Some(self)
    }

    fn processes(&self) -> Option<&dyn crate::Processes> {
        Some(self)
    }

    fn bulk(&self) -> Option<&dyn Bulk> {
        Some(self)
    }

    fn ports(&self) -> Option<&dyn crate::Ports> {
        Some(self)
    }
}
