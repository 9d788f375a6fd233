//! Processes, terminals and port connections another instance opens in one of this
//! host's sandboxes, each over a WebSocket (the other side is `remote::session`): what
//! this host started ends when the socket goes.

use axum::{
    extract::{
        State,
        ws::{Message, WebSocket, WebSocketUpgrade},
    },
    response::Response,
};
use futures::{SinkExt, StreamExt};
use sandboxql_backend::{
    ExternalId,
    process::{ProcessControl, ProcessRequest},
    remote::wire::{Dial, ProcessFrame, ProcessStart},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::InternalState;
use crate::error::{AppError, WireError};

/// SIGKILL, for a process whose asking instance went away.
const SIGKILL: i32 = 9;
/// Bytes read from a port connection at once.
const CHUNK: usize = 64 * 1024;

fn text(frame: &impl serde::Serialize) -> Message {
    Message::text(serde_json::to_string(frame).unwrap_or_default())
}

/// `GET /internal/v1/process` (a WebSocket).
pub(super) async fn process(State(s): State<InternalState>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| relay_process(s, socket))
}

async fn relay_process(s: InternalState, socket: WebSocket) {
    let (mut sink, mut source) = socket.split();
    let Some(Ok(Message::Text(t))) = source.next().await else { return };
    let started = async {
        let start: ProcessStart =
            serde_json::from_str(&t).map_err(|e| AppError::bad_input(format!("a bad process: {e}")))?;
        let procs = s.backend.processes().ok_or_else(|| AppError::bad_input("this host has no processes"))?;
        let req = ProcessRequest { argv: start.argv, env: start.env, cwd: start.cwd, tty: start.tty, nice: start.nice };
        procs.start_process(&ExternalId::from(start.ext.as_str()), req).await
    };
    let mut handle = match started.await {
        Ok(h) => h,
        Err(e) => {
            let _ = sink.send(text(&ProcessFrame::Failed(WireError::from(&e)))).await;
            return;
        }
    };
    if sink.send(text(&ProcessFrame::Started)).await.is_err() {
        let _ = handle.control.send(ProcessControl::Signal(SIGKILL)).await;
        return;
    }
    let mut output_open = true;
    loop {
        tokio::select! {
            out = handle.output.recv(), if output_open => match out {
                Some(bytes) => if sink.send(Message::binary(bytes)).await.is_err() { break; },
                None => output_open = false,
            },
            exit = &mut handle.exit => {
                // What is still queued goes out before the exit.
                while let Ok(bytes) = handle.output.try_recv() {
                    let _ = sink.send(Message::binary(bytes)).await;
                }
                if let Ok(exit) = exit {
                    let _ = sink.send(text(&ProcessFrame::Exited(exit))).await;
                }
                let _ = sink.close().await;
                return;
            }
            msg = source.next() => match msg {
                Some(Ok(Message::Binary(b))) => {
                    if let Some(input) = &handle.input { let _ = input.send(b.to_vec()).await; }
                }
                Some(Ok(Message::Text(t))) => {
                    if let Ok(ctl) = serde_json::from_str::<ProcessControl>(&t) { let _ = handle.control.send(ctl).await; }
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => break,
            }
        }
    }
    let _ = handle.control.send(ProcessControl::Signal(SIGKILL)).await;
}

/// `GET /internal/v1/dial` (a WebSocket).
pub(super) async fn dial(State(s): State<InternalState>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| relay_port(s, socket))
}

async fn relay_port(s: InternalState, socket: WebSocket) {
    let (mut sink, mut source) = socket.split();
    let Some(Ok(Message::Text(t))) = source.next().await else { return };
    let dialled = async {
        let d: Dial = serde_json::from_str(&t).map_err(|e| AppError::bad_input(format!("a bad dial: {e}")))?;
        let ports = s.backend.ports().ok_or_else(|| AppError::bad_input("this host has no ports"))?;
        ports.dial(&ExternalId::from(d.ext.as_str()), d.port).await
    };
    let conn = match dialled.await {
        Ok(c) => c,
        Err(e) => {
            let _ = sink.send(text(&Some(WireError::from(&e)))).await;
            return;
        }
    };
    if sink.send(text(&None::<WireError>)).await.is_err() {
        return;
    }
    let (mut read, mut write) = tokio::io::split(conn);
    let mut buf = vec![0u8; CHUNK];
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
}
