//! Processes, terminals and port connections of a sandbox on another host, each over a
//! WebSocket to an instance there: a process's output as binary frames and its start and
//! exit as text frames, its input and controls the other way; a port connection as binary
//! frames both ways, handed to the caller as a byte stream. The host ends what it started
//! when the socket goes, so nothing runs on without an instance that reads it.

use futures::{SinkExt, StreamExt};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    sync::{mpsc, oneshot},
};
use tokio_tungstenite::tungstenite::Message;

use super::{
    client::{Remote, unavailable},
    wire::{Dial, ProcessFrame, ProcessStart},
};
use crate::{
    capabilities::PortStream,
    error::AppResult,
    process::{ProcessControl, ProcessExit, ProcessHandle},
};

/// Output chunks and inputs queued per forwarded process.
const QUEUE: usize = 64;
/// Bytes a forwarded port connection buffers each way.
const PIPE_BYTES: usize = 64 * 1024;

impl Remote {
    /// Starts a process on the host.
    pub async fn start_process(&self, url: &str, start: ProcessStart) -> AppResult<ProcessHandle> {
        let has_tty = start.tty.is_some();
        let mut ws = self.socket(url, "process").await?;
        ws.send(Message::text(serde_json::to_string(&start)?)).await.map_err(unavailable)?;
        match ws.next().await {
            Some(Ok(Message::Text(t))) => match serde_json::from_str::<ProcessFrame>(&t) {
                Ok(ProcessFrame::Started) => {}
                Ok(ProcessFrame::Failed(e)) => return Err(e.into_app_error()),
                _ => return Err(unavailable("an unexpected first frame")),
            },
            _ => return Err(unavailable("the host closed before the process started")),
        }
        let (out_tx, out_rx) = mpsc::channel(QUEUE);
        let (in_tx, mut in_rx) = mpsc::channel::<Vec<u8>>(QUEUE);
        let (ctl_tx, mut ctl_rx) = mpsc::channel::<ProcessControl>(QUEUE);
        let (exit_tx, exit_rx) = oneshot::channel();
        let (mut sink, mut source) = ws.split();
        tokio::spawn(async move {
            let mut exit_tx = Some(exit_tx);
            loop {
                tokio::select! {
                    Some(bytes) = in_rx.recv() => { if sink.send(Message::binary(bytes)).await.is_err() { break; } }
                    Some(ctl) = ctl_rx.recv() => {
                        let Ok(text) = serde_json::to_string(&ctl) else { continue };
                        if sink.send(Message::text(text)).await.is_err() { break; }
                    }
                    msg = source.next() => match msg {
                        Some(Ok(Message::Binary(b))) => { let _ = out_tx.send(b.to_vec()).await; }
                        Some(Ok(Message::Text(t))) => {
                            if let Ok(ProcessFrame::Exited(exit)) = serde_json::from_str::<ProcessFrame>(&t) {
                                if let Some(tx) = exit_tx.take() { let _ = tx.send(exit); }
                                break;
                            }
                        }
                        Some(Ok(_)) => {}
                        None | Some(Err(_)) => break,
                    }
                }
            }
            // The host went away: the process is gone with it.
            if let Some(tx) = exit_tx.take() {
                let _ = tx.send(ProcessExit { code: None });
            }
        });
        Ok(ProcessHandle { output: out_rx, input: has_tty.then_some(in_tx), control: ctl_tx, exit: exit_rx })
    }

    /// A connection to a port of the sandbox, relayed by the host.
    pub async fn dial(&self, url: &str, dial: Dial) -> AppResult<PortStream> {
        let mut ws = self.socket(url, "dial").await?;
        ws.send(Message::text(serde_json::to_string(&dial)?)).await.map_err(unavailable)?;
        match ws.next().await {
            Some(Ok(Message::Text(t))) => match serde_json::from_str::<Option<crate::error::WireError>>(&t) {
                Ok(None) => {}
                Ok(Some(e)) => return Err(e.into_app_error()),
                Err(_) => return Err(unavailable("an unexpected first frame")),
            },
            _ => return Err(unavailable("the host closed before the connection was made")),
        }
        let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
        let (mut read, mut write) = tokio::io::split(theirs);
        let (mut sink, mut source) = ws.split();
        tokio::spawn(async move {
            let mut buf = vec![0u8; PIPE_BYTES];
            loop {
                tokio::select! {
                    n = read.read(&mut buf) => match n {
                        Ok(0) | Err(_) => { let _ = sink.close().await; break; }
                        Ok(n) => if sink.send(Message::binary(buf[..n].to_vec())).await.is_err() { break; },
                    },
                    msg = source.next() => match msg {
                        Some(Ok(Message::Binary(b))) => if write.write_all(&b).await.is_err() { break; },
                        Some(Ok(_)) => {}
                        None | Some(Err(_)) => { let _ = write.shutdown().await; break; }
                    }
                }
            }
        });
        Ok(Box::new(ours))
    }
}
