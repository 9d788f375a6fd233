//! Turns every error leaving the schema into one with a stable `extensions.code`.
//!
//! Resolvers just use `?` on [`AppError`]; [`CodedSchema`] finds the `AppError` behind each
//! error of a response, replaces its message with the public one, logs internal detail
//! with the request id, and gives parse/validation/limit errors the code BAD_USER_INPUT.
//! It wraps whole responses rather than hooking every field, so it costs nothing per field.

use std::sync::Arc;

use async_graphql::{
    Data, ErrorExtensionValues, Executor, Request, Response, ServerError, Value,
    futures_util::stream::{BoxStream, StreamExt},
};

use super::{AppSchema, documents::DocumentCache};
use crate::error::{AppError, codes};

/// Identifies one HTTP request or websocket connection in logs and error replies.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The schema with error codes stamped on every response, for one request or connection.
/// It also keeps read-only callers to queries and subscriptions, whatever the transport.
#[derive(Clone)]
pub struct CodedSchema {
    schema: AppSchema,
    request_id: Arc<str>,
    documents: Arc<DocumentCache>,
    read_only: bool,
}

impl CodedSchema {
    /// Wraps the schema for a request or connection with the given id.
    pub fn new(schema: AppSchema, documents: Arc<DocumentCache>, request_id: &str) -> Self {
        Self { schema, request_id: request_id.into(), documents, read_only: false }
    }

    /// Refuses mutations (the caller's token may only read).
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// A response holding only `e`, stamped.
    fn refusal(&self, e: AppError) -> Response {
        let mut err = ServerError::new("", None);
        err.source = Some(Arc::new(e));
        let mut resp = Response::from_errors(vec![err]);
        stamp(&mut resp.errors, &self.request_id);
        resp
    }

    /// FORBIDDEN when a read-only caller sends a document with a mutation in it.
    fn refuse(&self, request: &mut Request) -> Option<Response> {
        use async_graphql::parser::types::OperationType;
        if !self.read_only {
            return None;
        }
        let doc = request.parsed_query().ok()?;
        let mutates = doc.operations.iter().any(|(_, op)| op.node.ty == OperationType::Mutation);
        if !mutates {
            return None;
        }
        Some(
            self.refusal(AppError::Forbidden(
                "this token is read-only: it may run queries and subscriptions only".into(),
            )),
        )
    }
}

/// The operation's name: as sent, else the name of the document's only operation.
fn operation_name(request: &mut Request) -> Option<String> {
    if let Some(n) = &request.operation_name {
        return Some(n.clone());
    }
    let doc = request.parsed_query().ok()?;
    let mut ops = doc.operations.iter();
    let (name, _) = ops.next()?;
    if ops.next().is_some() {
        return None;
    }
    name.map(|n| n.to_string())
}

/// The first error's code, or OK: the result label of an operation.
fn result_code(resp: &Response) -> String {
    let code = resp.errors.first().and_then(|e| e.extensions.as_ref()).and_then(|x| x.get("code"));
    match code {
        Some(Value::String(c)) => c.clone(),
        Some(Value::Enum(c)) => c.to_string(),
        _ if resp.errors.is_empty() => "OK".into(),
        _ => "ERROR".into(),
    }
}

impl Executor for CodedSchema {
    async fn execute(&self, mut request: Request) -> Response {
        let started = std::time::Instant::now();
        let prepared = self.documents.prepare(&mut request);
        let name = operation_name(&mut request);
        let resp = match prepared.err().map(|e| self.refusal(e)).or_else(|| self.refuse(&mut request)) {
            Some(refused) => refused,
            None => {
                // One span per operation: what it calls (database, backend) nests in it.
                let span = tracing::info_span!("graphql", operation = name.as_deref().unwrap_or("anonymous"));
                let run = self.schema.execute(request.data(RequestId(self.request_id.to_string())));
                let mut resp = tracing::Instrument::instrument(run, span).await;
                stamp(&mut resp.errors, &self.request_id);
                resp
            }
        };
        crate::metrics::operation(name.as_deref(), &result_code(&resp), started.elapsed());
        resp
    }

    fn execute_stream(&self, mut request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        if let Err(e) = self.documents.prepare(&mut request) {
            let refused = self.refusal(e);
            return futures::stream::once(async move { refused }).boxed();
        }
        if let Some(refused) = self.refuse(&mut request) {
            return futures::stream::once(async move { refused }).boxed();
        }
        let rid = self.request_id.clone();
        crate::metrics::operation(operation_name(&mut request).as_deref(), "SUBSCRIBED", std::time::Duration::ZERO);
        let active = crate::metrics::subscription();
        let stream = match session_data {
            Some(data) => self.schema.execute_stream_with_session_data(request, data),
            None => self.schema.execute_stream(request),
        };
        stream
            .map(move |mut resp| {
                let _active = &active;
                stamp(&mut resp.errors, &rid);
                resp
            })
            .boxed()
    }
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
            // Errors async-graphql raises itself: parse, validation, limits, bad arguments.
            None => {
                if err.message == "Query is too complex." {
                    err.message = "the request costs more than `limits.maxQueryCost` allows (a database query or \
                        backend call costs 250, a KiB read 1, a list its page size times each item); ask for \
                        fewer items, fewer bytes or fewer fields per request"
                        .to_string();
                } else if err.message == "Query is nested too deep." {
                    err.message = "the query is nested deeper than `limits.maxQueryDepth` allows".to_string();
                }
                codes::BAD_USER_INPUT
            }
        };
        let ext = err.extensions.get_or_insert_with(ErrorExtensionValues::default);
        ext.set("code", Value::from(code));
        if let Some(ms) = app.and_then(AppError::retry_after_ms) {
            ext.set("retryAfterMs", Value::from(ms));
        }
        if code == codes::INTERNAL_SERVER_ERROR || code == codes::PROVIDER_UNAVAILABLE {
            ext.set("requestId", Value::from(request_id));
        }
    }
}
