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

use super::{
    AppState, REQUEST_ID_HEADER, graphql_http,
    media::is_json_body,
    outbox::{Queued, outbox},
    rate::Caller,
    session::Session,
};
use crate::{
    error::AppError,
    graphql::{
        context::LastEventId,
        errors::{CodedSchema, RequestId},
    },
};

/// The graphql-sse keep-alive period (the reference server's).
const KEEP_ALIVE: Duration = Duration::from_secs(12);

fn accepts_event_stream(headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    accept.split(',').any(|t| t.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("text/event-stream"))
}

/// The SSE bytes of one session frame; None for frames that end nothing and say nothing.
/// Returns the bytes and whether the operation is over.
fn sse(frame: &str) -> (String, bool) {
    let Ok(v) = serde_json::from_str::<Value>(frame) else { return (String::new(), false) };
    match v["type"].as_str() {
        Some("next") => {
            let payload = &v["payload"];
            // The seq of a runEvents event, as the SSE id, so a reconnect can resume.
            let id = payload["data"]["runEvents"]["seq"].as_i64().map(|s| format!("id: {s}\n")).unwrap_or_default();
            (format!("{id}event: next\ndata: {payload}\n\n"), false)
        }
        Some("error") => {
            let errors = serde_json::json!({"errors": v["payload"]});
            (format!("event: next\ndata: {errors}\n\nevent: complete\ndata:\n\n"), true)
        }
        _ => ("event: complete\ndata:\n\n".to_string(), true),
    }
}

/// POST /graphql/stream: one operation, its results as a `text/event-stream`.
pub async fn stream(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !accepts_event_stream(&headers) {
        let e = AppError::bad_input("this endpoint answers text/event-stream only (send Accept: text/event-stream)");
        return graphql_http::error_response(StatusCode::NOT_ACCEPTABLE, &e);
    }
    if !is_json_body(&headers) {
        let e = AppError::bad_input("send the request as JSON (Content-Type: application/json)");
        return graphql_http::error_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, &e);
    }
    let request: GqlRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let e = AppError::bad_input(format!("request body is not a GraphQL request: {e}"));
            return graphql_http::error_response(StatusCode::BAD_REQUEST, &e);
        }
    };
    let auth = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    let viewer = match auth {
        None => None,
        Some(value) => match state.auth.resolve(Some(value)).await {
            Ok(v) => Some(v),
            Err(e) => return graphql_http::error_response(StatusCode::UNAUTHORIZED, &e),
        },
    };
    let rid = headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let mut data = Data::default();
    data.insert(RequestId(rid.clone()));
    if let Some(seq) = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|s| s.trim().parse().ok()) {
        data.insert(LastEventId(seq));
    }
    let read_only = viewer.as_ref().is_some_and(|v| v.read_only);
    let account = viewer.as_ref().map(|v| v.account_id);
    let caller = account.map_or(Caller::Address(peer.ip()), Caller::Account);
    if let Some(v) = viewer {
        data.insert(v);
    }
    let limits = state.services.limits.clone();
    let (out, frames) = outbox(limits.ws_send_buffer_bytes);
    let schema = CodedSchema::new(state.schema.clone(), state.documents.clone(), &rid).read_only(read_only);
    let session =
        Session::new(schema, data, caller, account, out, state.rate.clone(), state.open_operations.clone(), limits);
    // A refusal (over a cap) has queued its error frame; it is streamed like any other.
    let _ = session.start("1".into(), request).await;
    let frames = tokio_stream::wrappers::UnboundedReceiverStream::new(frames);
    let keep_alive = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(KEEP_ALIVE));
    enum Item {
        Frame(Queued),
        Tick,
    }
    let merged = futures::stream::select(frames.map(Item::Frame), keep_alive.map(|_| Item::Tick));
    // The session lives as long as the response body: a client that goes away stops it.
    let body = futures::stream::unfold((merged, Some(session)), |(mut merged, session)| async move {
        session.as_ref()?;
        let chunk = match merged.next().await? {
            Item::Tick => ":\n\n".to_string(),
            Item::Frame(q) => {
                let (text, over) = sse(&q.text);
                if over {
                    return Some((Ok::<_, std::io::Error>(Bytes::from(text)), (merged, None)));
                }
                text
            }
        };
        Some((Ok(Bytes::from(chunk)), (merged, session)))
    });
    let mut res = Body::from_stream(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_become_graphql_sse_events() {
        let next = r#"{"id":"1","type":"next","payload":{"data":{"runEvents":{"seq":7}}}}"#;
        assert_eq!(sse(next), ("id: 7\nevent: next\ndata: {\"data\":{\"runEvents\":{\"seq\":7}}}\n\n".into(), false));
        assert_eq!(sse(r#"{"id":"1","type":"complete"}"#), ("event: complete\ndata:\n\n".into(), true));
        let (text, over) = sse(r#"{"id":"1","type":"error","payload":[{"message":"no"}]}"#);
        assert!(over && text.starts_with("event: next\ndata: {\"errors\":[{\"message\":\"no\"}]}"));
    }
}
