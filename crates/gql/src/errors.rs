//! Turns every error leaving the schema into one with a stable `extensions.code`.
//!
//! Resolvers just use `?` on [`AppError`]; [`stamp`] finds the `AppError` behind each
//! error of a response, replaces its message with the public one, logs internal detail
//! with the request id, and gives validation errors the code BAD_USER_INPUT. It runs on
//! whole responses rather than hooking every field, so it costs nothing per field.

use std::sync::Arc;

use async_graphql::{ErrorExtensionValues, ServerError, Value};

use crate::error::{AppError, codes};

/// Keeps the first `max` errors and sums the rest up in one more.
pub fn cap(errors: &mut Vec<ServerError>, max: usize) {
    if errors.len() <= max {
        return;
    }
    let more = errors.len() - max;
    errors.truncate(max);
    let e = AppError::bad_input(format!("…and {more} more errors (limits.maxResponseErrors)"));
    let mut err = ServerError::new(e.public_message(), None);
    err.source = Some(Arc::new(e));
    errors.push(err);
}

/// `e` as a GraphQL error on its own (a refusal before execution): public message, code,
/// reason and retry hint, as [`stamp`] gives errors of a response.
pub fn server_error(e: AppError, request_id: &str) -> ServerError {
    let mut err = ServerError::new("", None);
    err.source = Some(Arc::new(e));
    let mut errors = [err];
    stamp(&mut errors, request_id);
    let [err] = errors;
    err
}

/// Gives each error a stable code and a public message; logs what must stay private.
pub fn stamp(errors: &mut [ServerError], request_id: &str) {
    for err in errors {
        let app = err.source.as_ref().and_then(|s| s.downcast_ref::<AppError>());
        let code = match app {
            Some(app) => {
                if let Some(detail) = app.log_detail() {
                    tracing::error!(request_id, code = app.code(), detail, path = ?err.path, "request failed");
                }
                err.message = app.public_message();
                app.code()
            }
            None if err.extensions.as_ref().is_some_and(|e| e.get("code").is_some()) => continue,
            // A foreign error behind `?` in a resolver is a bug or an outage: hide its text.
            None if err.source.is_some() => {
                tracing::error!(request_id, detail = %err.message, path = ?err.path, "unclassified error");
                err.message = "internal server error".to_string();
                codes::INTERNAL_SERVER_ERROR
            }
            // Errors async-graphql raises itself: validation and bad arguments.
            None => codes::BAD_USER_INPUT,
        };
        let ext = err.extensions.get_or_insert_with(ErrorExtensionValues::default);
        ext.set("code", Value::from(code));
        if let Some(reason) = app.and_then(AppError::reason) {
            ext.set("reason", Value::from(reason));
        }
        if let Some(ms) = app.and_then(AppError::retry_after_ms) {
            ext.set("retryAfterMs", Value::from(ms));
        }
        if code == codes::INTERNAL_SERVER_ERROR || code == codes::PROVIDER_UNAVAILABLE {
            ext.set("requestId", Value::from(request_id));
        }
    }
}
