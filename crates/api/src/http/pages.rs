//! The small non-GraphQL endpoints: GraphiQL and the health check.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::AppState;
use crate::db;

/// GET /readyz: 200 while this instance takes traffic and its database answers; 503 from
/// the moment it begins to shut down (so load balancers stop sending it requests).
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "shutting down"}))).into_response();
    }
    healthz(State(state)).await
}

/// GET /metrics: Prometheus text format (operation names, counts and gauges; no tenant
/// data). Scrape it from inside the deployment.
pub async fn metrics() -> Response {
    let mut res = crate::metrics::render().into_response();
    res.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// GET /metrics on the API's port: only with `Authorization: Bearer <--metrics-token>`;
/// anyone else gets 404, as if there were nothing (operation names are not public).
pub async fn metrics_with_token(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    use subtle::ConstantTimeEq;
    let sent = super::credentials::bearer(&headers).map(str::as_bytes);
    match (&state.metrics_token, sent) {
        // Compared without an early exit, so the time taken says nothing of the token.
        (Some(token), Some(b)) if bool::from(token.0.as_bytes().ct_eq(b)) => metrics().await,
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// GET /healthz: liveness: 200 when the database answers, 503 otherwise (also while
/// shutting down: the process is alive until it exits).
pub async fn healthz(State(state): State<AppState>) -> Response {
    match db::ping(&state.services.db).await {
        Ok(()) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "database unavailable"})))
                .into_response()
        }
    }
}
