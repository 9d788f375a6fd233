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
    exec::{RawOutput, Started, Stdin},
    proto::{
        Resources, Sandbox, SandboxCreateRequest, SandboxGetFromNameRequest, SandboxGetTaskIdRequest,
        SandboxListRequest, SandboxTag, SandboxTerminateRequest, SandboxWaitRequest, VolumeMount,
        generic_result::GenericStatus,
    },
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
        })
    }

    /// This backend with Claude pointed at the gateway's public URL.
    pub fn with_gateway_url(mut self, url: String) -> Self {
        self.gateway_url = Some(url);
        self
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The task (container) of a sandbox, which exec needs; waits while it is scheduled.
    async fn task_id(&self, sandbox_id: &str) -> AppResult<String> {
        if let Some(t) = self.tasks().get(sandbox_id) {
            return Ok(t.clone());
        }
        let req = SandboxGetTaskIdRequest {
            sandbox_id: sandbox_id.to_string(),
            timeout: Some(55.0),
            wait_until_ready: false,
        };
        loop {
            let resp = rpc!(self.client, "SandboxGetTaskId", sandbox_get_task_id, req.clone()).await?;
            if let Some(task) = resp.task_id.filter(|t| !t.is_empty()) {
                self.tasks().insert(sandbox_id.to_string(), task.clone());
                return Ok(task);
            }
            if resp.task_result.is_some() {
                return Err(AppError::conflict("the sandbox is not running"));
            }
        }
    }

    /// The command router of a sandbox's task, connected once and kept.
    async fn router(&self, sandbox_id: &str) -> AppResult<Arc<Router>> {
        let task = self.task_id(sandbox_id).await?;
        let mut routers = self.routers.lock().await;
        if let Some(r) = routers.get(&task) {
            return Ok(r.clone());
        }
        let r = Arc::new(Router::connect(&self.client, &task).await?);
        routers.insert(task, r.clone());
        Ok(r)
    }

    async fn start(
        &self,
        sandbox_id: &str,
        command: Vec<String>,
        env: HashMap<String, String>,
        stdin: Stdin,
    ) -> AppResult<Started> {
        let router = self.router(sandbox_id).await?;
        exec::start(&router, command, WORKDIR, env, stdin).await
    }

    /// Terminates every Modal sandbox tagged with our sandbox id: what a failed or
    /// ambiguous create may have left behind.
    async fn remove_orphans(&self, sandbox_id: uuid::Uuid, app_id: &str) {
        let req = SandboxListRequest {
            app_id: app_id.to_string(),
            include_finished: false,
            tags: vec![SandboxTag { tag_name: TAG_SANDBOX.into(), tag_value: sandbox_id.to_string() }],
            ..Default::default()
        };
        match rpc!(self.client, "SandboxList", sandbox_list, req.clone()).await {
            Ok(list) => {
                for sb in list.sandboxes {
                    tracing::warn!(modal_sandbox = %sb.id, %sandbox_id, "terminating orphaned Modal sandbox");
                    let _ = self.terminate(&sb.id).await;
                }
            }
            Err(e) => {
                tracing::error!(%sandbox_id, error = ?e.log_detail(), "could not look for orphaned Modal sandboxes")
            }
        }
    }

    /// The running Modal sandbox with our stable name: what an earlier attempt of this
    /// create (or a concurrent wake) made.
    async fn by_name(&self, name: &str) -> AppResult<String> {
        let req = SandboxGetFromNameRequest {
            sandbox_name: name.to_string(),
            environment_name: self.environment.clone(),
            app_name: self.provision.app_name().to_string(),
        };
        Ok(rpc!(self.client, "SandboxGetFromName", sandbox_get_from_name, req.clone()).await?.sandbox_id)
    }
}

#[async_trait]
impl Backend for ModalBackend {
    fn name(&self) -> BackendName {
        BackendName::Modal
    }

    async fn create(&self, spec: &SandboxSpec) -> AppResult<String> {
        let app_id = self.provision.app_id().await?;
        let image_id = self.provision.image_id(&spec.template).await?;
        let volume_id = self.provision.volume_id(spec.sandbox_id, true).await?;
        let name = provision::name_of(spec.sandbox_id);
        let mount = |path: &str, sub: &str| VolumeMount {
            volume_id: volume_id.clone(),
            mount_path: path.into(),
            allow_background_commits: true,
            read_only: false,
            sub_path: Some(sub.into()),
        };
        let definition = Sandbox {
            entrypoint_args: vec!["sleep".into(), "infinity".into()],
            image_id,
            secret_ids: Vec::new(),
            resources: Some(Resources { memory_mb: 2048, milli_cpu: 1000 }),
            timeout_secs: spec.template.timeout_secs,
            workdir: Some(WORKDIR.into()),
            volume_mounts: vec![mount(WORKDIR, "workspace"), mount(HOME_DIR, "home")],
            name: Some(name.clone()),
            idle_timeout_secs: Some(spec.template.idle_timeout_secs),
        };
        let req = SandboxCreateRequest {
            app_id: app_id.clone(),
            definition: Some(definition),
            tags: vec![
                SandboxTag { tag_name: TAG_SANDBOX.into(), tag_value: spec.sandbox_id.to_string() },
                SandboxTag { tag_name: TAG_ACCOUNT.into(), tag_value: spec.account_id.to_string() },
            ],
        };
        match rpc!(self.client, "SandboxCreate", sandbox_create, req.clone()).await {
            Ok(resp) => Ok(resp.sandbox_id),
            // The name is taken: an earlier attempt whose answer was lost, or a concurrent
            // wake, made it. Use that one; never a second.
            Err(AppError::Conflict(_)) => self.by_name(&name).await,
            Err(e) => {
                // A create that timed out may still have happened on Modal's side.
                self.remove_orphans(spec.sandbox_id, &app_id).await;
                Err(e)
            }
        }
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

/// Output of a finished command, for file operations.
struct Collected {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    code: Option<i32>,
}

/// Runs a command to completion, keeping at most `max_stdout` bytes of its output.
async fn collect(
    b: &ModalBackend,
    ext: &str,
    command: Vec<String>,
    stdin: Stdin,
    max_stdout: usize,
) -> AppResult<Collected> {
    let Started { mut output, stdin } = b.start(ext, command, HashMap::new(), stdin).await?;
    let (mut stdout, mut stderr, mut code) = (Vec::new(), Vec::new(), None);
    while let Some(msg) = output.recv().await {
        match msg {
            RawOutput::Stdout(d) if stdout.len() + d.len() <= max_stdout => stdout.extend_from_slice(&d),
            RawOutput::Stdout(_) => return Err(AppError::conflict("the answer from the sandbox is too large")),
            RawOutput::Stderr(d) => stderr.extend(d.into_iter().take(64 * 1024usize.saturating_sub(stderr.len()))),
            RawOutput::Exited(c) => code = c,
            RawOutput::Lost(e) => return Err(e),
        }
    }
    stdin.await.map_err(|e| AppError::Internal(anyhow::anyhow!("stdin task: {e}")))??;
    Ok(Collected { stdout, stderr, code })
}
