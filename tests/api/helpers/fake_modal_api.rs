//! The RPCs of the fake Modal: each checks what the real service would require of the
//! request, then acts on the fake's state (see `fake_modal`).

use std::pin::Pin;

use futures::Stream;
use sandboxql::backend::modal::proto::{modal_client_server::ModalClient, *};
use tonic::{Request, Response, Status};

use super::{fake_modal::FakeModal, fake_modal_volume};

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
        let mut st = self.st();
        if lookup && !st.volumes.contains_key(&id) {
            return Err(Status::not_found("no such volume"));
        }
        // An existing volume keeps the version it was made with.
        let version = *st.volume_versions.entry(id.clone()).or_insert(r.version);
        st.volumes.insert(id.clone(), r.deployment_name.clone());
        let metadata = VolumeMetadata { version, name: r.deployment_name };
        Ok(Response::new(VolumeGetOrCreateResponse { volume_id: id, version, metadata: Some(metadata) }))
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
        let (id, _) = self.create_sandbox(&r.app_id, d, r.tags.clone(), false)?;
        self.st().creates.push(r);
        self.after_create("SandboxCreate")?;
        Ok(Response::new(SandboxCreateResponse { sandbox_id: id }))
    }

    async fn sandbox_create_v2(&self, req: Request<SandboxCreateV2Request>) -> Res<SandboxCreateV2Response> {
        self.enter("SandboxCreateV2", &req)?;
        let key = req.metadata().get("x-idempotency-key").and_then(|v| v.to_str().ok()).map(String::from);
        let r = req.into_inner();
        let d = r.definition.clone().ok_or_else(|| bad("definition required"))?;
        let known = key.as_ref().and_then(|k| self.st().created_by_key.get(k).cloned());
        let (id, task_id) = match known {
            Some(made) => made,
            None => self.create_sandbox(&r.app_id, d.clone(), r.tags.clone(), true)?,
        };
        if let Some(k) = key {
            self.st().created_by_key.insert(k, (id.clone(), task_id.clone()));
        }
        self.st().creates.push(SandboxCreateRequest { app_id: r.app_id.clone(), definition: Some(d), tags: r.tags });
        self.after_create("SandboxCreateV2")?;
        let access = self.router_access(&task_id, true)?;
        let tunnels = match self.st() {
            st if st.tunnels_late => Vec::new(),
            st => st.sandboxes.get(&id).map(|s| s.tunnels.clone()).unwrap_or_default(),
        };
        Ok(Response::new(SandboxCreateV2Response {
            sandbox_id: id,
            tunnels,
            task_id,
            command_router_access: Some(access),
            sandbox_token: String::new(),
        }))
    }

    async fn sandbox_get_task_id(&self, req: Request<SandboxGetTaskIdRequest>) -> Res<SandboxGetTaskIdResponse> {
        self.enter("SandboxGetTaskId", &req)?;
        self.task_of(req.into_inner(), false).map(Response::new)
    }

    async fn sandbox_get_task_id_v2(&self, req: Request<SandboxGetTaskIdRequest>) -> Res<SandboxGetTaskIdResponse> {
        self.enter("SandboxGetTaskIdV2", &req)?;
        self.task_of(req.into_inner(), true).map(Response::new)
    }

    async fn sandbox_get_tunnels(&self, req: Request<SandboxGetTunnelsRequest>) -> Res<SandboxGetTunnelsResponse> {
        self.enter("SandboxGetTunnels", &req)?;
        self.tunnels_of(req.into_inner(), false).map(Response::new)
    }

    async fn sandbox_get_tunnels_v2(&self, req: Request<SandboxGetTunnelsRequest>) -> Res<SandboxGetTunnelsResponse> {
        self.enter("SandboxGetTunnelsV2", &req)?;
        self.tunnels_of(req.into_inner(), true).map(Response::new)
    }

    async fn sandbox_terminate(&self, req: Request<SandboxTerminateRequest>) -> Res<SandboxTerminateResponse> {
        self.enter("SandboxTerminate", &req)?;
        self.terminate_sandbox(req.into_inner(), false).map(Response::new)
    }

    async fn sandbox_terminate_v2(&self, req: Request<SandboxTerminateRequest>) -> Res<SandboxTerminateResponse> {
        self.enter("SandboxTerminateV2", &req)?;
        self.terminate_sandbox(req.into_inner(), true).map(Response::new)
    }

    async fn sandbox_wait(&self, req: Request<SandboxWaitRequest>) -> Res<SandboxWaitResponse> {
        self.enter("SandboxWait", &req)?;
        self.wait_sandbox(req.into_inner(), false).await.map(Response::new)
    }

    async fn sandbox_wait_v2(&self, req: Request<SandboxWaitRequest>) -> Res<SandboxWaitResponse> {
        self.enter("SandboxWaitV2", &req)?;
        self.wait_sandbox(req.into_inner(), true).await.map(Response::new)
    }

    async fn sandbox_list(&self, req: Request<SandboxListRequest>) -> Res<SandboxListResponse> {
        self.enter("SandboxList", &req)?;
        Ok(Response::new(self.list_sandboxes(req.into_inner(), false)))
    }

    async fn sandbox_list_v2(&self, req: Request<SandboxListRequest>) -> Res<SandboxListResponse> {
        self.enter("SandboxListV2", &req)?;
        Ok(Response::new(self.list_sandboxes(req.into_inner(), true)))
    }

    async fn environment_get_or_create(
        &self,
        req: Request<EnvironmentGetOrCreateRequest>,
    ) -> Res<EnvironmentGetOrCreateResponse> {
        self.enter("EnvironmentGetOrCreate", &req)?;
        let settings = EnvironmentSettings { image_builder_version: "2025.06".into() };
        let metadata = EnvironmentMetadata { name: "main".into(), settings: Some(settings) };
        Ok(Response::new(EnvironmentGetOrCreateResponse { environment_id: "en-fake".into(), metadata: Some(metadata) }))
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
        self.by_name(req.into_inner(), false).map(Response::new)
    }

    async fn sandbox_get_from_name_v2(
        &self,
        req: Request<SandboxGetFromNameRequest>,
    ) -> Res<SandboxGetFromNameResponse> {
        self.enter("SandboxGetFromNameV2", &req)?;
        self.by_name(req.into_inner(), true).map(Response::new)
    }

    async fn task_get_command_router_access(
        &self,
        req: Request<TaskGetCommandRouterAccessRequest>,
    ) -> Res<TaskGetCommandRouterAccessResponse> {
        self.enter("TaskGetCommandRouterAccess", &req)?;
        let a = self.router_access(&req.into_inner().task_id, false)?;
        Ok(Response::new(TaskGetCommandRouterAccessResponse { jwt: a.jwt, url: a.url }))
    }

    async fn sandbox_get_command_router_access(
        &self,
        req: Request<SandboxGetCommandRouterAccessRequest>,
    ) -> Res<SandboxGetCommandRouterAccessResponse> {
        use sandbox_get_command_router_access_request::Target;
        self.enter("SandboxGetCommandRouterAccess", &req)?;
        let task = match req.into_inner().target {
            Some(Target::TaskId(t)) => t,
            Some(Target::SandboxId(id)) => {
                self.generation(&id, true)?;
                let st = self.st();
                st.sandboxes.get(&id).map(|s| s.task_id.clone()).ok_or_else(|| Status::not_found("no such sandbox"))?
            }
            None => return Err(bad("a sandbox or task id required")),
        };
        let a = self.router_access(&task, true)?;
        Ok(Response::new(SandboxGetCommandRouterAccessResponse { jwt: a.jwt, url: a.url }))
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
        self.listing_call(&r.volume_id, true)?;
        let pages = fake_modal_volume::list(&self.root.path().join("volumes"), &r)?;
        Ok(Response::new(Box::pin(futures::stream::iter(pages.into_iter().map(Ok)))))
    }

    type VolumeListFilesStream = BoxStream<VolumeListFilesResponse>;
    async fn volume_list_files(&self, req: Request<VolumeListFilesRequest>) -> Res<Self::VolumeListFilesStream> {
        self.enter("VolumeListFiles", &req)?;
        let r = req.into_inner();
        self.listing_call(&r.volume_id, false)?;
        let r2 = VolumeListFiles2Request {
            volume_id: r.volume_id,
            path: r.path,
            recursive: r.recursive,
            max_entries: r.max_entries,
        };
        let pages = fake_modal_volume::list(&self.root.path().join("volumes"), &r2)?;
        let pages = pages.into_iter().map(|p| Ok(VolumeListFilesResponse { entries: p.entries }));
        Ok(Response::new(Box::pin(futures::stream::iter(pages))))
    }
}
