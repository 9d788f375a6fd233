//! GraphQL over HTTP: POST with a JSON body, GET with a query string (queries only).
//!
//! Before anything executes: the caller is resolved, the batch size checked and the
//! caller's rate taken; each operation's cost is checked by the schema. Execution is
//! bounded by the request timeout and the answer by the response-size limit.

use std::{net::SocketAddr, time::Duration};

use async_graphql::{BatchRequest, BatchResponse, Response, Value};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response as HttpResponse},
};

use super::{
    AppState, REQUEST_ID_HEADER,
    credentials::{Credentials, viewer_of},
    media::{Media, is_json_body, is_request_error},
    rate::Caller,
};
use crate::{
    auth::Viewer,
    error::{AppError, codes, reasons},
    gql::{Allowed, Bound},
};

/// POST /graphql.
pub async fn post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Credentials(viewer): Credentials,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    if !is_json_body(&headers) {
        let e = AppError::bad_input("send the request as JSON (Content-Type: application/json)");
        return error_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, e);
    }
    match serde_json::from_slice::<BatchRequest>(&body) {
        Ok(batch) => execute(&state, peer, viewer, &headers, batch, Allowed::default()).await,
        Err(e) => error_response(
            StatusCode::BAD_REQUEST,
            AppError::bad_input(format!("request body is not a GraphQL request: {e}")),
        ),
    }
}

/// GET /graphql?query=…: queries only, so a link can never mutate anything (a mutation
/// is refused with 405 once its document is parsed, off the runtime like every other).
pub async fn get(state: &AppState, peer: SocketAddr, headers: &HeaderMap, query_string: &str) -> HttpResponse {
    let req = match async_graphql::http::parse_query_string(query_string) {
        Ok(req) => req,
        Err(e) => {
            return error_response(StatusCode::BAD_REQUEST, AppError::bad_input(format!("bad query string: {e}")));
        }
    };
    let viewer = match viewer_of(state, headers).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let allowed = Allowed { queries_only: true, ..Allowed::default() };
    execute(state, peer, viewer, headers, BatchRequest::Single(req), allowed).await
}

fn operations(batch: &BatchRequest) -> usize {
    match batch {
        BatchRequest::Single(_) => 1,
        BatchRequest::Batch(v) => v.len(),
    }
}

/// The HTTP status a refusal before execution calls for: 405 for a mutation sent with
/// GET, 401 for a document that needs credentials sent without them.
fn refusal_status(resp: &BatchResponse) -> Option<StatusCode> {
    let BatchResponse::Single(r) = resp else { return None };
    if !is_request_error(r) {
        return None;
    }
    let ext = r.errors.first().and_then(|e| e.extensions.as_ref())?;
    match (ext.get("code"), ext.get("reason")) {
        (_, Some(Value::String(r))) if r == reasons::MUTATION_OVER_GET => Some(StatusCode::METHOD_NOT_ALLOWED),
        (Some(Value::String(c)), _) if c == codes::UNAUTHENTICATED => Some(StatusCode::UNAUTHORIZED),
        _ => None,
    }
}

async fn execute(
    state: &AppState,
    peer: SocketAddr,
    viewer: Option<Viewer>,
    headers: &HeaderMap,
    batch: BatchRequest,
    allowed: Allowed,
) -> HttpResponse {
    let limits = &state.services.limits;
    let rid = headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let ops = operations(&batch);
    if ops > limits.max_batch_operations {
        let max = limits.max_batch_operations;
        let e = AppError::bad_input(format!("a batch may hold at most {max} operations, this one has {ops}"));
        return error_response(StatusCode::BAD_REQUEST, e);
    }
    let caller = viewer.as_ref().map_or(Caller::Address(peer.ip()), |v| Caller::Account(v.account_id));
    if let Err(e) = state.rate.take(caller, ops as u64) {
        return error_response(StatusCode::TOO_MANY_REQUESTS, e);
    }
    let batch = match viewer.clone() {
        Some(v) => batch.data(v),
        None => batch,
    };
    let allowed =
        Allowed { queries_only: allowed.queries_only, ..Allowed::for_caller(viewer.as_ref().map(|v| v.read_only)) };
    let schema = Bound::new(state.engine.clone(), &rid, allowed);
    let timeout = Duration::from_millis(limits.request_timeout_ms);
    let resp = match tokio::time::timeout(timeout, async_graphql::Executor::execute_batch(&schema, batch)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(request_id = %rid, "request stopped at the timeout");
            return error_response(StatusCode::GATEWAY_TIMEOUT, AppError::Timeout(limits.request_timeout_ms));
        }
    };
    let status = refusal_status(&resp);
    let mut http = respond(resp, limits.max_response_bytes, Media::accepted(headers));
    if let Some(status) = status {
        *http.status_mut() = status;
    }
    http
}

/// Serialises the answer in the accepted media type with its status, or an error when it
/// is over the response-size limit.
fn respond(resp: BatchResponse, max_bytes: usize, media: Media) -> HttpResponse {
    let (status, drop_data) = match &resp {
        BatchResponse::Single(r) => media.status_of(r),
        BatchResponse::Batch(_) => (StatusCode::OK, false),
    };
    // Only a request error (small) goes through a Value to lose its `data` entry.
    let serialised = if drop_data {
        serde_json::to_value(&resp).and_then(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("data");
            }
            serde_json::to_vec(&v)
        })
    } else {
        serde_json::to_vec(&resp)
    };
    let body = match serialised {
        Ok(body) => body,
        Err(e) => {
            let e = AppError::Internal(anyhow::anyhow!("serialising a response: {e}"));
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, e);
        }
    };
    if body.len() > max_bytes {
        let e = AppError::bad_input(format!(
            "the response would be {} bytes, more than the limit of {max_bytes}; ask for fewer items or bytes",
            body.len()
        ));
        return error_response(StatusCode::BAD_REQUEST, e);
    }
    let mut http = (status, body).into_response();
    let h = http.headers_mut();
    h.insert(header::CONTENT_TYPE, media.content_type());
    if let Some(cc) = resp.cache_control().value().and_then(|v| HeaderValue::from_str(&v).ok())
        && resp.is_ok()
    {
        h.insert(header::CACHE_CONTROL, cc);
    }
    http
}

/// A GraphQL-shaped error reply for failures before execution (with `Retry-After` when
/// the error says when to retry).
pub fn error_response(status: StatusCode, e: AppError) -> HttpResponse {
    let retry = e.retry_after_ms();
    let err = crate::gql::errors::server_error(e, "-");
    let mut http = respond(BatchResponse::Single(Response::from_errors(vec![err])), usize::MAX, Media::Json);
    *http.status_mut() = status;
    if let Some(secs) = retry.map(|ms| ms.div_ceil(1000).to_string())
        && let Ok(v) = HeaderValue::from_str(&secs)
    {
        http.headers_mut().insert(header::RETRY_AFTER, v);
    }
    http
}
