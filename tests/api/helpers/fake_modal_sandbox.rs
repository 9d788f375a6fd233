//! The fake Modal's sandboxes, V1 and V2 alike: what the real service requires of a
//! create (a known app, image and volumes, each volume mounted once, a workdir, a
//! network policy), ids of each generation's shape (the official client routes by them,
//! so a V1 call on a V2 sandbox, or the other way round, is refused), an entrypoint run
//! for real unless it is `sleep infinity`, and waits that long-poll like Modal's.

use std::time::Duration;

use sandboxql::backend::modal::proto::{generic_result::GenericStatus, *};
use tonic::Status;

use super::{
    fake_modal::{FakeModal, FakeSandbox},
    fake_modal_exec,
};

/// Sandboxes in one page of a listing.
const PAGE: usize = 2;

fn bad(msg: &str) -> Status {
    Status::invalid_argument(msg.to_string())
}

fn internal(e: std::io::Error) -> Status {
    Status::internal(e.to_string())
}

/// Whether `id` has the V1 shape (`sb-` and 22 base-62 characters), as the official
/// client tells them apart.
pub fn is_v1(id: &str) -> bool {
    id.strip_prefix("sb-").is_some_and(|s| s.len() == 22 && s.bytes().all(|c| c.is_ascii_alphanumeric()))
}

impl FakeModal {
    /// A created sandbox's answer may be lost, as the fault plan says.
    pub(super) fn after_create(&self, method: &str) -> Result<(), Status> {
        if self.st().ghost_creates {
            return Err(Status::unavailable("injected: created, but the answer was lost"));
        }
        self.lose_answer(method)
    }

    /// Refuses a call of the wrong generation for sandbox `id`.
    pub(super) fn generation(&self, id: &str, v2_call: bool) -> Result<(), Status> {
        match (is_v1(id), v2_call) {
            (true, true) => Err(bad("a V1 sandbox: use the V1 call")),
            (false, false) if self.st().sandboxes.contains_key(id) => Err(bad("a V2 sandbox: use the V2 call")),
            _ => Ok(()),
        }
    }

    /// `SandboxCreate` / `SandboxCreateV2`: checks the definition, makes the sandbox and
    /// its task; returns (sandbox id, task id).
    pub(super) fn create_sandbox(
        &self,
        app_id: &str,
        d: Sandbox,
        tags: Vec<SandboxTag>,
        v2: bool,
    ) -> Result<(String, String), Status> {
        let mut seen = std::collections::HashSet::new();
        if let Some(m) = d.volume_mounts.iter().find(|m| !seen.insert(m.volume_id.clone())) {
            // What the official client refuses before sending (`validate_volumes`).
            return Err(bad(&format!("The same Volume cannot be mounted in multiple locations ({})", m.volume_id)));
        }
        {
            let st = self.st();
            if app_id != "ap-fake"
                || !st.images.contains(&d.image_id)
                || !d.volume_mounts.iter().all(|m| st.volumes.contains_key(&m.volume_id))
            {
                return Err(bad("unknown app, image or volume"));
            }
        }
        if d.timeout_secs == 0 || !d.workdir.as_deref().is_some_and(|w| w.starts_with('/')) {
            return Err(bad("a timeout and an absolute workdir required"));
        }
        // Every official client sends it (`_build_outbound_network_access`).
        if d.network_access.is_none() {
            return Err(bad("network_access required"));
        }
        if d.entrypoint_args.is_empty() {
            return Err(bad("an entrypoint required"));
        }
        if let Some(name) = d.name.as_deref().filter(|n| !n.is_empty())
            && self.st().sandboxes.values().any(|s| !s.terminated && s.name.as_deref() == Some(name))
        {
            return Err(Status::already_exists(format!("a running sandbox named {name} exists")));
        }
        let n = self.id("n");
        let id = if v2 { format!("sb-v2-{n}") } else { format!("sb-{:0>22}", n.replace('-', "")) };
        let dir = self.root.path().join(&id);
        for sub in ["tmp", "root"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(internal)?;
        }
        let mut mounts = Vec::new();
        for m in &d.volume_mounts {
            let host = self.root.path().join("volumes").join(&m.volume_id).join(m.sub_path.clone().unwrap_or_default());
            std::fs::create_dir_all(&host).map_err(internal)?;
            let link = match m.mount_path.as_str() {
                "/mnt/workspace" => Some("workspace"),
                "/mnt/home" => Some("home"),
                _ => None,
            };
            if let Some(link) = link {
                std::os::unix::fs::symlink(&host, dir.join(link)).map_err(internal)?;
            }
            mounts.push((host, m.mount_path.clone()));
        }
        let task_id = self.id("ta");
        let (tunnels, tunnel_tasks) = self.open_tunnels(d.open_ports.as_ref())?;
        let entry = (d.entrypoint_args != ["sleep", "infinity"]).then(|| d.entrypoint_args.clone());
        let workdir = d.workdir.clone().unwrap_or_default();
        let sandbox = FakeSandbox {
            dir: dir.clone(),
            mounts: mounts.clone(),
            v2,
            workdir: workdir.clone(),
            tags,
            name: d.name.filter(|n| !n.is_empty()),
            terminated: false,
            end_status: 0,
            exitcode: 0,
            created_at: 1_700_000_000.0 + self.st().sandboxes.len() as f64,
            task_id: task_id.clone(),
            execs: Vec::new(),
            tunnels,
            tunnel_tasks,
        };
        self.st().sandboxes.insert(id.clone(), sandbox);
        if let Some(argv) = entry {
            let exec = fake_modal_exec::spawn(&dir, &mounts, &argv, &workdir, Vec::new(), None).map_err(internal)?;
            self.st().sandboxes.get_mut(&id).expect("just made").execs.push(exec.clone());
            let (me, id) = (self.clone(), id.clone());
            tokio::spawn(async move {
                let mut rx = exec.changed.subscribe();
                let code = loop {
                    if let Some(code) = *exec.exit.lock().unwrap() {
                        break code;
                    }
                    let _ = tokio::time::timeout(Duration::from_millis(100), rx.changed()).await;
                };
                let status = if code == 0 { GenericStatus::Success } else { GenericStatus::Failure };
                me.end_sandbox(&id, status as i32);
                if let Some(sb) = me.st().sandboxes.get_mut(&id) {
                    sb.exitcode = code;
                }
            });
        }
        Ok((id, task_id))
    }

    /// `SandboxWait[V2]`: how it ended, waiting up to `timeout` seconds (capped at 10 s
    /// here) while it runs.
    pub(super) async fn wait_sandbox(&self, r: SandboxWaitRequest, v2: bool) -> Result<SandboxWaitResponse, Status> {
        self.generation(&r.sandbox_id, v2)?;
        let ends = tokio::time::Instant::now() + Duration::from_secs_f32(r.timeout.clamp(0.0, 10.0));
        loop {
            {
                let st = self.st();
                let sb = st.sandboxes.get(&r.sandbox_id).ok_or_else(|| Status::not_found("no such sandbox"))?;
                if sb.terminated {
                    let result = GenericResult { status: sb.end_status, exitcode: sb.exitcode, ..Default::default() };
                    return Ok(SandboxWaitResponse { result: Some(result) });
                }
            }
            if tokio::time::Instant::now() >= ends {
                return Ok(SandboxWaitResponse { result: None });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `SandboxTerminate[V2]`.
    pub(super) fn terminate_sandbox(
        &self,
        r: SandboxTerminateRequest,
        v2: bool,
    ) -> Result<SandboxTerminateResponse, Status> {
        self.generation(&r.sandbox_id, v2)?;
        if !self.st().sandboxes.contains_key(&r.sandbox_id) {
            return Err(Status::not_found("no such sandbox"));
        }
        self.end_sandbox(&r.sandbox_id, GenericStatus::Terminated as i32);
        Ok(SandboxTerminateResponse { existing_result: None })
    }

    /// `SandboxGetTaskId[V2]`.
    pub(super) fn task_of(&self, r: SandboxGetTaskIdRequest, v2: bool) -> Result<SandboxGetTaskIdResponse, Status> {
        self.generation(&r.sandbox_id, v2)?;
        let st = self.st();
        let sb = st.sandboxes.get(&r.sandbox_id).ok_or_else(|| Status::not_found("no such sandbox"))?;
        if sb.terminated {
            let done = GenericResult { status: sb.end_status, ..Default::default() };
            return Ok(SandboxGetTaskIdResponse { task_id: None, task_result: Some(done) });
        }
        Ok(SandboxGetTaskIdResponse { task_id: Some(sb.task_id.clone()), task_result: None })
    }

    /// `SandboxList` (V1 sandboxes) / `SandboxListV2` (both): newest first, a page of
    /// [`PAGE`] at a time, each page before `before_timestamp` when one is given.
    pub(super) fn list_sandboxes(&self, r: SandboxListRequest, v2: bool) -> SandboxListResponse {
        let st = self.st();
        let mut sandboxes: Vec<SandboxInfo> = st
            .sandboxes
            .iter()
            .filter(|(_, s)| (v2 || !s.v2) && (r.include_finished || !s.terminated))
            .filter(|(_, s)| r.tags.iter().all(|t| s.tags.contains(t)))
            .filter(|(_, s)| r.before_timestamp == 0.0 || s.created_at < r.before_timestamp)
            .map(|(id, s)| SandboxInfo {
                id: id.clone(),
                created_at: s.created_at,
                app_id: "ap-fake".into(),
                tags: s.tags.clone(),
                name: s.name.clone().unwrap_or_default(),
            })
            .collect();
        sandboxes.sort_by(|a, b| b.created_at.total_cmp(&a.created_at));
        sandboxes.truncate(PAGE);
        SandboxListResponse { sandboxes }
    }

    /// `SandboxGetFromName[V2]`: the running sandbox of that generation with the name.
    pub(super) fn by_name(&self, r: SandboxGetFromNameRequest, v2: bool) -> Result<SandboxGetFromNameResponse, Status> {
        let st = self.st();
        let found = st
            .sandboxes
            .iter()
            .find(|(_, s)| s.v2 == v2 && !s.terminated && s.name.as_deref() == Some(&r.sandbox_name));
        match found {
            Some((id, _)) if !r.app_name.is_empty() => Ok(SandboxGetFromNameResponse { sandbox_id: id.clone() }),
            _ => Err(Status::not_found("no running sandbox with that name")),
        }
    }

    /// Access to a task's router for a sandbox of generation `v2`: a fresh JWT and the
    /// router's URL.
    pub(super) fn router_access(&self, task_id: &str, v2: bool) -> Result<CommandRouterAccess, Status> {
        let mut st = self.st();
        let Some(sb) = st.sandboxes.values().find(|s| s.task_id == task_id) else {
            return Err(Status::not_found("no such task"));
        };
        if sb.v2 != v2 {
            return Err(bad("router access for this task's sandbox generation by the other call"));
        }
        let jwt = super::fake_modal_volume::jwt(chrono::Utc::now().timestamp() + 3600, 1000 + st.router_jwts.len());
        st.router_jwts.insert(jwt.clone());
        Ok(CommandRouterAccess { jwt, url: self.router_url() })
    }
}
