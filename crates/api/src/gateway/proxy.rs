//! The forwarding itself: a per-run token in, the operator's credentials out, the body
//! streamed both ways untouched (no buffering: server-sent events pass byte for byte as
//! they arrive), and the answer's usage charged when it ends — also when the client went
//! away half-way, since the upstream bills what it produced.

use std::pin::Pin;

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{Stream, StreamExt};
use serde_json::json;

use super::{GatewayState, tap::UsageTap};
use crate::{error::AppError, service::billing::meter::Grant};

/// The credentials the gateway replaces.
const REPLACED: &[&str] = &["x-api-key", "authorization"];

/// Whether a header goes on: not one of the hop, nor a credential the gateway replaces.
fn kept(name: &HeaderName) -> bool {
    !super::HOP_BY_HOP.contains(&name.as_str()) && !REPLACED.contains(&name.as_str())
}

/// An error in the Anthropic API's own shape, so Claude Code reports it as it would one
/// of the API's; `x-should-retry: false` where retrying cannot help.
fn api_error(status: StatusCode, kind: &str, message: &str, retry: bool) -> Response {
    let body = json!({"type": "error", "error": {"type": kind, "message": message}});
    let mut res = (status, axum::Json(body)).into_response();
    if !retry {
        res.headers_mut().insert("x-should-retry", HeaderValue::from_static("false"));
    }
    res
}

fn refusal(e: &AppError) -> Response {
    match e {
        AppError::Unauthenticated(_) => api_error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "sandboxql gateway: this key is not valid (run tokens work only while their run is running)",
            false,
        ),
        AppError::BudgetExceeded(why) => api_error(
            StatusCode::FORBIDDEN,
            "permission_error",
            &format!("sandboxql gateway: BUDGET_EXCEEDED: {why}"),
            false,
        ),
        other => {
            tracing::error!(error = ?other, "gateway could not check a run token");
            api_error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", "sandboxql gateway: internal error", true)
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(k.trim());
    }
    crate::http::credentials::bearer(headers)
}

/// Any request under `/v1/`: authorised by its run token, forwarded upstream.
pub async fn forward(State(st): State<GatewayState>, req: Request) -> Response {
    let grant = match bearer(req.headers()) {
        Some(token) => match st.meter.authorize(token).await {
            Ok(g) => g,
            Err(e) => return refusal(&e),
        },
        None => return refusal(&AppError::Unauthenticated("no key")),
    };
    let (parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", st.upstream);
    let charged = parts.method == Method::POST && parts.uri.path() == "/v1/messages";
    let mut out = st.client.request(parts.method.clone(), url);
    for (name, value) in parts.headers.iter().filter(|(n, _)| kept(n)) {
        out = out.header(name, value);
    }
    if let Some(key) = &st.api_key {
        out = out.header("x-api-key", key.0.as_str());
    } else if let Some(tok) = &st.auth_token {
        out = out.bearer_auth(tok.0.as_str());
    }
    let upstream = match out.body(super::limited(body, st.max_request_bytes)).send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(run_id = %grant.run_id, error = %e, "gateway could not reach the upstream API");
            let msg = "sandboxql gateway: the upstream API is unreachable or the request was too large";
            return api_error(StatusCode::BAD_GATEWAY, "api_error", msg, true);
        }
    };
    let status = upstream.status();
    let mut res = Response::builder().status(status.as_u16());
    for (name, value) in upstream.headers().iter().filter(|(n, _)| kept(n)) {
        res = res.header(name, value);
    }
    let content_type =
        upstream.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let stream = upstream.bytes_stream();
    let body = if charged && status.is_success() {
        let tap = UsageTap::new(&content_type, st.max_json_bytes as usize);
        Body::from_stream(Metered { inner: Box::pin(stream), tap: Some(tap), st: st.clone(), grant }.into_stream())
    } else {
        Body::from_stream(stream)
    };
    res.body(body).unwrap_or_else(|_| api_error(StatusCode::BAD_GATEWAY, "api_error", "bad upstream answer", true))
}

type Upstream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The upstream body with a usage tap. At the end of the body the charge is written
/// before the last byte (the end of the chunked body) goes out, so the run's next request
/// already sees it in the budget; a client that leaves early is charged from a task.
struct Metered {
    inner: Upstream,
    tap: Option<UsageTap>,
    st: GatewayState,
    grant: Grant,
}

impl Metered {
    fn into_stream(self) -> impl Stream<Item = reqwest::Result<Bytes>> + Send {
        futures::stream::unfold(self, |mut m| async move {
            match m.inner.next().await {
                Some(Ok(bytes)) => {
                    if let Some(tap) = m.tap.as_mut() {
                        tap.feed(&bytes);
                    }
                    Some((Ok(bytes), m))
                }
                Some(Err(e)) => Some((Err(e), m)),
                None => {
                    if let Some((grant, model, tokens)) = m.take_charge()
                        && let Err(e) = m.st.meter.charge(&grant, &model, tokens).await
                    {
                        tracing::error!(run_id = %grant.run_id, error = ?e, "could not record a gateway charge");
                    }
                    None
                }
            }
        })
    }

    fn take_charge(&mut self) -> Option<(Grant, String, crate::service::billing::pricing::Tokens)> {
        let seen = self.tap.take()?.finish();
        seen.any.then(|| (self.grant, seen.model.unwrap_or_else(|| "unknown".into()), seen.tokens))
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        let Some((grant, model, tokens)) = self.take_charge() else { return };
        let meter = self.st.meter.clone();
        // Its own task: the charge is written even though the response is already gone.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = meter.charge(&grant, &model, tokens).await {
                    tracing::error!(run_id = %grant.run_id, error = ?e, "could not record a gateway charge");
                }
            });
        }
    }
}
