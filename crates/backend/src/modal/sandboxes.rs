//! The Modal sandbox of a sandboxql sandbox: a V2 sandbox (`SandboxCreateV2`, the official
//! client's default) made on the sandbox's two volumes under a stable name (so a retried
//! create or a concurrent wake finds the one that exists), its task and command router
//! found and kept, orphans of failed creates found by tag.

use std::{collections::HashMap, sync::Arc};

use super::{
    HOME_DIR, ModalBackend, TAG_ACCOUNT, TAG_SANDBOX, WORKDIR,
    exec::{self, Started, Stdin},
    ids,
    proto::{Resources, Sandbox, SandboxCreateV2Request, SandboxListRequest, SandboxTag, VolumeMount},
    provision,
    router::Router,
    router_proto::TaskSetNetworkAccessRequest,
    volumes::Which,
};
use crate::{
    error::{AppError, AppResult},
    {ExternalId, Lifecycle, SandboxSpec},
};

impl ModalBackend {
    pub(super) fn tasks(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The task (container) of a sandbox, which exec needs; waits while it is scheduled.
    pub(super) async fn task_id(&self, sandbox_id: &str) -> AppResult<String> {
        if let Some(t) = self.tasks().get(sandbox_id) {
            return Ok(t.clone());
        }
        loop {
            let resp = self.task_id_call(sandbox_id, 55.0).await?;
            if let Some(task) = resp.task_id.filter(|t| !t.is_empty()) {
                self.tasks().insert(sandbox_id.to_string(), task.clone());
                return Ok(task);
            }
            if resp.task_result.is_some() {
                return Err(AppError::conflict_because(
                    crate::error::reasons::NOT_RUNNING,
                    "the sandbox is not running",
                ));
            }
        }
    }

    /// The command router of a sandbox's task, connected once and kept. A sandbox this
    /// process did not create (made before a restart, perhaps under another
    /// `--sandbox-egress`) first gets today's network policy (`TaskSetNetworkAccess`, as
    /// the official client's `set_network_access`): a changed allow-list applies without
    /// recreating it. Until that succeeds the router is not kept, so nothing runs under
    /// an older policy unnoticed.
    pub(super) async fn router(&self, sandbox_id: &str) -> AppResult<Arc<Router>> {
        let task = self.task_id(sandbox_id).await?;
        let mut routers = self.routers.lock().await;
        if let Some(r) = routers.get(&task) {
            return Ok(r.clone());
        }
        let r = Arc::new(Router::connect(&self.client, &task, !ids::is_v1(sandbox_id), None).await?);
        let req = TaskSetNetworkAccessRequest {
            task_id: task.clone(),
            network_access: Some(super::network::allowlist(self.gateway_url.as_deref(), &self.egress)),
        };
        r.call("TaskSetNetworkAccess", |mut api| {
            let req = req.clone();
            async move { api.task_set_network_access(req).await }
        })
        .await?;
        routers.insert(task, r.clone());
        Ok(r)
    }

    pub(super) async fn start(
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
    pub(super) async fn remove_orphans(&self, sandbox_id: uuid::Uuid, app_id: &str) {
        let req = SandboxListRequest {
            app_id: app_id.to_string(),
            include_finished: false,
            tags: vec![SandboxTag { tag_name: TAG_SANDBOX.into(), tag_value: sandbox_id.to_string() }],
            ..Default::default()
        };
        match self.list_call(req).await {
            Ok(list) => {
                for sb in list.sandboxes {
                    tracing::warn!(modal_sandbox = %sb.id, %sandbox_id, "terminating orphaned Modal sandbox");
                    let _ = self.terminate(&ExternalId::from(sb.id.as_str())).await;
                }
            }
            Err(e) => {
                tracing::error!(%sandbox_id, error = ?e.log_detail(), "could not look for orphaned Modal sandboxes")
            }
        }
    }

    /// Creates the Modal sandbox of `spec` on its volume, under its stable name; a name
    /// already taken means an earlier attempt (or a concurrent wake) made it: that one is
    /// used, never a second.
    pub(super) async fn create_sandbox(&self, spec: &SandboxSpec) -> AppResult<String> {
        let app_id = self.provision.app_id().await?;
        let image_id = self.provision.image_id(&spec.template).await?;
        let workspace = self.provision.volume(spec.sandbox_id, Which::Workspace, true).await?;
        let home = self.provision.volume(spec.sandbox_id, Which::Home, true).await?;
        self.move_home(spec, &app_id, &image_id, &workspace, &home).await?;
        let name = provision::name_of(spec.sandbox_id);
        let mount = |volume_id: &str, path: &str, sub_path: Option<&str>| VolumeMount {
            volume_id: volume_id.to_string(),
            mount_path: path.into(),
            allow_background_commits: true,
            read_only: false,
            sub_path: sub_path.map(String::from),
        };
        let definition = Sandbox {
            entrypoint_args: vec!["sleep".into(), "infinity".into()],
            image_id,
            secret_ids: Vec::new(),
            resources: Some(resources(&spec.template.resources)),
            timeout_secs: spec.template.timeout_secs,
            workdir: Some(WORKDIR.into()),
            // One mount per volume; the workspace keeps its place in its volume.
            volume_mounts: vec![mount(&workspace.id, WORKDIR, Some("workspace")), mount(&home.id, HOME_DIR, None)],
            open_ports: self.tunnels.open_ports(),
            network_access: Some(super::network::allowlist(self.gateway_url.as_deref(), &self.egress)),
            name: Some(name.clone()),
            idle_timeout_secs: Some(spec.template.idle_timeout_secs),
        };
        let req = SandboxCreateV2Request {
            app_id: app_id.clone(),
            definition: Some(definition),
            tags: vec![
                SandboxTag { tag_name: TAG_SANDBOX.into(), tag_value: spec.sandbox_id.to_string() },
                SandboxTag { tag_name: TAG_ACCOUNT.into(), tag_value: spec.account_id.to_string() },
            ],
            secret_sources: Vec::new(),
        };
        match self.create_v2(req).await {
            Ok(resp) => {
                self.tunnels.remember(&resp.sandbox_id, &resp.tunnels);
                if !resp.task_id.is_empty() {
                    self.tasks().insert(resp.sandbox_id.clone(), resp.task_id.clone());
                    // The access that comes with the create is good for the first connection.
                    if let Some(access) = resp.command_router_access.filter(|a| !a.url.is_empty()) {
                        let router = Router::connect(&self.client, &resp.task_id, true, Some(access)).await?;
                        self.routers.lock().await.insert(resp.task_id, Arc::new(router));
                    }
                }
                Ok(resp.sandbox_id)
            }
            // The name is taken: an earlier attempt whose answer was lost, or a concurrent
            // wake, made it. Use that one; never a second.
            Err(AppError::Conflict { .. }) => self.by_name_call(&name).await,
            Err(e) => {
                // A create that timed out may still have happened on Modal's side.
                self.remove_orphans(spec.sandbox_id, &app_id).await;
                Err(e)
            }
        }
    }
}

/// The template's resources as Modal's official client sends `Sandbox.create(cpu=…,
/// memory=…)` (`modal/_resources.py`): cores ×1000 as `milli_cpu` (a `(request, limit)`
/// pair also sets `milli_cpu_max`), MiB as `memory_mb`, and the memory limit as
/// `memory_mb_max` — the tuple form, since a template's memory is a bound, not a request.
/// `Sandbox.create` has no disk argument and always sends `ephemeral_disk_mb = 0`: on
/// Modal the workspace is a volume, which Modal bounds itself.
pub(super) fn resources(r: &crate::template::Resources) -> Resources {
    let mib = u32::try_from(r.memory_bytes >> 20).unwrap_or(u32::MAX);
    let milli = |cores: f64| (cores * 1000.0).round().clamp(0.0, u32::MAX as f64) as u32;
    Resources {
        memory_mb: mib,
        milli_cpu: milli(r.cpu),
        memory_mb_max: mib,
        ephemeral_disk_mb: 0,
        milli_cpu_max: r.cpu_max.map(milli).unwrap_or(0),
    }
}
