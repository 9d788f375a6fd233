//! Commands in a Modal sandbox: `ContainerExec` to start, one `ContainerExecGetOutput`
//! stream per file descriptor (re-opened from the last batch index after a dropped
//! connection, so output is neither lost nor repeated), `ContainerExecPutInput` for
//! stdin and `ContainerExecWait` for the exit code.

use std::time::Duration;

use tokio::{io::AsyncReadExt, sync::mpsc};

use super::{
    client::{ModalClient, is_transient, rpc, to_app_error},
    proto::{
        ContainerExecGetOutputRequest, ContainerExecPutInputRequest, ContainerExecRequest, ContainerExecWaitRequest,
        ExecOutputOption, FileDescriptor, RuntimeInputMessage,
    },
};
use crate::{error::AppResult, storage::Upload};

/// Size of one stdin message (well under gRPC's 4 MiB default limit).
const STDIN_CHUNK: usize = 1024 * 1024;

/// What a running remote command produces, in arrival order per stream.
#[derive(Debug)]
pub(super) enum RawOutput {
    /// Bytes of standard output.
    Stdout(Vec<u8>),
    /// Bytes of standard error.
    Stderr(Vec<u8>),
    /// The exit code (None when Modal reports none, e.g. killed).
    Exited(Option<i32>),
    /// The connection to Modal was lost for good; the command's fate is unknown.
    Lost(crate::error::AppError),
}

/// Input for a command.
pub(super) enum Stdin {
    /// Closed at once.
    Closed,
    /// These bytes, then closed.
    Bytes(Vec<u8>),
    /// A stream, then closed.
    Stream(Upload),
}

/// A started remote command.
pub(super) struct Started {
    /// Output in arrival order, ending with `Exited` or `Lost`.
    pub output: mpsc::Receiver<RawOutput>,
    /// Delivery of stdin; a failure here means the command never saw all its input.
    pub stdin: tokio::task::JoinHandle<AppResult<()>>,
}

/// Starts `command` in task `task_id`.
pub(super) async fn start(
    client: &ModalClient,
    task_id: &str,
    command: Vec<String>,
    workdir: &str,
    secret_ids: Vec<String>,
    stdin: Stdin,
) -> AppResult<Started> {
    let req = ContainerExecRequest {
        task_id: task_id.to_string(),
        command,
        stdout_output: ExecOutputOption::Pipe as i32,
        stderr_output: ExecOutputOption::Pipe as i32,
        timeout_secs: 0,
        workdir: Some(workdir.to_string()),
        secret_ids,
    };
    let exec_id = rpc!(client, "ContainerExec", container_exec, req.clone()).await?.exec_id;
    let (tx, rx) = mpsc::channel(64);
    let (c, id) = (client.clone(), exec_id.clone());
    let stdin = tokio::spawn(async move { send_stdin(&c, &id, stdin).await });
    let (c, id) = (client.clone(), exec_id);
    tokio::spawn(async move { follow(c, id, tx).await });
    Ok(Started { output: rx, stdin })
}

/// Reads both output streams to their end, then reports the exit code.
async fn follow(client: ModalClient, exec_id: String, tx: mpsc::Sender<RawOutput>) {
    let out = read_fd(&client, &exec_id, FileDescriptor::Stdout, &tx);
    let err = read_fd(&client, &exec_id, FileDescriptor::Stderr, &tx);
    let (out, err) = tokio::join!(out, err);
    let end = match out.and(err) {
        Ok(()) => match wait(&client, &exec_id).await {
            Ok(code) => RawOutput::Exited(code),
            Err(e) => RawOutput::Lost(e),
        },
        Err(e) => RawOutput::Lost(e),
    };
    let _ = tx.send(end).await;
}

/// Follows one descriptor, resuming after `last_batch_index` whenever the stream drops.
async fn read_fd(
    client: &ModalClient,
    exec_id: &str,
    fd: FileDescriptor,
    tx: &mpsc::Sender<RawOutput>,
) -> AppResult<()> {
    let (mut last, mut fruitless, mut delay) = (0u64, 0u32, client.base_delay());
    loop {
        let req = ContainerExecGetOutputRequest {
            exec_id: exec_id.to_string(),
            timeout: 55.0,
            last_batch_index: last,
            file_descriptor: fd as i32,
            get_raw_bytes: true,
        };
        let mut stream = rpc!(client, "ContainerExecGetOutput", container_exec_get_output, req.clone()).await?;
        let mut progressed = false;
        loop {
            match stream.message().await {
                Ok(Some(batch)) => {
                    progressed = true;
                    for item in batch.items {
                        let data =
                            if item.message_bytes.is_empty() { item.message.into_bytes() } else { item.message_bytes };
                        let msg = if fd == FileDescriptor::Stderr {
                            RawOutput::Stderr(data)
                        } else {
                            RawOutput::Stdout(data)
                        };
                        if tx.send(msg).await.is_err() {
                            return Ok(());
                        }
                    }
                    last = last.max(batch.batch_index);
                    if batch.exit_code.is_some() {
                        return Ok(());
                    }
                }
                Ok(None) => break,
                Err(s) if is_transient(&s) => {
                    tracing::warn!(exec_id, last, code = ?s.code(), "Modal exec output stream dropped; resuming");
                    break;
                }
                Err(s) => return Err(to_app_error("ContainerExecGetOutput", &s)),
            }
        }
        fruitless = if progressed { 0 } else { fruitless + 1 };
        if fruitless >= client.max_attempts() {
            return Err(crate::error::AppError::provider(
                "the sandbox provider is unavailable; try again",
                format!("modal exec {exec_id}: output stream keeps ending without data"),
            ));
        }
        if !progressed {
            client.pause(&mut delay).await;
        } else {
            delay = client.base_delay();
        }
    }
}

/// Waits for the exit code (Modal answers within `timeout` whether or not it is done).
async fn wait(client: &ModalClient, exec_id: &str) -> AppResult<Option<i32>> {
    loop {
        let req = ContainerExecWaitRequest { exec_id: exec_id.to_string(), timeout: 55.0 };
        let resp = rpc!(client, "ContainerExecWait", container_exec_wait, req.clone()).await?;
        if resp.completed {
            return Ok(resp.exit_code);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes stdin in chunks with increasing message indexes, then EOF.
async fn send_stdin(client: &ModalClient, exec_id: &str, stdin: Stdin) -> AppResult<()> {
    let mut index = 1u64;
    match stdin {
        Stdin::Closed => {}
        Stdin::Bytes(data) => {
            for chunk in data.chunks(STDIN_CHUNK) {
                put(client, exec_id, chunk.to_vec(), index, false).await?;
                index += 1;
            }
        }
        Stdin::Stream(mut body) => loop {
            let mut buf = vec![0u8; STDIN_CHUNK];
            let mut filled = 0;
            while filled < buf.len() {
                let n = body.read(&mut buf[filled..]).await?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            buf.truncate(filled);
            put(client, exec_id, buf, index, false).await?;
            index += 1;
        },
    }
    put(client, exec_id, Vec::new(), index, true).await
}

async fn put(client: &ModalClient, exec_id: &str, message: Vec<u8>, message_index: u64, eof: bool) -> AppResult<()> {
    let req = ContainerExecPutInputRequest {
        exec_id: exec_id.to_string(),
        input: Some(RuntimeInputMessage { message, message_index, eof }),
    };
    rpc!(client, "ContainerExecPutInput", container_exec_put_input, req.clone()).await?;
    Ok(())
}
