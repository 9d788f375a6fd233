//! The internal channel: what an instance on this host does for another instance that
//! got a request for one of this host's sandboxes. Its own listener (`--internal-listen`),
//! every request carrying the server-to-server secret (`--internal-secret`, compared in
//! constant time): a tenant's token, a missing or a wrong secret get 401 and nothing
//! else. Work is done by this host's own local backend, never forwarded again.

mod calls;
mod exec;
mod runs;
mod session;

pub use runs::HandedRuns;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use sandboxql_backend::{Backend, remote::wire::SECRET_HEADER, template::Templates};
use subtle::ConstantTimeEq;

use crate::{
    config::Secret,
    error::{AppError, WireError},
};

/// Shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// What the internal routes work with.
#[derive(Clone)]
pub struct InternalState {
    /// This host's own local backend.
    pub backend: Arc<dyn Backend>,
    /// Templates, to make a sandbox another instance placed here.
    pub templates: Arc<Templates>,
    /// The runs, once the services exist (runs handed here for this instance's warm
    /// Claudes).
    pub runs: HandedRuns,
    secret: Arc<Secret>,
}

impl InternalState {
    /// State for `backend`, accepting callers that present `secret`.
    pub fn new(backend: Arc<dyn Backend>, templates: Arc<Templates>, secret: Secret) -> anyhow::Result<Self> {
        if secret.0.len() < MIN_SECRET_BYTES {
            anyhow::bail!("--internal-secret must be at least {MIN_SECRET_BYTES} bytes");
        }
        Ok(Self { backend, templates, runs: HandedRuns::default(), secret: Arc::new(secret) })
    }
}

/// An error as the caller's instance reads it.
pub(crate) fn failed(e: &AppError) -> Response {
    if let Some(detail) = e.log_detail() {
        tracing::warn!(code = e.code(), %detail, "forwarded work failed");
    }
    (StatusCode::BAD_REQUEST, Json(WireError::from(e))).into_response()
}

async fn require_secret(State(s): State<InternalState>, req: Request, next: Next) -> Response {
    let given = req.headers().get(SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !bool::from(given.ct_eq(s.secret.0.as_bytes())) {
        let e = AppError::Unauthenticated("the internal channel takes only the server-to-server secret");
        return (StatusCode::UNAUTHORIZED, Json(WireError::from(&e))).into_response();
    }
    next.run(req).await
}

/// The internal routes.
pub fn router(state: InternalState) -> Router {
    Router::new()
        .route("/internal/v1/call", post(calls::call))
        .route("/internal/v1/read", post(calls::read))
        .route("/internal/v1/write", post(calls::write))
        .route("/internal/v1/walk", post(calls::walk))
        .route("/internal/v1/watch", post(calls::watch))
        .route("/internal/v1/runs", post(runs::start))
        .route("/internal/v1/exec", get(exec::exec))
        .route("/internal/v1/process", get(session::process))
        .route("/internal/v1/dial", get(session::dial))
        .layer(middleware::from_fn_with_state(state.clone(), require_secret))
        .with_state(state)
}
