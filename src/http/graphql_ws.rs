//! GET /graphql: a websocket upgrade (graphql-transport-ws) or a plain GET query.
//!
//! The websocket is authenticated before async-graphql sees it: we read `connection_init`
//! ourselves so a bad token closes with 4403 (Forbidden) as the protocol specifies, a
//! missing init with 4408, and anything else first with 4401.

use std::time::Duration;

use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        ConnectInfo, FromRequestParts, Request, State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt, stream};

use super::{AppState, REQUEST_ID_HEADER, graphql_http};
use crate::graphql::errors::{CodedSchema, RequestId};

/// Routes GET /graphql to the websocket or to a GET query.
pub async fn get_or_upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    req: Request,
) -> Response {
    let (mut parts, _body) = req.into_parts();
    let is_upgrade = parts.headers.get(axum::http::header::UPGRADE).is_some();
    if !is_upgrade {
        let query = parts.uri.query().unwrap_or_default().to_string();
        return graphql_http::get(&state, peer, &parts.headers, &query).await;
    }
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &state).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let rid = parts.headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let max_message = state.services.limits.ws_max_message_bytes;
    // Small per-socket buffers: a thousand idle subscribers should cost little memory.
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, state, protocol, rid))
}

async fn serve(socket: WebSocket, state: AppState, protocol: GraphQLProtocol, rid: String) {
    let (mut sink, mut source) = socket.split();
    let init_timeout = Duration::from_secs(state.services.limits.ws_init_timeout_secs);
    let first = match tokio::time::timeout(init_timeout, source.next()).await {
        Ok(Some(Ok(msg))) => msg,
        Ok(_) => return,
        Err(_) => return close(&mut sink, 4408, "Connection initialisation timeout").await,
    };
    let payload = match init_payload(&first) {
        Some(p) => p,
        None => return close(&mut sink, 4401, "Unauthorized").await,
    };
    let header = payload.get("authorization").or_else(|| payload.get("Authorization")).and_then(|v| v.as_str());
    let viewer = match state.auth.resolve(header).await {
        Ok(v) => v,
        Err(_) => return close(&mut sink, 4403, "Forbidden").await,
    };
    let mut data = Data::default();
    data.insert(viewer);
    data.insert(RequestId(rid.clone()));
    // Replay the init message so async-graphql performs its normal handshake.
    let source = stream::once(async move { Ok(first) }).chain(source);
    GraphQLWebSocket::new_with_pair(
        sink,
        source,
        CodedSchema::new(state.schema.clone(), state.documents.clone(), &rid),
        protocol,
    )
    .on_connection_init(move |_| async move { Ok(data) })
    .serve()
    .await;
}

fn init_payload(msg: &Message) -> Option<serde_json::Value> {
    let text = match msg {
        Message::Text(t) => t.as_str(),
        _ => return None,
    };
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    if v.get("type")?.as_str()? != "connection_init" {
        return None;
    }
    Some(v.get("payload").cloned().unwrap_or(serde_json::Value::Null))
}

async fn close(sink: &mut futures::stream::SplitSink<WebSocket, Message>, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = sink.send(Message::Close(Some(frame))).await;
}
