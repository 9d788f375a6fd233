//! GraphQL over HTTP: POST with a JSON body, GET with a query string (queries only).

use async_graphql::{BatchRequest, Request, Response, ServerError, Value};
use async_graphql_axum::GraphQLResponse;
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response as HttpResponse},
};

use super::{AppState, REQUEST_ID_HEADER};
use crate::{error::codes, graphql::errors::CodedSchema};

/// POST /graphql.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> HttpResponse {
    match serde_json::from_slice::<BatchRequest>(&body) {
        Ok(batch) => execute(&state, &headers, batch).await,
        Err(e) => error_response(
            StatusCode::BAD_REQUEST,
            &format!("request body is not a GraphQL request: {e}"),
            codes::BAD_USER_INPUT,
        ),
    }
}

/// GET /graphql?query=…: queries only, so a link can never mutate anything.
pub async fn get(state: &AppState, headers: &HeaderMap, query_string: &str) -> HttpResponse {
    let req = match async_graphql::http::parse_query_string(query_string) {
        Ok(req) => req,
        Err(e) => {
            return error_response(StatusCode::BAD_REQUEST, &format!("bad query string: {e}"), codes::BAD_USER_INPUT);
        }
    };
    if !is_query_only(&req) {
        return error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "GET may only carry queries; send mutations with POST",
            codes::BAD_USER_INPUT,
        );
    }
    execute(state, headers, BatchRequest::Single(req)).await
}

fn is_query_only(req: &Request) -> bool {
    use async_graphql::parser::types::OperationType;
    match async_graphql::parser::parse_query(&req.query) {
        // A query that does not parse is rejected by execution with a proper error.
        Err(_) => true,
        Ok(doc) => doc.operations.iter().all(|(_, op)| op.node.ty == OperationType::Query),
    }
}

async fn execute(state: &AppState, headers: &HeaderMap, batch: BatchRequest) -> HttpResponse {
    let rid = headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let auth = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    let viewer = match auth {
        // No credentials: only introspection works; every resolver answers UNAUTHENTICATED.
        None => None,
        Some(value) => match state.auth.resolve(Some(value)).await {
            Ok(v) => Some(v),
            Err(e) => {
                return error_response(StatusCode::UNAUTHORIZED, &e.public_message(), e.code());
            }
        },
    };
    let batch = match viewer {
        Some(v) => batch.data(v),
        None => batch,
    };
    let schema = CodedSchema::new(state.schema.clone(), state.documents.clone(), &rid);
    GraphQLResponse::from(async_graphql::Executor::execute_batch(&schema, batch).await).into_response()
}

/// A GraphQL-shaped error reply for failures before execution.
pub fn error_response(status: StatusCode, message: &str, code: &str) -> HttpResponse {
    let mut err = ServerError::new(message, None);
    err.extensions.get_or_insert_with(Default::default).set("code", Value::from(code));
    let resp = Response::from_errors(vec![err]);
    (status, GraphQLResponse::from(resp)).into_response()
}
