//! Turns every error leaving the schema into one with a stable `extensions.code`.
//!
//! Resolvers just use `?` on [`AppError`]; this extension finds the `AppError` behind each
//! error, replaces its message with the public one, logs internal detail with the request
//! id, and gives parse/validation/limit errors the code BAD_USER_INPUT.

use std::sync::Arc;

use async_graphql::{
    ErrorExtensionValues, Response, ServerError, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe},
    futures_util::stream::{BoxStream, StreamExt},
};

use crate::error::{AppError, codes};

/// Identifies one HTTP request or websocket connection in logs and error replies.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Installs [`ErrorCodes`] on a schema.
pub struct ErrorCodesFactory;

impl ExtensionFactory for ErrorCodesFactory {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

/// The extension itself; stateless.
struct ErrorCodes;

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let rid = request_id(ctx);
        let mut resp = next.run(ctx).await;
        stamp(&mut resp.errors, &rid);
        resp
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let rid = request_id(ctx);
        next.run(ctx, stream)
            .map(move |mut resp| {
                stamp(&mut resp.errors, &rid);
                resp
            })
            .boxed()
    }
}

fn request_id(ctx: &ExtensionContext<'_>) -> String {
    ctx.data_opt::<RequestId>().map(|r| r.0.clone()).unwrap_or_else(|| "-".to_string())
}

fn stamp(errors: &mut [ServerError], request_id: &str) {
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
            None if err.extensions.as_ref().is_some_and(|e| e.get("code").is_some()) => {
                continue;
            }
            // A foreign error behind `?` in a resolver is a bug or an outage: hide its text.
            None if err.source.is_some() => {
                tracing::error!(request_id, detail = %err.message, path = ?err.path, "unclassified error");
                err.message = "internal server error".to_string();
                codes::INTERNAL_SERVER_ERROR
            }
            // Errors async-graphql raises itself: parse, validation, limits, bad arguments.
            None => codes::BAD_USER_INPUT,
        };
        let ext = err.extensions.get_or_insert_with(ErrorExtensionValues::default);
        ext.set("code", Value::from(code));
        if code == codes::INTERNAL_SERVER_ERROR || code == codes::PROVIDER_UNAVAILABLE {
            ext.set("requestId", Value::from(request_id));
        }
    }
}
