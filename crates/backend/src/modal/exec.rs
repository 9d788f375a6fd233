//! Commands in a Modal sandbox through its task command router, as the official client
//! runs them:
//! `TaskExecStart` with an exec id chosen here (so a retried start starts one process),
//! one `TaskExecStdioRead` stream per descriptor re-opened from the byte offset reached
//! after any drop (nothing lost or repeated), `TaskExecStdinWrite` at increasing offsets
//! and `TaskExecWait` for the exit status.

use std::{collections::HashMap, sync::Arc};

use tokio::sync::mpsc;
use uuid::Uuid;

pub(super) use super::stdin::Stdin;

use super::{
    client::is_retryable_read,
    proto::{PtyInfo, SecretSource, StringMap, secret_source},
    router::Router,
    router_proto::{
        TaskExecStartRequest, TaskExecStderrConfig, TaskExecStdioFileDescriptor, TaskExecStdioReadRequest,
        TaskExecStdoutConfig, TaskExecWaitRequest, task_exec_wait_response::ExitStatus,
    },
    stdin::send_stdin,
};
use crate::error::{AppError, AppResult};

/// How long one `TaskExecWait` may block (the official client's per-call deadline).
const WAIT_CALL: std::time::Duration = std::time::Duration::from_secs(60);
/// Pause before asking again after a router that did not answer (the official client's).
const WAIT_AGAIN: std::time::Duration = std::time::Duration::from_secs(1);
/// How long an output stream must have stayed open for its drop to count as progress.
const HELD: std::time::Duration = std::time::Duration::from_secs(1);

/// What a running remote command produces, in arrival order per stream.
#[derive(Debug)]
pub(super) enum RawOutput {
    /// Bytes of standard output.
    Stdout(Vec<u8>),
    /// Bytes of standard error.
    Stderr(Vec<u8>),
    /// The exit code (128 + signal when killed; None when unknown).
    Exited(Option<i32>),
    /// The connection to Modal was lost for good; the command's fate is unknown.
    Lost(AppError),
}

/// A started remote command.
pub(super) struct Started {
    /// Output in arrival order, ending with `Exited` or `Lost`.
    pub output: mpsc::Receiver<RawOutput>,
    /// Delivery of stdin; a failure here means the command never saw all its input.
    pub stdin: tokio::task::JoinHandle<AppResult<()>>,
}

/// `env` as the one inline secret source the official client's `_secret_sources` makes
/// of it (none when empty).
fn env_source(env: HashMap<String, String>) -> Vec<SecretSource> {
    if env.is_empty() {
        return Vec::new();
    }
    vec![SecretSource { source: Some(secret_source::Source::Env(StringMap { contents: env })) }]
}

/// Starts `command` in the router's task with `env` set for it alone, passed the way the
/// official client passes an exec's `env=` (`secret_sources=[{env: …}]`; the request's
/// own `env` field is never sent by it).
pub(super) async fn start(
    router: &Arc<Router>,
    command: Vec<String>,
    workdir: &str,
    env: HashMap<String, String>,
    stdin: Stdin,
) -> AppResult<Started> {
    start_on(router, command, workdir, env, stdin, None).await
}

/// [`start`] on a terminal of `pty` (as `Sandbox.exec(..., pty=True)` starts it): all
/// output comes on stdout.
pub(super) async fn start_on(
    router: &Arc<Router>,
    command: Vec<String>,
    workdir: &str,
    env: HashMap<String, String>,
    stdin: Stdin,
    pty: Option<PtyInfo>,
) -> AppResult<Started> {
    let exec_id = Uuid::new_v4().to_string();
    let req = TaskExecStartRequest {
        task_id: router.task_id.clone(),
        exec_id: exec_id.clone(),
        command_args: command,
        stdout_config: TaskExecStdoutConfig::Pipe as i32,
        stderr_config: TaskExecStderrConfig::Pipe as i32,
        timeout_secs: None,
        workdir: Some(workdir.to_string()),
        secret_ids: Vec::new(),
        pty_info: pty,
        container_id: String::new(),
        env: HashMap::new(),
        secret_sources: env_source(env),
    };
    // The same request, exec id included, on every attempt: Modal starts it once.
    router
        .call("TaskExecStart", |mut api| {
            let req = req.clone();
            async move { api.task_exec_start(req).await }
        })
        .await
        .map_err(|e| match e {
            // The task is gone (its sandbox ended): not a missing file.
            AppError::NotFound(_) => AppError::provider(
                "the sandbox is not running; try again",
                format!("modal TaskExecStart: task {} not found", router.task_id),
            ),
            e => e,
        })?;
    let (tx, rx) = mpsc::channel(64);
    let (r, id) = (router.clone(), exec_id.clone());
    let stdin = tokio::spawn(async move { send_stdin(&r, &id, stdin).await });
    let r = router.clone();
    tokio::spawn(async move { follow(r, exec_id, tx).await });
    Ok(Started { output: rx, stdin })
}

/// Reads both output streams to their end while waiting for the exit (as the official
/// client's `wait()` does beside its readers), then reports the exit after the last byte.
/// Output that cannot be read any more ends it at once, as lost.
async fn follow(router: Arc<Router>, exec_id: String, tx: mpsc::Sender<RawOutput>) {
    let outputs = async {
        let out = read_fd(&router, &exec_id, TaskExecStdioFileDescriptor::Stdout, &tx);
        let err = read_fd(&router, &exec_id, TaskExecStdioFileDescriptor::Stderr, &tx);
        let (out, err) = tokio::join!(out, err);
        out.and(err)
    };
    let waiting = wait(&router, &exec_id);
    tokio::pin!(outputs, waiting);
    let mut exited = None;
    let read = loop {
        tokio::select! {
            r = &mut outputs => break r,
            code = &mut waiting, if exited.is_none() => exited = Some(code),
        }
    };
    let code = match (read, exited) {
        (Err(e), _) => Err(e),
        (Ok(()), Some(code)) => code,
        (Ok(()), None) => waiting.await,
    };
    let end = match code {
        Ok(code) => RawOutput::Exited(code),
        Err(e) => RawOutput::Lost(e),
    };
    let _ = tx.send(end).await;
}

/// Follows one descriptor to its end, re-opening at the byte offset reached whenever the
/// stream drops; gives up after the configured number of drops in a row that brought no
/// data and lasted less than [`HELD`] (a quiet stream that stayed open, as stderr of a
/// command that writes none, was fine until its router restarted).
async fn read_fd(
    router: &Router,
    exec_id: &str,
    fd: TaskExecStdioFileDescriptor,
    tx: &mpsc::Sender<RawOutput>,
) -> AppResult<()> {
    let client = router.client();
    let (mut offset, mut fruitless, mut delay) = (0u64, 0u32, client.base_delay());
    loop {
        let req = TaskExecStdioReadRequest {
            task_id: router.task_id.clone(),
            exec_id: exec_id.to_string(),
            offset,
            file_descriptor: fd as i32,
        };
        let opened = router
            .call_raw("TaskExecStdioRead", |mut api| {
                let req = req.clone();
                async move { api.task_exec_stdio_read(req).await }
            })
            .await;
        let opened_at = tokio::time::Instant::now();
        let mut progressed = false;
        let mut stream = match opened {
            Ok(stream) => Some(stream),
            // A router restarting can fail an open in ways a single call does not retry.
            Err((s, _)) if is_retryable_read(&s) => None,
            Err((_, e)) => return Err(e),
        };
        while let Some(open) = stream.as_mut() {
            match open.message().await {
                Ok(Some(msg)) if msg.data.is_empty() => {}
                Ok(Some(msg)) => {
                    progressed = true;
                    offset += msg.data.len() as u64;
                    let out = match fd {
                        TaskExecStdioFileDescriptor::Stderr => RawOutput::Stderr(msg.data),
                        TaskExecStdioFileDescriptor::Stdout => RawOutput::Stdout(msg.data),
                    };
                    if tx.send(out).await.is_err() {
                        return Ok(());
                    }
                }
                // A stream that ends normally is the end of the output (libmodal's EOF).
                Ok(None) => return Ok(()),
                Err(s) if is_retryable_read(&s) => {
                    tracing::debug!(exec_id, offset, code = ?s.code(), "Modal exec output dropped; resuming");
                    break;
                }
                Err(s) => return Err(super::client::to_app_error("TaskExecStdioRead", &s)),
            }
        }
        progressed |= opened_at.elapsed() >= HELD;
        fruitless = if progressed { 0 } else { fruitless + 1 };
        if fruitless >= client.max_attempts() {
            return Err(AppError::provider(
                "the sandbox provider is unavailable; try again",
                format!("modal exec {exec_id}: output stream keeps dropping without data"),
            ));
        }
        if progressed {
            delay = client.base_delay();
        } else {
            client.pause(&mut delay).await;
        }
    }
}

/// Waits for the exit status as Modal's official client does
/// (`_task_command_router_client.py`, `exec_wait`): one `TaskExecWait` at a time, each
/// bounded by [`WAIT_CALL`], asked again after a fixed pause ([`WAIT_AGAIN`], or the
/// configured backoff cap if shorter) whenever it ends without an exit — its deadline
/// passed, the router dropped it or was away — however long the command runs. Only an
/// answer that is not retryable (NOT_FOUND: the task is gone) ends the wait without an
/// exit.
async fn wait(router: &Router, exec_id: &str) -> AppResult<Option<i32>> {
    let req = TaskExecWaitRequest { task_id: router.task_id.clone(), exec_id: exec_id.to_string() };
    let pause = WAIT_AGAIN.min(router.client().max_delay());
    loop {
        let answer = router
            .call_attempts("TaskExecWait", 1, |mut api| {
                let mut call = tonic::Request::new(req.clone());
                call.set_timeout(WAIT_CALL);
                async move { api.task_exec_wait(call).await }
            })
            .await;
        match answer {
            Ok(resp) => match resp.exit_status {
                Some(ExitStatus::Code(c)) => return Ok(Some(c)),
                Some(ExitStatus::Signal(s)) => return Ok(Some(128 + s)),
                None => {}
            },
            Err((s, _)) if is_retryable_read(&s) => {}
            Err((_, e)) => return Err(e),
        }
        tokio::time::sleep(pause).await;
    }
}
