//! Who a request speaks for, read once from its `Authorization` header by every HTTP
//! transport: nobody (no header: only introspection will run), a viewer, or a 401 in the
//! GraphQL error shape for credentials that are wrong, revoked or expired.

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, StatusCode, header, request::Parts},
    response::Response,
};

use super::{AppState, graphql_http::error_response};
use crate::auth::Viewer;

/// The token of an `Authorization: Bearer <token>` header, for the credentials that are
/// not viewers (the metrics token, a run's gateway token).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

/// The viewer a request's `Authorization` names, if it names one.
pub struct Credentials(pub Option<Viewer>);

/// The viewer of `headers`' `Authorization`: None when there is none, the 401 reply when
/// it does not resolve.
pub async fn viewer_of(state: &AppState, headers: &HeaderMap) -> Result<Option<Viewer>, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    match state.auth.resolve(Some(value.to_str().unwrap_or(""))).await {
        Ok(v) => Ok(Some(v)),
        Err(e) => Err(error_response(StatusCode::UNAUTHORIZED, e)),
    }
}

impl FromRequestParts<AppState> for Credentials {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        viewer_of(state, &parts.headers).await.map(Credentials)
    }
}
