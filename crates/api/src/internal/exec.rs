//! A command another instance runs in one of this host's sandboxes (a Claude run, a
//! sync's helper), over a WebSocket: the opening text frame says what, binary frames are
//! its input, `eof` closes the input, `cancel` kills it; each output line comes back as a
//! text frame. The command is killed when the socket goes, so nothing outlives the
//! instance that asked for it. Its environment gets this host's gateway variables.

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
    exec::{ExecOutput, ExecRequest},
    remote::wire::{CANCEL, ExecStart, STDIN_EOF},
};
use tokio::sync::mpsc;

use super::InternalState;
use crate::{
    config::Secret,
    error::{AppError, WireError},
};

/// Input chunks queued per forwarded command.
const STDIN_QUEUE: usize = 64;

/// `GET /internal/v1/exec` (a WebSocket).
pub(super) async fn exec(State(s): State<InternalState>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| relay(s, socket))
}

fn frame(item: Result<ExecOutput, &AppError>) -> Message {
    let item = item.map_err(WireError::from);
    Message::text(serde_json::to_string(&item).unwrap_or_default())
}

async fn relay(s: InternalState, socket: WebSocket) {
    let (mut sink, mut source) = socket.split();
    let start = match source.next().await {
        Some(Ok(Message::Text(t))) => serde_json::from_str::<ExecStart>(&t),
        _ => return,
    };
    let start = match start {
        Ok(start) => start,
        Err(e) => {
            let _ = sink.send(frame(Err(&AppError::bad_input(format!("a bad command: {e}"))))).await;
            return;
        }
    };
    // This host's gateway, not the caller's: the variables it sets are replaced.
    let own = s.backend.gateway_env();
    let mut env: Vec<(String, String)> =
        start.env.into_iter().filter(|(k, _)| !own.iter().any(|(o, _)| o == k)).collect();
    env.extend(own);
    let (stdin_tx, stdin_rx) = mpsc::channel::<Vec<u8>>(STDIN_QUEUE);
    let mut stdin_tx = start.stdin.then_some(stdin_tx);
    let req = ExecRequest {
        argv: start.argv,
        env,
        secret_env: start.secret_env.into_iter().map(|(k, v)| (k, Secret(v))).collect(),
        stdin: stdin_tx.is_some().then_some(stdin_rx),
        max_line_bytes: start.max_line_bytes,
        nice: start.nice,
        conversation: start.conversation,
    };
    let mut handle = match s.backend.exec(&ExternalId::from(start.ext.as_str()), req).await {
        Ok(h) => h,
        Err(e) => {
            let _ = sink.send(frame(Err(&e))).await;
            return;
        }
    };
    loop {
        tokio::select! {
            out = handle.output.recv() => match out {
                Some(out) => {
                    let last = matches!(out, ExecOutput::Exited(_));
                    if sink.send(frame(Ok(out))).await.is_err() { break; }
                    if last { let _ = sink.close().await; return; }
                }
                None => break,
            },
            msg = source.next() => match msg {
                Some(Ok(Message::Binary(b))) => {
                    if let Some(tx) = &stdin_tx && tx.send(b.to_vec()).await.is_err() { stdin_tx = None; }
                }
                Some(Ok(Message::Text(t))) if t.as_str() == STDIN_EOF => stdin_tx = None,
                Some(Ok(Message::Text(t))) if t.as_str() == CANCEL => handle.cancel.cancel(),
                Some(Ok(_)) => {}
                // The asking instance is gone: so is its command.
                None | Some(Err(_)) => break,
            }
        }
    }
    handle.cancel.cancel();
}
