//! Sandboxes in Modal over its gRPC API (the seeds' provider). Modal has no REST API, so
//! this speaks the same protobuf services as Modal's own SDKs (`proto/modal_api.proto`
//! and `proto/task_command_router.proto`, field numbers from the public
//! `modal_proto/*.proto`). Files and runs go through each task's command router: one
//! command per operation, never one per file, with every path its own argv element.

mod auth_token;
mod client;
mod exec;
mod files;
mod provision;
mod records;
mod router;
mod runs;
mod sandboxes;
mod spool;
mod volume_files;

/// Code generated at build time from `proto/modal_api.proto` (the subset of Modal's public
/// API sandboxql uses). The server half exists so contract tests can stand up a fake Modal
/// that speaks exactly the same messages.
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used)]
pub mod proto {
    tonic::include_proto!("modal.client");
}

/// Code generated from `proto/task_command_router.proto`: exec in a task, the way libmodal
/// does it (client and, for the contract tests' fake, server).
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used, clippy::expect_used)]
pub mod router_proto {
    tonic::include_proto!("modal.task_command_router");
}

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;

use self::{
    client::{ModalClient, rpc},
    exec::Stdin,
    proto::{SandboxTerminateRequest, SandboxWaitRequest, generic_result::GenericStatus},
    provision::Provisioner,
    router::Router,
};
use super::{
    Backend, BackendStatus, SandboxSpec,
    exec::{ExecHandle, ExecRequest},
    files::{FileBytes, FileEntry, Walk, WalkOptions, WorkspacePath},
};
use crate::{
    config::{Limits, ModalConfig},
    entity::enums::BackendName,
    error::{AppError, AppResult},
    storage::Upload,
};

/// Where the workspace volume is mounted and commands start.
pub const WORKDIR: &str = "/mnt/workspace";
/// Claude's HOME: on the sandbox's volume too, so `--resume` finds its conversation in
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
    environment: String,
    /// Fetches volume blocks (signed links) for sleeping sandboxes' files.
    http: reqwest::Client,
    /// Files spooled for running syncs.
    spools: spool::Spools,
}

impl ModalBackend {
    /// Prepares a lazily connected client; fails only on missing or malformed settings.
    pub fn new(cfg: &ModalConfig, limits: &Limits) -> anyhow::Result<Self> {
        let client = ModalClient::connect(cfg)?;
        let hello = client.clone();
        tokio::spawn(async move { hello.hello().await });
        Ok(Self {
            provision: Provisioner::new(client.clone(), cfg),
            client,
            tasks: Mutex::new(HashMap::new()),
            routers: tokio::sync::Mutex::new(HashMap::new()),
            max_answer_bytes: limits.max_backend_answer_bytes as usize,
            gateway_url: None,
            environment: cfg.modal_environment.clone(),
            http: reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
                .timeout(std::time::Duration::from_secs(120))
                .build()?,
            spools: Default::default(),
        })
    }

    /// This backend with Claude pointed at the gateway's public URL.
    pub fn with_gateway_url(mut self, url: String) -> Self {
        self.gateway_url = Some(url);
        self
    }
}

#[async_trait]
impl Backend for ModalBackend {
    fn name(&self) -> BackendName {
        BackendName::Modal
    }

    async fn create(&self, spec: &SandboxSpec) -> AppResult<String> {
        self.create_sandbox(spec).await
    }

    async fn destroy(&self, sandbox_id: uuid::Uuid, _external_id: &str) -> AppResult<()> {
        self.provision.delete_volume(sandbox_id).await
    }

    async fn forget(&self, sandbox_id: uuid::Uuid) {
        if let Ok(app_id) = self.provision.app_id().await {
            self.remove_orphans(sandbox_id, &app_id).await;
        }
        if let Err(e) = self.provision.delete_volume(sandbox_id).await {
            tracing::error!(%sandbox_id, error = ?e.log_detail(), "could not delete the volume of an unfinished create");
        }
    }

    async fn terminate(&self, external_id: &str) -> AppResult<()> {
        let req = SandboxTerminateRequest { sandbox_id: external_id.to_string() };
        let task = self.tasks().remove(external_id);
        if let Some(task) = task {
            self.routers.lock().await.remove(&task);
        }
        match rpc!(self.client, "SandboxTerminate", sandbox_terminate, req.clone()).await {
            Ok(_) | Err(AppError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn status(&self, external_id: &str) -> AppResult<BackendStatus> {
        let req = SandboxWaitRequest { sandbox_id: external_id.to_string(), timeout: 0.0 };
        match rpc!(self.client, "SandboxWait", sandbox_wait, req.clone()).await {
            Ok(resp) => match resp.result {
                Some(r) if r.status != GenericStatus::Unspecified as i32 => Ok(BackendStatus::Terminated),
                _ => Ok(BackendStatus::Running),
            },
            Err(AppError::NotFound(_)) => Ok(BackendStatus::Missing),
            Err(e) => Err(e),
        }
    }

    async fn exec(&self, external_id: &str, req: ExecRequest) -> AppResult<ExecHandle> {
        runs::exec(self, external_id, req).await
    }

    fn sleeps(&self) -> bool {
        true
    }

    fn fetches_in_bulk(&self) -> bool {
        true
    }

    async fn prefetch(&self, external_id: &str, paths: Vec<WorkspacePath>) -> AppResult<super::Prefetched> {
        spool::prefetch(self, external_id, paths).await
    }

    async fn extract_archive(&self, external_id: &str, archive: Upload) -> AppResult<()> {
        files::extract(self, external_id, archive).await
    }

    async fn hash_file(&self, external_id: &str, path: &WorkspacePath) -> AppResult<(String, u64)> {
        if let Some((_, sha, size)) = spool::spooled(self, external_id, path) {
            return Ok((sha, size));
        }
        let reader = tokio_util::io::SyncIoBridge::new(self.read_stream(external_id, path).await?);
        crate::work::blocking(move |cancel| super::files::hash_reader(reader, cancel)).await
    }

    async fn walk_at_rest(&self, sandbox_id: uuid::Uuid, path: &WorkspacePath, opts: WalkOptions) -> AppResult<Walk> {
        volume_files::walk(self, sandbox_id, path, opts).await
    }

    async fn stat_at_rest(&self, sandbox_id: uuid::Uuid, path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
        volume_files::stat(self, sandbox_id, path).await
    }

    async fn read_at_rest(&self, sandbox_id: uuid::Uuid, path: &WorkspacePath, max: u64) -> AppResult<FileBytes> {
        volume_files::read(self, sandbox_id, path, max).await
    }

    fn runs_as_root(&self) -> bool {
        true
    }

    fn gateway_env(&self) -> Vec<(String, String)> {
        self.gateway_url.iter().map(|u| ("ANTHROPIC_BASE_URL".to_string(), u.clone())).collect()
    }

    async fn walk(&self, external_id: &str, path: &WorkspacePath, opts: WalkOptions) -> AppResult<Walk> {
        files::walk(self, external_id, path, opts).await
    }

    async fn stat(&self, external_id: &str, path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
        files::stat(self, external_id, path).await
    }

    async fn read_file(&self, external_id: &str, path: &WorkspacePath, max_bytes: u64) -> AppResult<FileBytes> {
        files::read_file(self, external_id, path, max_bytes).await
    }

    async fn write_file(&self, external_id: &str, path: &WorkspacePath, data: Vec<u8>) -> AppResult<FileEntry> {
        files::write(self, external_id, path, Stdin::Bytes(data)).await
    }

    async fn write_stream(&self, external_id: &str, path: &WorkspacePath, body: Upload) -> AppResult<FileEntry> {
        files::write(self, external_id, path, Stdin::Stream(body)).await
    }

    async fn make_dir(&self, external_id: &str, path: &WorkspacePath) -> AppResult<FileEntry> {
        files::make_dir(self, external_id, path).await
    }

    async fn move_path(&self, external_id: &str, from: &WorkspacePath, to: &WorkspacePath) -> AppResult<FileEntry> {
        files::move_path(self, external_id, from, to).await
    }

    async fn read_stream(&self, external_id: &str, path: &WorkspacePath) -> AppResult<Upload> {
        if let Some((file, _, _)) = spool::spooled(self, external_id, path) {
            return Ok(Box::pin(tokio::fs::File::open(file).await?));
        }
        files::read_stream(self, external_id, path).await
    }

    async fn set_mode(&self, external_id: &str, path: &WorkspacePath, mode: u32) -> AppResult<()> {
        files::set_mode(self, external_id, path, mode).await
    }

    async fn make_symlink(&self, external_id: &str, path: &WorkspacePath, target: &str) -> AppResult<()> {
        files::make_symlink(self, external_id, path, target).await
    }

    async fn delete_path(&self, external_id: &str, path: &WorkspacePath, recursive: bool) -> AppResult<()> {
        files::delete(self, external_id, path, recursive).await
    }
}
