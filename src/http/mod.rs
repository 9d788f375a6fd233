//! The HTTP surface: `/graphql` (POST, GET, websocket), `/graphiql`, `/healthz`.

mod graphql_http;
mod graphql_ws;
mod pages;

use axum::{Router, extract::DefaultBodyLimit, routing::get};
use tower_http::{
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{graphql::AppSchema, service::Services};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The executable schema.
    pub schema: AppSchema,
    /// Services, for authentication before execution.
    pub services: Services,
}

/// The header carrying the request id, set if the client did not send one.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Builds the router with request ids, tracing and the body limit.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let header = axum::http::HeaderName::from_static(REQUEST_ID_HEADER);
    Router::new()
        .route("/graphql", get(graphql_ws::get_or_upgrade).post(graphql_http::post))
        .route("/graphiql", get(pages::graphiql))
        .route("/healthz", get(pages::healthz))
        .with_state(state)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let rid = req.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %rid)
        }))
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
}
