//! The fake task command router: exec by client-chosen id (a repeated start with a known
//! id starts nothing), output served from any byte offset (and dropped on demand after a
//! number of messages), stdin by offset, exit status by wait or poll.

use std::time::Duration;

use sandboxql::backend::modal::router_proto::{
    task_command_router_server::TaskCommandRouter, task_exec_poll_response, task_exec_wait_response, *,
};
use tokio::io::AsyncWriteExt;
use tonic::{Request, Response, Status};

use super::{fake_modal::FakeModal, fake_modal_api::BoxStream, fake_modal_exec};

type Res<T> = Result<Response<T>, Status>;

/// Largest piece of output sent in one message.
const PIECE: usize = 4096;

#[tonic::async_trait]
impl TaskCommandRouter for FakeModal {
    async fn task_exec_start(&self, req: Request<TaskExecStartRequest>) -> Res<TaskExecStartResponse> {
        self.enter_router("TaskExecStart", &req)?;
        let r = req.into_inner();
        if r.command_args.is_empty() || r.exec_id.is_empty() || r.stdout_config != TaskExecStdoutConfig::Pipe as i32 {
            return Err(Status::invalid_argument("command, exec id and piped stdout required"));
        }
        // The official client passes `env=` as an inline secret source, never in `env`.
        if !r.env.is_empty() {
            return Err(Status::invalid_argument("TaskExecStartRequest.env: no official client sends it"));
        }
        let dir = {
            let mut st = self.st();
            st.execs_requested.push(r.clone());
            if st.execs.contains_key(&r.exec_id) {
                return Ok(Response::new(TaskExecStartResponse {})); // idempotent: already started
            }
            let sb = st.sandboxes.values().find(|s| s.task_id == r.task_id && !s.terminated);
            let sb = sb.ok_or_else(|| Status::not_found("no such task"))?;
            (sb.dir.clone(), sb.mounts.clone(), r.workdir.clone().unwrap_or_else(|| sb.workdir.clone()))
        };
        let mut env = secret_env(&r.secret_sources)?;
        // As Modal does for a `pty=True` exec: TERM (and COLORTERM) from its PTYInfo.
        if let Some(p) = r.pty_info.as_ref().filter(|p| p.enabled) {
            env.push(("TERM".into(), p.env_term.clone()));
            if !p.env_colorterm.is_empty() {
                env.push(("COLORTERM".into(), p.env_colorterm.clone()));
            }
        }
        let pty = r.pty_info.as_ref().filter(|p| p.enabled).map(|p| (p.winsz_rows as u16, p.winsz_cols as u16));
        let exec = fake_modal_exec::spawn(&dir.0, &dir.1, &r.command_args, &dir.2, env, pty)
            .map_err(|e| Status::internal(e.to_string()))?;
        {
            let mut st = self.st();
            st.spawned += 1;
            st.execs.insert(r.exec_id.clone(), exec.clone());
            if let Some(sb) = st.sandboxes.values_mut().find(|s| s.task_id == r.task_id) {
                sb.execs.push(exec);
            }
        }
        self.lose_answer("TaskExecStart")?;
        Ok(Response::new(TaskExecStartResponse {}))
    }

    type TaskExecStdioReadStream = BoxStream<TaskExecStdioReadResponse>;
    async fn task_exec_stdio_read(&self, req: Request<TaskExecStdioReadRequest>) -> Res<Self::TaskExecStdioReadStream> {
        self.enter_router("TaskExecStdioRead", &req)?;
        let r = req.into_inner();
        let exec = self.exec(&r.exec_id)?;
        let fd = match TaskExecStdioFileDescriptor::try_from(r.file_descriptor) {
            Ok(TaskExecStdioFileDescriptor::Stdout) => 0,
            Ok(TaskExecStdioFileDescriptor::Stderr) => 1,
            Err(_) => return Err(Status::invalid_argument("bad file descriptor")),
        };
        let drop_after = self.st().drop_output_after;
        let me = self.clone();
        let stream = async_stream::stream! {
            let mut offset = r.offset as usize;
            let mut sent = 0usize;
            let mut rx = exec.changed.subscribe();
            loop {
                let done = exec.exit.lock().unwrap().is_some();
                let pending: Vec<u8> = exec.output[fd].lock().unwrap().get(offset..).unwrap_or_default().to_vec();
                for piece in pending.chunks(PIECE) {
                    if drop_after.is_some_and(|n| sent >= n) {
                        me.st().output_drops += 1;
                        yield Err(Status::unavailable("injected stream drop"));
                        return;
                    }
                    offset += piece.len();
                    sent += 1;
                    yield Ok(TaskExecStdioReadResponse { data: piece.to_vec() });
                }
                if done && offset >= exec.output[fd].lock().unwrap().len() {
                    return;
                }
                let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }

    async fn task_exec_stdin_write(&self, req: Request<TaskExecStdinWriteRequest>) -> Res<TaskExecStdinWriteResponse> {
        self.enter_router("TaskExecStdinWrite", &req)?;
        let r = req.into_inner();
        let exec = self.exec(&r.exec_id)?;
        let skip = {
            let mut written = exec.stdin_written.lock().unwrap();
            if r.offset > *written {
                return Err(Status::invalid_argument("stdin offset beyond what was written"));
            }
            let skip = ((*written - r.offset) as usize).min(r.data.len());
            *written += (r.data.len() - skip) as u64;
            skip
        };
        let mut stdin = exec.stdin.lock().await;
        if let Some(w) = stdin.as_mut()
            && skip < r.data.len()
        {
            w.write_all(&r.data[skip..]).await.map_err(|e| Status::internal(e.to_string()))?;
        }
        // A terminal's input is its master: closing it would hang the terminal up.
        if r.eof && !exec.pty {
            *stdin = None;
        }
        Ok(Response::new(TaskExecStdinWriteResponse {}))
    }

    async fn task_exec_wait(&self, req: Request<TaskExecWaitRequest>) -> Res<TaskExecWaitResponse> {
        self.enter_router("TaskExecWait", &req)?;
        // The official client bounds every wait (60 s) and asks again.
        let deadline = req.metadata().get("grpc-timeout").and_then(|v| v.to_str().ok()).and_then(grpc_timeout);
        match deadline {
            Some(d) if d <= Duration::from_secs(60) => {}
            _ => return Err(Status::invalid_argument("TaskExecWait needs a deadline of at most 60 s")),
        }
        let cutoff = self.st().wait_call_ms.map(Duration::from_millis);
        let ends = tokio::time::Instant::now() + cutoff.unwrap_or(Duration::from_secs(60));
        let exec = self.exec(&req.get_ref().exec_id)?;
        let mut rx = exec.changed.subscribe();
        loop {
            if let Some(code) = *exec.exit.lock().unwrap() {
                let status = task_exec_wait_response::ExitStatus::Code(code);
                return Ok(Response::new(TaskExecWaitResponse { exit_status: Some(status) }));
            }
            if tokio::time::Instant::now() >= ends {
                return Err(Status::deadline_exceeded("the wait's deadline passed; ask again"));
            }
            let _ = tokio::time::timeout_at(
                ends.min(tokio::time::Instant::now() + Duration::from_millis(200)),
                rx.changed(),
            )
            .await;
        }
    }

    async fn task_set_network_access(
        &self,
        req: Request<TaskSetNetworkAccessRequest>,
    ) -> Res<TaskSetNetworkAccessResponse> {
        self.enter_router("TaskSetNetworkAccess", &req)?;
        let r = req.into_inner();
        let access = r.network_access.ok_or_else(|| Status::invalid_argument("network_access required"))?;
        let mut st = self.st();
        if !st.sandboxes.values().any(|s| s.task_id == r.task_id && !s.terminated) {
            return Err(Status::not_found("no such task"));
        }
        st.network_changes.push((r.task_id, access));
        Ok(Response::new(TaskSetNetworkAccessResponse {}))
    }

    async fn task_exec_poll(&self, req: Request<TaskExecPollRequest>) -> Res<TaskExecPollResponse> {
        self.enter_router("TaskExecPoll", &req)?;
        let exec = self.exec(&req.get_ref().exec_id)?;
        let code = *exec.exit.lock().unwrap();
        Ok(Response::new(TaskExecPollResponse { exit_status: code.map(task_exec_poll_response::ExitStatus::Code) }))
    }
}

/// The variables of inline secret sources (this fake stores no named secrets for execs).
fn secret_env(sources: &[sandboxql::backend::modal::proto::SecretSource]) -> Result<Vec<(String, String)>, Status> {
    use sandboxql::backend::modal::proto::secret_source::Source;
    let mut env = Vec::new();
    for s in sources {
        match &s.source {
            Some(Source::Env(map)) => env.extend(map.contents.clone()),
            _ => return Err(Status::invalid_argument("only inline secret sources here")),
        }
    }
    Ok(env)
}

/// A `grpc-timeout` header value (`60S`, `59999m`, …) as a duration.
fn grpc_timeout(v: &str) -> Option<Duration> {
    let (n, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}
