//! GraphQL over HTTP's content negotiation and status codes (the GraphQL-over-HTTP spec):
//! a client that accepts `application/graphql-response+json` gets it, with 400 and no
//! `data` entry for a request error (a document that does not parse or validate, or
//! variables that do not coerce); everyone else (`application/json`, `*/*`, no Accept)
//! gets `application/json` and 200 for any well-formed request.

use async_graphql::{Response, Value};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

/// The media type an answer is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `application/graphql-response+json`: status codes tell request errors apart.
    GraphqlResponse,
    /// `application/json`: 200 for every well-formed request.
    Json,
}

impl Media {
    /// The one the client asked for.
    pub fn accepted(headers: &HeaderMap) -> Self {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        let asks = |t: &str| {
            accept.split(',').any(|part| {
                let mut it = part.split(';');
                let ty = it.next().unwrap_or("").trim();
                let refused = it.any(|p| p.trim().replace(' ', "") == "q=0");
                ty.eq_ignore_ascii_case(t) && !refused
            })
        };
        if asks("application/graphql-response+json") { Media::GraphqlResponse } else { Media::Json }
    }

    /// The Content-Type header value.
    pub fn content_type(self) -> HeaderValue {
        match self {
            Media::GraphqlResponse => HeaderValue::from_static("application/graphql-response+json; charset=utf-8"),
            Media::Json => HeaderValue::from_static("application/json; charset=utf-8"),
        }
    }

    /// The status of a single response, and whether its `data` entry must be left out.
    pub fn status_of(self, resp: &Response) -> (StatusCode, bool) {
        match self {
            Media::GraphqlResponse if is_request_error(resp) => (StatusCode::BAD_REQUEST, true),
            _ => (StatusCode::OK, false),
        }
    }
}

/// A request error: execution never started (no data, errors without a path).
pub fn is_request_error(resp: &Response) -> bool {
    resp.data == Value::Null && !resp.errors.is_empty() && resp.errors.iter().all(|e| e.path.is_empty())
}

/// Whether a POST body is declared as JSON (a missing or other Content-Type is 415).
pub fn is_json_body(headers: &HeaderMap) -> bool {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ty = ct.split(';').next().unwrap_or("").trim();
    ty.eq_ignore_ascii_case("application/json") || ty.eq_ignore_ascii_case("application/graphql-response+json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn the_client_gets_the_type_it_accepts() {
        assert_eq!(Media::accepted(&HeaderMap::new()), Media::Json);
        assert_eq!(Media::accepted(&accept("*/*")), Media::Json);
        assert_eq!(Media::accepted(&accept("application/json")), Media::Json);
        let both = "application/graphql-response+json, application/json;q=0.9";
        assert_eq!(Media::accepted(&accept(both)), Media::GraphqlResponse);
        assert_eq!(Media::accepted(&accept("application/graphql-response+json;q=0")), Media::Json);
    }

    #[test]
    fn request_errors_are_400_only_for_graphql_response_json() {
        let bad = Response::from_errors(vec![async_graphql::ServerError::new("parse", None)]);
        assert_eq!(Media::GraphqlResponse.status_of(&bad), (StatusCode::BAD_REQUEST, true));
        assert_eq!(Media::Json.status_of(&bad), (StatusCode::OK, false));
        let ok = Response::new(Value::Null);
        assert_eq!(Media::GraphqlResponse.status_of(&ok), (StatusCode::OK, false));
    }
}
