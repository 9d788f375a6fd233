//! GET /terminal/{id}: a terminal's bytes on a websocket (subprotocol
//! `sandboxql.terminal`). The first message, text, authenticates as `/graphql` does —
//! `{"authorization": "Bearer …", "from": 0}` — never a token in the URL. Then the
//! server sends `{"type":"ready",…}`, a `{"type":"cut","bytes":n}` when older output is
//! no longer kept, the kept scrollback and live output as binary frames, and
//! `{"type":"exit","code":…}` before it closes (1000) when the program ends. The client
//! sends binary frames as input and `{"type":"resize","cols":…,"rows":…}`; a read-only
//! token may watch, not type. Close codes: 4401 no or bad credentials, 4404 no such
//! terminal for this caller (another account's, or one this instance does not hold),
//! 4408 no first message in time.

use std::time::Duration;

use axum::{
    extract::{
        Path, State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    response::Response,
};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};

use super::AppState;
use crate::service::terminals::Terminal;

/// The subprotocol spoken.
const PROTOCOL: &str = "sandboxql.terminal";
/// Bytes of output per binary frame at most.
const FRAME_BYTES: usize = 64 * 1024;

/// Upgrades to the terminal websocket.
pub async fn upgrade(State(state): State<AppState>, Path(id): Path<String>, ws: WebSocketUpgrade) -> Response {
    let max = state.services.limits.requests.ws_max_message_bytes;
    ws.max_message_size(max).max_frame_size(max).protocols([PROTOCOL]).on_upgrade(move |s| serve(s, state, id))
}

async fn close(mut socket: WebSocket, code: u16, reason: &'static str) {
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

async fn serve(mut socket: WebSocket, state: AppState, id: String) {
    let wait = Duration::from_secs(state.services.limits.requests.ws_init_timeout_secs);
    let first = match tokio::time::timeout(wait, socket.recv()).await {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str::<Value>(t.as_str()).unwrap_or(Value::Null),
        Ok(_) => return close(socket, 4401, "authenticate first").await,
        Err(_) => return close(socket, 4408, "no first message in time").await,
    };
    let header = first["authorization"].as_str().map(str::to_string);
    let Ok(viewer) = state.auth.resolve(header.as_deref()).await else {
        return close(socket, 4401, "unauthorized").await;
    };
    let term = match uuid::Uuid::parse_str(&id).ok().map(|id| state.services.terminals.get(&viewer, id)) {
        Some(Ok(t)) => t,
        _ => return close(socket, 4404, "no such terminal").await,
    };
    let mut cursor = first["from"].as_u64().unwrap_or(0);
    let info = term.info();
    let ready = json!({"type": "ready", "cols": info.size.cols, "rows": info.size.rows, "readOnly": viewer.read_only});
    if socket.send(Message::Text(ready.to_string().into())).await.is_err() {
        return;
    }
    attach(socket, &term, &mut cursor, viewer.read_only).await;
}

/// Sends output from `cursor` on and takes input until the program ends or the client
/// leaves.
async fn attach(socket: WebSocket, term: &Terminal, cursor: &mut u64, read_only: bool) {
    let (mut sink, mut source) = socket.split();
    let _attached = term.activity.attach();
    let mut changed = term.watch();
    let mut warned = false;
    loop {
        changed.borrow_and_update();
        let read = term.read(*cursor, FRAME_BYTES);
        if read.cut > 0 {
            let cut = json!({"type": "cut", "bytes": read.cut});
            if sink.send(Message::Text(cut.to_string().into())).await.is_err() {
                return;
            }
        }
        if !read.data.is_empty() {
            *cursor = read.next;
            if sink.send(Message::Binary(read.data.into())).await.is_err() {
                return;
            }
            continue;
        }
        if let Some(code) = term.info().exit {
            let exit = json!({"type": "exit", "code": code});
            let _ = sink.send(Message::Text(exit.to_string().into())).await;
            let _ = sink.send(Message::Close(Some(CloseFrame { code: 1000, reason: "exited".into() }))).await;
            return;
        }
        tokio::select! {
            _ = changed.changed() => {}
            msg = source.next() => match msg {
                Some(Ok(Message::Binary(bytes))) if !read_only => {
                    term.type_in(bytes.to_vec()).await;
                }
                Some(Ok(Message::Text(t))) if !read_only => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    if v["type"] == "resize" {
                        let (cols, rows) = (v["cols"].as_u64().unwrap_or(0), v["rows"].as_u64().unwrap_or(0));
                        let _ = term.resize_to(cols, rows).await;
                    }
                }
                Some(Ok(Message::Binary(_) | Message::Text(_))) => {
                    if !warned {
                        warned = true;
                        let e = json!({"type": "error", "code": "FORBIDDEN", "message": "this token is read-only: it may watch, not type"});
                        let _ = sink.send(Message::Text(e.to_string().into())).await;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
        }
    }
}
