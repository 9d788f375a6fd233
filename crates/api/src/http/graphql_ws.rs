//! GET /graphql: a websocket upgrade (graphql-transport-ws) or a plain GET query.
//!
//! The connection is authenticated from `connection_init` (bad token: close 4403, no init
//! in time: 4408, anything else first: 4401), then served by our own loop: operations run
//! in a [`Session`] with per-connection and per-account caps, outgoing frames wait in a
//! queue bounded in bytes, a client that does not read is dropped after the send timeout,
//! the server pings and closes idle sockets, and the credentials are re-checked so a
//! revoked token loses its sockets within seconds.

use std::{net::SocketAddr, time::Duration};

use async_graphql::Data;
use axum::{
    extract::{
        ConnectInfo, FromRequestParts, Request, State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt, stream::SplitSink};
use tokio::sync::mpsc;

use super::{
    AppState, REQUEST_ID_HEADER, graphql_http,
    outbox::{Queued, outbox},
    protocol::{ClientMessage, Close, Frame},
    rate::Caller,
    session::{Refused, Session},
};
use crate::{
    error::AppError,
    gql::{Allowed, Bound, RequestId},
};

/// The subprotocol spoken.
const PROTOCOL: &str = "graphql-transport-ws";

/// Routes GET /graphql to the websocket or to a GET query.
pub async fn get_or_upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (mut parts, _body) = req.into_parts();
    if parts.headers.get(axum::http::header::UPGRADE).is_none() {
        let query = parts.uri.query().unwrap_or_default().to_string();
        return graphql_http::get(&state, peer, &parts.headers, &query).await;
    }
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let rid = parts.headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let max_message = state.services.limits.requests.ws_max_message_bytes;
    // Small per-socket buffers: a thousand idle subscribers should cost little memory.
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .protocols([PROTOCOL])
        .on_upgrade(move |socket| serve(socket, state, rid))
}

type Sink = SplitSink<WebSocket, Message>;

async fn close(sink: &mut Sink, close: Close) {
    let _ = sink.send(Message::Close(Some(CloseFrame { code: close.code, reason: close.reason.into() }))).await;
}

fn message(msg: &Message) -> Option<ClientMessage> {
    match msg {
        Message::Text(t) => ClientMessage::parse(t.as_str()),
        _ => None,
    }
}

async fn serve(socket: WebSocket, state: AppState, rid: String) {
    let _open = crate::metrics::websocket();
    let (mut sink, mut source) = socket.split();
    let limits = state.services.limits.clone();
    let init_timeout = Duration::from_secs(limits.requests.ws_init_timeout_secs);
    let first = match tokio::time::timeout(init_timeout, source.next()).await {
        Ok(Some(Ok(msg))) => msg,
        Ok(_) => return,
        Err(_) => return close(&mut sink, Close::INIT_TIMEOUT).await,
    };
    let Some(ClientMessage::ConnectionInit { payload }) = message(&first) else {
        return close(&mut sink, Close::UNAUTHORIZED).await;
    };
    let header = ClientMessage::authorization(&payload);
    let viewer = match state.auth.resolve(header.as_deref()).await {
        Ok(v) => v,
        Err(_) => return close(&mut sink, Close::FORBIDDEN).await,
    };
    if sink.send(Message::Text(r#"{"type":"connection_ack"}"#.into())).await.is_err() {
        return;
    }
    let (out, frames) = outbox(limits.requests.ws_send_buffer_bytes);
    let (control_tx, control) = mpsc::channel::<Close>(1);
    let writer =
        tokio::spawn(write(sink, frames, control, limits.requests.ws_ping_secs, limits.requests.ws_send_timeout_secs));
    let mut data = Data::default();
    let (account, read_only) = (viewer.account_id, viewer.read_only);
    data.insert(viewer);
    data.insert(RequestId(rid.clone()));
    let allowed = Allowed { read_only, ..Allowed::default() };
    let schema = Bound::new(state.engine.clone(), &rid, allowed);
    let session = Session::new(
        schema,
        data,
        Caller::Account(account),
        Some(account),
        out.clone(),
        state.rate.clone(),
        state.open_operations.clone(),
        limits.clone(),
    );
    let idle = Duration::from_secs(limits.requests.ws_idle_timeout_secs);
    let mut recheck = tokio::time::interval(Duration::from_secs(limits.requests.ws_auth_recheck_secs.max(1)));
    recheck.tick().await;
    let closing = loop {
        tokio::select! {
            msg = tokio::time::timeout(idle, source.next()) => match msg {
                Err(_) => break Some(Close::IDLE),
                Ok(None) | Ok(Some(Err(_))) => break None,
                Ok(Some(Ok(Message::Close(_)))) => break None,
                Ok(Some(Ok(msg @ Message::Text(_)))) => match handle(&session, &out, message(&msg)).await {
                    Ok(()) => {}
                    Err(close) => break Some(close),
                },
                Ok(Some(Ok(_))) => {} // pings, pongs: liveness only
            },
            _ = recheck.tick() => {
                if let Err(AppError::Unauthenticated(_)) = state.auth.resolve(header.as_deref()).await {
                    break Some(Close::FORBIDDEN);
                }
            }
            _ = state.shutdown.cancelled() => break Some(Close::RESTARTING),
            _ = control_tx.closed() => break None, // the writer gave up on the socket
        }
    };
    drop(session);
    if let Some(close) = closing {
        let _ = control_tx.send(close).await;
    }
    drop(control_tx);
    let _ = writer.await;
}

/// One client message; Err means close the connection so.
async fn handle(session: &Session, out: &super::outbox::Outbox, msg: Option<ClientMessage>) -> Result<(), Close> {
    match msg.ok_or(Close::INVALID_MESSAGE)? {
        ClientMessage::Ping {} => {
            out.send(Frame::Pong).await;
        }
        ClientMessage::Pong {} => {}
        ClientMessage::ConnectionInit { .. } => return Err(Close::TOO_MANY_INITS),
        ClientMessage::Subscribe { id, payload } => {
            if id.is_empty() {
                return Err(Close::INVALID_MESSAGE);
            }
            if let Err(Refused::Duplicate) = session.start(id, *payload).await {
                return Err(Close::DUPLICATE_ID);
            }
        }
        ClientMessage::Complete { id } => session.stop(&id),
    }
    Ok(())
}

/// Sends queued frames and pings; gives up when one frame cannot leave in time (a client
/// that does not read) or the socket fails. A close request is sent, then the end.
async fn write(
    mut sink: Sink,
    mut frames: mpsc::UnboundedReceiver<Queued>,
    mut control: mpsc::Receiver<Close>,
    ping_secs: u64,
    send_timeout_secs: u64,
) {
    let send_timeout = Duration::from_secs(send_timeout_secs);
    let mut ping = tokio::time::interval(Duration::from_secs(ping_secs.max(1)));
    ping.tick().await;
    loop {
        let msg = tokio::select! {
            biased;
            c = control.recv() => {
                if let Some(close) = c {
                    let frame = Message::Close(Some(CloseFrame { code: close.code, reason: close.reason.into() }));
                    let _ = tokio::time::timeout(send_timeout, sink.send(frame)).await;
                }
                return;
            }
            f = frames.recv() => match f {
                Some(q) => Message::Text(q.frame.ws_text().into()),
                None => return,
            },
            _ = ping.tick() => Message::Ping(Default::default()),
        };
        match tokio::time::timeout(send_timeout, sink.send(msg)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                tracing::info!("websocket client does not read; disconnecting it");
                return;
            }
        }
    }
}
