//! The RPCs of the fake Modal: each checks what the real service would require of the
//! request, then acts on the fake's state (see `fake_modal`).

use std::pin::Pin;

use futures::Stream;
use sandboxql::backend::modal::proto::{modal_client_server::ModalClient, *};
use tonic::{Request, Response, Status};

use super::{
    fake_modal::{FakeModal, FakeSandbox},
    fake_modal_volume,
};

type Res<T> = Result<Response<T>, Status>;
pub(super) type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn bad(msg: &str) -> Status {
    Status::invalid_argument(msg.to_string())
}

#[tonic::async_trait]
impl ModalClient for FakeModal {
    async fn app_get_or_create(&self, req: Request<AppGetOrCreateRequest>) -> Res<AppGetOrCreateResponse> {
        self.enter("AppGetOrCreate", &req)?;
        let r = req.into_inner();
        if !valid_name(&r.app_name) || r.object_creation_type != ObjectCreationType::CreateIfMissing as i32 {
            return Err(bad("app name and CREATE_IF_MISSING required"));
        }
        Ok(Response::new(AppGetOrCreateResponse { app_id: "ap-fake".into() }))
    }

    async fn image_get_or_create(&self, req: Request<ImageGetOrCreateRequest>) -> Res<ImageGetOrCreateResponse> {
        self.enter("ImageGetOrCreate", &req)?;
        let r = req.into_inner();
        let cmds = r.image.map(|i| i.dockerfile_commands).unwrap_or_default();
        if r.app_id != "ap-fake"
            || !cmds.first().is_some_and(|c| c.starts_with("FROM "))
            || r.builder_version.is_empty()
            || r.namespace != 1
        {
            return Err(bad("image needs an app, a FROM line, a builder version and the WORKSPACE namespace"));
        }
        let image_id = format!("im-{:x}", cmds.join("\n").len());
        self.st().images.insert(image_id.clone());
        // Not built yet: the client must join the build stream.
        Ok(Response::new(ImageGetOrCreateResponse { image_id, result: None }))
    }

    type ImageJoinStreamingStream = BoxStream<ImageJoinStreamingResponse>;
    async fn image_join_streaming(
        &self,
        req: Request<ImageJoinStreamingRequest>,
    ) -> Res<Self::ImageJoinStreamingStream> {
        self.enter("ImageJoinStreaming", &req)?;
        if !self.st().images.contains(&req.get_ref().image_id) {
            return Err(Status::not_found("no such image"));
        }
        let done = GenericResult { status: generic_result::GenericStatus::Success as i32, ..Default::default() };
        let msgs = vec![
            Ok(ImageJoinStreamingResponse { result: None, entry_id: "1".into(), eof: false }),
            Ok(ImageJoinStreamingResponse { result: Some(done), entry_id: "2".into(), eof: true }),
        ];
        Ok(Response::new(Box::pin(futures::stream::iter(msgs))))
    }

    async fn volume_get_or_create(&self, req: Request<VolumeGetOrCreateRequest>) -> Res<VolumeGetOrCreateResponse> {
        self.enter("VolumeGetOrCreate", &req)?;
        let r = req.into_inner();
        let lookup = r.object_creation_type == ObjectCreationType::Unspecified as i32;
        if !valid_name(&r.deployment_name)
            || !(lookup || r.object_creation_type == ObjectCreationType::CreateIfMissing as i32)
        {
            return Err(bad("volume name and CREATE_IF_MISSING (or a lookup) required"));
        }
        let id = format!("vo-{}", r.deployment_name);
        if lookup && !self.st().volumes.contains_key(&id) {
            return Err(Status::not_found("no such volume"));
        }
        self.st().volumes.insert(id.clone(), r.deployment_name);
        Ok(Response::new(VolumeGetOrCreateResponse { volume_id: id }))
    }

    async fn secret_get_or_create(&self, req: Request<SecretGetOrCreateRequest>) -> Res<SecretGetOrCreateResponse> {
        self.enter("SecretGetOrCreate", &req)?;
        let r = req.into_inner();
        if !valid_name(&r.deployment_name) || r.env_dict.is_empty() {
            return Err(bad("secret name and values required"));
        }
        let id = format!("st-{}", r.deployment_name);
        self.st().secrets.insert(id.clone(), r.env_dict);
        Ok(Response::new(SecretGetOrCreateResponse { secret_id: id }))
    }

    async fn sandbox_create(&self, req: Request<SandboxCreateRequest>) -> Res<SandboxCreateResponse> {
        self.enter("SandboxCreate", &req)?;
        let r = req.into_inner();
        let d = r.definition.clone().ok_or_else(|| bad("definition required"))?;
        let mount = d
            .volume_mounts
            .iter()
            .find(|m| m.mount_path == "/mnt/workspace")
            .cloned()
            .ok_or_else(|| bad("a volume mount at /mnt/workspace required"))?;
        let home_mount = d.volume_mounts.iter().find(|m| m.mount_path == "/mnt/home").cloned();
        {
            let st = self.st();
            if r.app_id != "ap-fake" || !st.images.contains(&d.image_id) || !st.volumes.contains_key(&mount.volume_id) {
                return Err(bad("unknown app, image or volume"));
            }
        }
        if d.timeout_secs == 0 || d.workdir.as_deref() != Some("/mnt/workspace") || mount.mount_path != "/mnt/workspace"
        {
            return Err(bad("timeout and workdir /mnt/workspace with the volume there required"));
        }
        // Every official client sends it (`_build_outbound_network_access`).
        if d.network_access.is_none() {
            return Err(bad("network_access required"));
        }
        if d.entrypoint_args.is_empty() || r.tags.is_empty() {
            return Err(bad("entrypoint and tags required"));
        }
        if let Some(name) = d.name.as_deref().filter(|n| !n.is_empty()) {
            let st = self.st();
            if st.sandboxes.values().any(|s| !s.terminated && s.name.as_deref() == Some(name)) {
                return Err(Status::already_exists(format!("a running sandbox named {name} exists")));
            }
        }
        let id = self.id("sb");
        let dir = self.root.path().join(&id);
        let ws = self.root.path().join("volumes").join(&mount.volume_id).join(mount.sub_path.unwrap_or_default());
        std::fs::create_dir_all(&ws).map_err(|e| Status::internal(e.to_string()))?;
        std::fs::create_dir_all(dir.join("tmp")).map_err(|e| Status::internal(e.to_string()))?;
        let home = match &home_mount {
            Some(m) => self.root.path().join("volumes").join(&m.volume_id).join(m.sub_path.clone().unwrap_or_default()),
            None => dir.join("home-local"),
        };
        std::fs::create_dir_all(&home).map_err(|e| Status::internal(e.to_string()))?;
        std::os::unix::fs::symlink(&ws, dir.join("workspace")).map_err(|e| Status::internal(e.to_string()))?;
        std::os::unix::fs::symlink(&home, dir.join("home")).map_err(|e| Status::internal(e.to_string()))?;
        let task_id = self.id("ta");
        let mut st = self.st();
        st.creates.push(r.clone());
        let sandbox = FakeSandbox {
            dir,
            tags: r.tags,
            name: d.name.filter(|n| !n.is_empty()),
            terminated: false,
            end_status: 0,
            task_id,
            execs: Vec::new(),
        };
        st.sandboxes.insert(id.clone(), sandbox);
        if st.ghost_creates {
            return Err(Status::unavailable("injected: created, but the answer was lost"));
        }
        drop(st);
        self.lose_answer("SandboxCreate")?;
        Ok(Response::new(SandboxCreateResponse { sandbox_id: id }))
    }

    async fn sandbox_get_task_id(&self, req: Request<SandboxGetTaskIdRequest>) -> Res<SandboxGetTaskIdResponse> {
        self.enter("SandboxGetTaskId", &req)?;
        let st = self.st();
        let sb = st.sandboxes.get(&req.get_ref().sandbox_id).ok_or_else(|| Status::not_found("no such sandbox"))?;
        if sb.terminated {
            let done = GenericResult { status: sb.end_status, ..Default::default() };
            return Ok(Response::new(SandboxGetTaskIdResponse { task_id: None, task_result: Some(done) }));
        }
        Ok(Response::new(SandboxGetTaskIdResponse { task_id: Some(sb.task_id.clone()), task_result: None }))
    }

    async fn sandbox_terminate(&self, req: Request<SandboxTerminateRequest>) -> Res<SandboxTerminateResponse> {
        self.enter("SandboxTerminate", &req)?;
        let mut st = self.st();
        let sb = st.sandboxes.get_mut(&req.get_ref().sandbox_id).ok_or_else(|| Status::not_found("no such sandbox"))?;
        sb.terminated = true;
        sb.end_status = generic_result::GenericStatus::Terminated as i32;
        for e in &sb.execs {
            if let Some(pid) = e.pid {
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
        Ok(Response::new(SandboxTerminateResponse { existing_result: None }))
    }

    async fn sandbox_wait(&self, req: Request<SandboxWaitRequest>) -> Res<SandboxWaitResponse> {
        self.enter("SandboxWait", &req)?;
        let st = self.st();
        let sb = st.sandboxes.get(&req.get_ref().sandbox_id).ok_or_else(|| Status::not_found("no such sandbox"))?;
        let result = sb.terminated.then(|| GenericResult { status: sb.end_status, ..Default::default() });
        Ok(Response::new(SandboxWaitResponse { result }))
    }

    async fn sandbox_list(&self, req: Request<SandboxListRequest>) -> Res<SandboxListResponse> {
        self.enter("SandboxList", &req)?;
        let r = req.into_inner();
        let st = self.st();
        let sandboxes = st
            .sandboxes
            .iter()
            .filter(|(_, s)| r.include_finished || !s.terminated)
            .filter(|(_, s)| r.tags.iter().all(|t| s.tags.contains(t)))
            .map(|(id, s)| SandboxInfo {
                id: id.clone(),
                created_at: 0.0,
                app_id: "ap-fake".into(),
                tags: s.tags.clone(),
            })
            .collect();
        Ok(Response::new(SandboxListResponse { sandboxes }))
    }

    async fn auth_token_get(&self, req: Request<AuthTokenGetRequest>) -> Res<AuthTokenGetResponse> {
        self.enter("AuthTokenGet", &req)?;
        let mut st = self.st();
        let exp = chrono::Utc::now().timestamp() + st.auth_ttl_secs;
        let token = fake_modal_volume::jwt(exp, st.auth_tokens.len());
        st.auth_tokens.push((token.clone(), exp));
        Ok(Response::new(AuthTokenGetResponse { token }))
    }

    async fn client_hello(&self, req: Request<()>) -> Res<ClientHelloResponse> {
        self.enter("ClientHello", &req)?;
        let warning = Warning { r#type: 1, message: "fake: this client is fine".into() };
        Ok(Response::new(ClientHelloResponse { warning: String::new(), server_warnings: vec![warning] }))
    }

    async fn sandbox_get_from_name(&self, req: Request<SandboxGetFromNameRequest>) -> Res<SandboxGetFromNameResponse> {
        self.enter("SandboxGetFromName", &req)?;
        let r = req.into_inner();
        let st = self.st();
        let found = st.sandboxes.iter().find(|(_, s)| !s.terminated && s.name.as_deref() == Some(&r.sandbox_name));
        match found {
            Some((id, _)) if !r.app_name.is_empty() => {
                Ok(Response::new(SandboxGetFromNameResponse { sandbox_id: id.clone() }))
            }
            _ => Err(Status::not_found("no running sandbox with that name")),
        }
    }

    async fn task_get_command_router_access(
        &self,
        req: Request<TaskGetCommandRouterAccessRequest>,
    ) -> Res<TaskGetCommandRouterAccessResponse> {
        self.enter("TaskGetCommandRouterAccess", &req)?;
        let task = req.into_inner().task_id;
        let mut st = self.st();
        if !st.sandboxes.values().any(|s| s.task_id == task) {
            return Err(Status::not_found("no such task"));
        }
        let jwt = fake_modal_volume::jwt(chrono::Utc::now().timestamp() + 3600, 1000 + st.router_jwts.len());
        st.router_jwts.insert(jwt.clone());
        Ok(Response::new(TaskGetCommandRouterAccessResponse { jwt, url: self.url() }))
    }

    async fn volume_delete(&self, req: Request<VolumeDeleteRequest>) -> Res<()> {
        self.enter("VolumeDelete", &req)?;
        let id = req.into_inner().volume_id;
        let mut st = self.st();
        st.volumes.remove(&id).ok_or_else(|| Status::not_found("no such volume"))?;
        st.volume_deletes.push(id.clone());
        let _ = std::fs::remove_dir_all(self.root.path().join("volumes").join(&id));
        Ok(Response::new(()))
    }

    async fn volume_get_file2(&self, req: Request<VolumeGetFile2Request>) -> Res<VolumeGetFile2Response> {
        self.enter("VolumeGetFile2", &req)?;
        let r = req.into_inner();
        if !self.st().volumes.contains_key(&r.volume_id) {
            return Err(Status::not_found("no such volume"));
        }
        fake_modal_volume::get_file(&self.root.path().join("volumes"), self.blobs, r).map(Response::new)
    }

    type VolumeListFiles2Stream = BoxStream<VolumeListFiles2Response>;
    async fn volume_list_files2(&self, req: Request<VolumeListFiles2Request>) -> Res<Self::VolumeListFiles2Stream> {
        self.enter("VolumeListFiles2", &req)?;
        let r = req.into_inner();
        if !self.st().volumes.contains_key(&r.volume_id) {
            return Err(Status::not_found("no such volume"));
        }
        let pages = fake_modal_volume::list(&self.root.path().join("volumes"), &r)?;
        Ok(Response::new(Box::pin(futures::stream::iter(pages.into_iter().map(Ok)))))
    }
}
