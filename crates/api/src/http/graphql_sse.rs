//! Subscriptions over server-sent events: the graphql-sse protocol's distinct-connections
//! mode (`POST /graphql/stream` with `Accept: text/event-stream`: one stream per
//! operation, `next` events then `complete`). Same auth as HTTP; the operation runs in the
//! same [`Session`] as a websocket's, with the same caps, rate and bounded outbox.
//!
//! `runEvents` resumes after a dropped stream: each of its events carries its seq as the
//! SSE `id`, and a request with `Last-Event-ID: <seq>` continues after that seq.

use std::{net::SocketAddr, time::Duration};

use async_graphql::{Data, Request as GqlRequest};
use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

use super::{
    AppState, REQUEST_ID_HEADER,
    credentials::viewer_of,
    graphql_http,
    media::is_json_body,
    outbox::{Queued, outbox},
    rate::Caller,
    session::{Refused, Session},
    sse_single::{operation_id_of, token_of},
};
use crate::{
    error::AppError,
    gql::{Allowed, Bound, LastEventId, RequestId},
};

/// The graphql-sse keep-alive period (the reference server's).
const KEEP_ALIVE: Duration = Duration::from_secs(12);

fn accepts_event_stream(headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    accept.split(',').any(|t| t.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("text/event-stream"))
}

/// The caller of a request, its session and the session's frames; or the refusal.
async fn open_session(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(Session, UnboundedReceiver<Queued>, Option<uuid::Uuid>), Response> {
    let viewer = viewer_of(state, headers).await?;
    let rid = headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let mut data = Data::default();
    data.insert(RequestId(rid.clone()));
    if let Some(seq) = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|s| s.trim().parse().ok()) {
        data.insert(LastEventId(seq));
    }
    let allowed = Allowed::for_caller(viewer.as_ref().map(|v| v.read_only));
    let account = viewer.as_ref().map(|v| v.account_id);
    let caller = account.map_or(Caller::Address(peer.ip()), Caller::Account);
    if let Some(v) = viewer {
        data.insert(v);
    }
    let limits = state.services.limits.clone();
    let (out, frames) = outbox(limits.requests.ws_send_buffer_bytes);
    let schema = Bound::new(state.engine.clone(), &rid, allowed);
    let session =
        Session::new(schema, data, caller, account, out, state.rate.clone(), state.open_operations.clone(), limits);
    Ok((session, frames, account))
}

/// A `text/event-stream` of `frames` (with keep-alives) that lives as long as `keep`; in
/// distinct mode it ends after the operation's `complete`.
fn event_stream<K: Send + 'static>(frames: UnboundedReceiver<Queued>, keep: K, single: bool) -> Response {
    let frames = tokio_stream::wrappers::UnboundedReceiverStream::new(frames);
    let keep_alive = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(KEEP_ALIVE));
    enum Item {
        Frame(Queued),
        Tick,
    }
    let merged = futures::stream::select(frames.map(Item::Frame), keep_alive.map(|_| Item::Tick));
    // What `keep` holds (the session) lives as long as the body: a client that goes away
    // stops it.
    let body = futures::stream::unfold((merged, Some(keep)), move |(mut merged, keep)| async move {
        keep.as_ref()?;
        let chunk = match merged.next().await? {
            Item::Tick => ":\n\n".to_string(),
            Item::Frame(q) => {
                let (text, over) = q.frame.sse_text(single);
                if over && !single {
                    return Some((Ok::<_, std::io::Error>(Bytes::from(text)), (merged, None)));
                }
                text
            }
        };
        Some((Ok(Bytes::from(chunk)), (merged, keep)))
    });
    let mut res = Body::from_stream(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// POST /graphql/stream: one operation, its results as a `text/event-stream` (or, with
/// a reservation's token, an operation of that stream).
pub async fn stream(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = token_of(&headers, None);
    if token.is_none() && !accepts_event_stream(&headers) {
        let e = AppError::bad_input("this endpoint answers text/event-stream only (send Accept: text/event-stream)");
        return graphql_http::error_response(StatusCode::NOT_ACCEPTABLE, e);
    }
    if !is_json_body(&headers) {
        let e = AppError::bad_input("send the request as JSON (Content-Type: application/json)");
        return graphql_http::error_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, e);
    }
    let request: GqlRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let e = AppError::bad_input(format!("request body is not a GraphQL request: {e}"));
            return graphql_http::error_response(StatusCode::BAD_REQUEST, e);
        }
    };
    if let Some(token) = token {
        return operation(&state, &headers, &token, request).await;
    }
    let (session, frames, _) = match open_session(&state, peer, &headers).await {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    // A refusal (over a cap) has queued its error frame; it is streamed like any other.
    let _ = session.start("1".into(), request).await;
    event_stream(frames, session, false)
}

fn reservation_error(status: StatusCode, msg: &str) -> Response {
    graphql_http::error_response(status, AppError::bad_input(msg.to_string()))
}

/// POST with a token: one operation of a reserved stream (202; results on the stream).
async fn operation(state: &AppState, headers: &HeaderMap, token: &str, request: GqlRequest) -> Response {
    let account = match viewer_of(state, headers).await {
        Ok(v) => v.map(|v| v.account_id),
        Err(r) => return r,
    };
    let Some(r) = state.sse.find(token, account) else {
        return reservation_error(StatusCode::NOT_FOUND, "Stream not found");
    };
    let Some(Value::String(op)) =
        request.extensions.get("operationId").map(|v| v.clone().into_json().unwrap_or_default())
    else {
        return reservation_error(StatusCode::BAD_REQUEST, "Operation ID is missing");
    };
    match r.session.start(op, request).await {
        Err(Refused::Duplicate) => reservation_error(StatusCode::CONFLICT, "Operation with ID already exists"),
        _ => StatusCode::ACCEPTED.into_response(),
    }
}

/// PUT /graphql/stream: reserves a stream; 201 with its token.
pub async fn reserve(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let (session, frames, account) = match open_session(&state, peer, &headers).await {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let max = state.services.limits.max_subscriptions_per_account.max(1) as usize * 16;
    match state.sse.reserve(session, frames, account, max) {
        Some(token) => {
            (StatusCode::CREATED, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], token).into_response()
        }
        None => reservation_error(StatusCode::TOO_MANY_REQUESTS, "too many open streams; close one first"),
    }
}

/// The caller's reservation a request names by token (header or `?token=`).
async fn reservation(
    state: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Result<(String, std::sync::Arc<super::sse_single::Reservation>), Response> {
    let token =
        token_of(headers, uri.query()).ok_or_else(|| reservation_error(StatusCode::NOT_FOUND, "Stream not found"))?;
    let account = viewer_of(state, headers).await?.map(|v| v.account_id);
    let r =
        state.sse.find(&token, account).ok_or_else(|| reservation_error(StatusCode::NOT_FOUND, "Stream not found"))?;
    Ok((token, r))
}

/// GET /graphql/stream with a token: opens the reserved stream (once).
pub async fn open(State(state): State<AppState>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let (token, r) = match reservation(&state, &headers, &uri).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let Some(frames) = r.frames.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return reservation_error(StatusCode::CONFLICT, "Stream already open");
    };
    // The stream's end ends the reservation and its operations.
    struct EndOnDrop(AppState, String);
    impl Drop for EndOnDrop {
        fn drop(&mut self) {
            self.0.sse.end(&self.1);
        }
    }
    drop(r);
    event_stream(frames, EndOnDrop(state.clone(), token), true)
}

/// DELETE /graphql/stream?operationId=…: stops one operation of a reserved stream.
pub async fn stop(State(state): State<AppState>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let (_, r) = match reservation(&state, &headers, &uri).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let Some(op) = operation_id_of(uri.query()) else {
        return reservation_error(StatusCode::BAD_REQUEST, "Operation ID is missing");
    };
    r.session.stop(&op);
    StatusCode::OK.into_response()
}
