//! A command's standard input through the router: bytes, a stream or chunks as they
//! arrive, each written at increasing byte offsets (a retried write at a known offset is
//! taken once), then EOF.

use tokio::{io::AsyncReadExt, sync::mpsc};

use super::{router::Router, router_proto::TaskExecStdinWriteRequest};
use crate::{error::AppResult, storage::Upload};

/// Size of one stdin message (well under gRPC's 4 MiB default limit).
const STDIN_CHUNK: usize = 1024 * 1024;

/// How often an empty line goes to a conversation's input while nothing else does: the
/// command's wrapper drops them, and ends the input once they stop (the server is gone).
pub(super) const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// Input for a command.
pub(super) enum Stdin {
    /// Closed at once.
    Closed,
    /// These bytes, then closed.
    Bytes(Vec<u8>),
    /// A stream, then closed.
    Stream(Upload),
    /// Chunks sent as each arrives (an interactive conversation), closed when the sender
    /// is dropped.
    Chunks(mpsc::Receiver<Vec<u8>>),
    /// Like `Chunks`, with an empty line every [`HEARTBEAT`] while nothing else comes
    /// (a conversation's input, behind a wrapper that drops them).
    Heartbeat(mpsc::Receiver<Vec<u8>>),
}

/// Writes stdin at increasing byte offsets, then EOF.
pub(super) async fn send_stdin(router: &Router, exec_id: &str, stdin: Stdin) -> AppResult<()> {
    let mut offset = 0u64;
    match stdin {
        Stdin::Closed => {}
        Stdin::Bytes(data) => {
            for chunk in data.chunks(STDIN_CHUNK) {
                put(router, exec_id, chunk.to_vec(), offset, false).await?;
                offset += chunk.len() as u64;
            }
        }
        Stdin::Chunks(mut rx) => {
            while let Some(data) = rx.recv().await {
                for chunk in data.chunks(STDIN_CHUNK) {
                    put(router, exec_id, chunk.to_vec(), offset, false).await?;
                    offset += chunk.len() as u64;
                }
            }
        }
        Stdin::Heartbeat(mut rx) => loop {
            let data = match tokio::time::timeout(HEARTBEAT, rx.recv()).await {
                Ok(Some(data)) => data,
                Ok(None) => break,
                Err(_) => b"\n".to_vec(),
            };
            for chunk in data.chunks(STDIN_CHUNK) {
                put(router, exec_id, chunk.to_vec(), offset, false).await?;
                offset += chunk.len() as u64;
            }
        },
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
            put(router, exec_id, buf, offset, false).await?;
            offset += filled as u64;
        },
    }
    put(router, exec_id, Vec::new(), offset, true).await
}

async fn put(router: &Router, exec_id: &str, data: Vec<u8>, offset: u64, eof: bool) -> AppResult<()> {
    let req =
        TaskExecStdinWriteRequest { task_id: router.task_id.clone(), exec_id: exec_id.to_string(), offset, data, eof };
    router
        .call("TaskExecStdinWrite", |mut api| {
            let req = req.clone();
            async move { api.task_exec_stdin_write(req).await }
        })
        .await?;
    Ok(())
}
