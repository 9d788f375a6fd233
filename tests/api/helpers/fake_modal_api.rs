//! The RPCs of the fake Modal: each checks what the real service would require of the
//! request, then acts on the fake's state (see `fake_modal`).

use std::{pin::Pin, time::Duration};

use futures::Stream;
use sandboxql::backend::modal::proto::{modal_client_server::ModalClient, *};
use tokio::io::AsyncWriteExt;
use tonic::{Request, Response, Status};

use super::{
    fake_modal::{FakeModal, FakeSandbox},
    fake_modal_exec,
};

type Res<T> = Result<Response<T>, Status>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

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
        {
            return Err(bad("image needs an app, a FROM line and a builder version"));
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
        if !valid_name(&r.deployment_name) || r.object_creation_type != ObjectCreationType::CreateIfMissing as i32 {
            return Err(bad("volume name and CREATE_IF_MISSING required"));
        }
        let id = format!("vo-{}", r.deployment_name);
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
        let mount = d.volume_mounts.first().cloned().ok_or_else(|| bad("volume mount required"))?;
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
        if d.entrypoint_args.is_empty() || r.tags.is_empty() {
            return Err(bad("entrypoint and tags required"));
        }
        let id = self.id("sb");
        let dir = self.root.path().join(&id);
        let ws = self.root.path().join("volumes").join(&mount.volume_id).join(mount.sub_path.unwrap_or_default());
        std::fs::create_dir_all(&ws).map_err(|e| Status::internal(e.to_string()))?;
        for sub in ["tmp", "home"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| Status::internal(e.to_string()))?;
        }
        std::os::unix::fs::symlink(&ws, dir.join("workspace")).map_err(|e| Status::internal(e.to_string()))?;
        let task_id = self.id("ta");
        let mut st = self.st();
        st.creates.push(r.clone());
        st.sandboxes
            .insert(id.clone(), FakeSandbox { dir, tags: r.tags, terminated: false, task_id, execs: Vec::new() });
        if st.ghost_creates {
            return Err(Status::unavailable("injected: created, but the answer was lost"));
        }
        Ok(Response::new(SandboxCreateResponse { sandbox_id: id }))
    }

    async fn sandbox_get_task_id(&self, req: Request<SandboxGetTaskIdRequest>) -> Res<SandboxGetTaskIdResponse> {
        self.enter("SandboxGetTaskId", &req)?;
        let st = self.st();
        let sb = st.sandboxes.get(&req.get_ref().sandbox_id).ok_or_else(|| Status::not_found("no such sandbox"))?;
        if sb.terminated {
            let done = GenericResult { status: generic_result::GenericStatus::Terminated as i32, ..Default::default() };
            return Ok(Response::new(SandboxGetTaskIdResponse { task_id: None, task_result: Some(done) }));
        }
        Ok(Response::new(SandboxGetTaskIdResponse { task_id: Some(sb.task_id.clone()), task_result: None }))
    }

    async fn container_exec(&self, req: Request<ContainerExecRequest>) -> Res<ContainerExecResponse> {
        self.enter("ContainerExec", &req)?;
        let r = req.into_inner();
        if r.command.is_empty() || r.stdout_output != ExecOutputOption::Pipe as i32 || r.workdir.is_none() {
            return Err(bad("command, piped output and workdir required"));
        }
        let (dir, env) = {
            let mut st = self.st();
            st.execs_requested.push(r.clone());
            let sb = st.sandboxes.values().find(|s| s.task_id == r.task_id && !s.terminated);
            let dir = sb.map(|s| s.dir.clone()).ok_or_else(|| Status::not_found("no such task"))?;
            let mut env = Vec::new();
            for id in &r.secret_ids {
                let vars = st.secrets.get(id).ok_or_else(|| bad("unknown secret"))?;
                env.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            (dir, env)
        };
        let exec = fake_modal_exec::spawn(&dir, &r.command, r.workdir.as_deref().unwrap_or("/"), env)
            .map_err(|e| Status::internal(e.to_string()))?;
        let id = self.id("ex");
        let mut st = self.st();
        st.execs.insert(id.clone(), exec.clone());
        if let Some(sb) = st.sandboxes.values_mut().find(|s| s.task_id == r.task_id) {
            sb.execs.push(exec);
        }
        Ok(Response::new(ContainerExecResponse { exec_id: id }))
    }

    type ContainerExecGetOutputStream = BoxStream<RuntimeOutputBatch>;
    async fn container_exec_get_output(
        &self,
        req: Request<ContainerExecGetOutputRequest>,
    ) -> Res<Self::ContainerExecGetOutputStream> {
        self.enter("ContainerExecGetOutput", &req)?;
        let r = req.into_inner();
        let exec = self.exec(&r.exec_id)?;
        let fd = match FileDescriptor::try_from(r.file_descriptor) {
            Ok(FileDescriptor::Stdout) => 0,
            Ok(FileDescriptor::Stderr) => 1,
            _ => return Err(bad("file descriptor must be stdout or stderr")),
        };
        if !r.get_raw_bytes {
            return Err(bad("this fake serves raw bytes only"));
        }
        let drop_after = self.st().drop_output_after;
        let me = self.clone();
        let timeout = Duration::from_secs_f32(r.timeout.clamp(0.1, 55.0));
        let stream = async_stream::stream! {
            let mut next = r.last_batch_index as usize;
            let mut sent = 0usize;
            let mut rx = exec.changed.subscribe();
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                let pending: Vec<RuntimeOutputBatch> = exec.batches[fd].lock().unwrap().get(next..).unwrap_or_default().to_vec();
                for b in pending {
                    if drop_after.is_some_and(|n| sent >= n) {
                        me.st().output_drops += 1;
                        yield Err(Status::unavailable("injected stream drop"));
                        return;
                    }
                    next = b.batch_index as usize;
                    sent += 1;
                    let last = b.exit_code.is_some();
                    yield Ok(b);
                    if last {
                        return;
                    }
                }
                if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                    return;
                }
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }

    async fn container_exec_put_input(&self, req: Request<ContainerExecPutInputRequest>) -> Res<()> {
        self.enter("ContainerExecPutInput", &req)?;
        let r = req.into_inner();
        let exec = self.exec(&r.exec_id)?;
        let input = r.input.ok_or_else(|| bad("input required"))?;
        {
            let mut next = exec.next_input.lock().unwrap();
            if input.message_index < *next {
                return Ok(Response::new(())); // a retried message: already written
            }
            if input.message_index != *next {
                return Err(bad("stdin message out of order"));
            }
            *next += 1;
        }
        let mut stdin = exec.stdin.lock().await;
        if let Some(w) = stdin.as_mut()
            && !input.message.is_empty()
        {
            w.write_all(&input.message).await.map_err(|e| Status::internal(e.to_string()))?;
        }
        if input.eof {
            *stdin = None;
        }
        Ok(Response::new(()))
    }

    async fn container_exec_wait(&self, req: Request<ContainerExecWaitRequest>) -> Res<ContainerExecWaitResponse> {
        self.enter("ContainerExecWait", &req)?;
        let r = req.into_inner();
        let exec = self.exec(&r.exec_id)?;
        let mut rx = exec.changed.subscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_secs_f32(r.timeout.clamp(0.0, 55.0));
        loop {
            if let Some(code) = *exec.exit.lock().unwrap() {
                return Ok(Response::new(ContainerExecWaitResponse { exit_code: Some(code), completed: true }));
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                return Ok(Response::new(ContainerExecWaitResponse { exit_code: None, completed: false }));
            }
        }
    }

    async fn sandbox_terminate(&self, req: Request<SandboxTerminateRequest>) -> Res<SandboxTerminateResponse> {
        self.enter("SandboxTerminate", &req)?;
        let mut st = self.st();
        let sb = st.sandboxes.get_mut(&req.get_ref().sandbox_id).ok_or_else(|| Status::not_found("no such sandbox"))?;
        sb.terminated = true;
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
        let result = sb
            .terminated
            .then(|| GenericResult { status: generic_result::GenericStatus::Terminated as i32, ..Default::default() });
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
}
