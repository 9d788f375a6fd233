//! The HTTP surface: `/graphql` (POST, GET, websocket), `/graphiql`, `/healthz` (alive),
//! `/readyz` (taking traffic).

mod conn;
pub mod credentials;
mod graphql_http;
mod graphql_sse;
mod graphql_ws;
mod h2;
mod media;
pub mod outbox;
mod pages;
mod playground;
pub mod protocol;
pub(crate) use crate::service::quotas::rate;
pub mod serve;
pub mod session;
mod sse_single;
mod terminal_ws;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    routing::get,
};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{gql::Engine, service::Services};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// GraphQL: the schema behind the transports.
    pub engine: std::sync::Arc<dyn Engine>,
    /// Services (health checks, limits).
    pub services: Services,
    /// Who is calling, resolved before execution.
    pub auth: std::sync::Arc<crate::auth::Authenticator>,
    /// Request rate per caller.
    pub rate: std::sync::Arc<rate::RateLimiter>,
    /// Open subscription operations per account.
    pub open_operations: std::sync::Arc<session::OpenOperations>,
    /// Reserved graphql-sse streams (single connection mode).
    pub sse: std::sync::Arc<sse_single::Reservations>,
    /// Cancelled when the server begins to shut down (websockets close with 1012).
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The bearer token that opens `/metrics` on this listener, if any.
    pub metrics_token: Option<crate::config::Secret>,
}

/// The header carrying the request id, set if the client did not send one.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// CORS for the configured origins only; bearer tokens travel in a header, so no cookies
/// and no credentials mode are needed.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o.trim()).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([HeaderName::from_static(REQUEST_ID_HEADER)])
        .max_age(std::time::Duration::from_secs(600))
}

/// The router of `--metrics-listen`: `/metrics` alone, open to whoever reaches it.
pub fn metrics_router() -> Router {
    Router::new().route("/metrics", get(pages::metrics))
}

/// Builds the router with request ids, tracing, CORS and the body limit.
pub fn router(state: AppState, cors_origins: &[String]) -> Router {
    let header = axum::http::HeaderName::from_static(REQUEST_ID_HEADER);
    let max_body_bytes = state.services.limits.max_body_bytes;
    // A slow client cannot hold a handler (reading its body, say) past the request's own
    // timeout; the handler's inner timeout answers first with a GraphQL error.
    let whole = std::time::Duration::from_millis(state.services.limits.request_timeout_ms + 5_000);
    Router::new()
        .route("/graphql", get(graphql_ws::get_or_upgrade).post(graphql_http::post))
        .route(
            "/graphql/stream",
            axum::routing::post(graphql_sse::stream)
                .put(graphql_sse::reserve)
                .get(graphql_sse::open)
                .delete(graphql_sse::stop),
        )
        .route("/terminal/{id}", get(terminal_ws::upgrade))
        .route("/graphiql", get(playground::graphiql))
        .route("/graphiql/{*path}", get(playground::graphiql_file))
        .route("/", get(playground::index))
        .route("/playground/{*path}", get(playground::asset))
        .route("/healthz", get(pages::healthz))
        .route("/metrics", get(pages::metrics_with_token))
        // Browsers ask for it; an empty answer keeps their consoles free of a 404.
        .route("/favicon.ico", get(|| async { axum::http::StatusCode::NO_CONTENT }))
        .route("/readyz", get(pages::readyz))
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, whole))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let rid = req.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-");
            // DEBUG: at the default level no span is built per request; errors are logged
            // with their request id anyway.
            tracing::debug_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %rid)
        }))
        .layer(cors(cors_origins))
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
}
