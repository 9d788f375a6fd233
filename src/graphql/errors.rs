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
use crate::error::{AppError, codes, reasons};

/// Identifies one HTTP request or websocket connection in logs and error replies.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Which operations a request may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Queries, mutations and subscriptions.
    Everything,
    /// No mutations: the token is read-only (FORBIDDEN).
    ReadOnly,
    /// Queries only: the request came by GET (BAD_USER_INPUT, answered 405).
    QueriesOnly,
}

impl Allowed {
    /// These operations, for a read-only token.
    pub fn and_read_only(self) -> Self {
        match self {
            Allowed::Everything => Allowed::ReadOnly,
            other => other,
        }
    }
}

/// The schema with error codes stamped on every response, for one request or connection.
/// It also keeps read-only callers to queries and subscriptions, whatever the transport.
#[derive(Clone)]
pub struct CodedSchema {
    schema: AppSchema,
    request_id: Arc<str>,
    documents: Arc<DocumentCache>,
    allowed: Allowed,
}

impl CodedSchema {
    /// Wraps the schema for a request or connection with the given id.
    pub fn new(schema: AppSchema, documents: Arc<DocumentCache>, request_id: &str) -> Self {
        Self { schema, request_id: request_id.into(), documents, allowed: Allowed::Everything }
    }

    /// Refuses mutations (the caller's token may only read).
    pub fn read_only(self, read_only: bool) -> Self {
        if read_only { self.allowing(Allowed::ReadOnly) } else { self }
    }

    /// Runs only the operations `allowed`.
    pub fn allowing(mut self, allowed: Allowed) -> Self {
        self.allowed = allowed;
        self
    }

    /// A response holding only `e`, stamped.
    fn refusal(&self, e: AppError) -> Response {
        Response::from_errors(vec![server_error(e, &self.request_id)])
    }

    /// FORBIDDEN when a read-only caller sends a document with a mutation in it; refused
    /// when a GET request carries anything but queries.
    fn refuse(&self, request: &mut Request) -> Option<Response> {
        use async_graphql::parser::types::OperationType;
        if self.allowed == Allowed::Everything {
            return None;
        }
        let doc = request.parsed_query().ok()?;
        let types = || doc.operations.iter().map(|(_, op)| op.node.ty);
        let refusal = match self.allowed {
            Allowed::ReadOnly if types().any(|t| t == OperationType::Mutation) => {
                AppError::Forbidden("this token is read-only: it may run queries and subscriptions only".into())
            }
            Allowed::QueriesOnly if types().any(|t| t != OperationType::Query) => AppError::bad_input_because(
                reasons::MUTATION_OVER_GET,
                "GET may only carry queries; send mutations with POST",
            ),
            _ => return None,
        };
        Some(self.refusal(refusal))
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

impl CodedSchema {
    /// Gives the request its parsed, measured document (refusing it when it does not
    /// parse, is outside the document bounds, or mutates on a read-only token). The shape
    /// travels with the request, for validation to see.
    pub async fn prepare(&self, mut request: Request) -> Result<Request, Response> {
        let shape = self.documents.prepare(&mut request).await.map_err(|e| self.refusal(e))?;
        if let Some(refused) = self.refuse(&mut request) {
            return Err(refused);
        }
        Ok(request.data(shape))
    }

    /// Executes a request that [`prepare`](Self::prepare) accepted.
    pub async fn execute_prepared(&self, mut request: Request) -> Response {
        let name = operation_name(&mut request);
        // One span per operation: what it calls (database, backend) nests in it.
        let span = tracing::info_span!("graphql", operation = name.as_deref().unwrap_or("anonymous"));
        let run = self.schema.execute(request.data(RequestId(self.request_id.to_string())));
        let mut resp = tracing::Instrument::instrument(run, span).await;
        cap(&mut resp.errors, self.documents.limits().max_errors);
        stamp(&mut resp.errors, &self.request_id);
        resp
    }
}

impl Executor for CodedSchema {
    async fn execute(&self, request: Request) -> Response {
        let started = std::time::Instant::now();
        let (name, resp) = match self.prepare(request).await {
            Ok(mut request) => (operation_name(&mut request), self.execute_prepared(request).await),
            Err(refused) => (None, refused),
        };
        crate::metrics::operation(name.as_deref(), &result_code(&resp), started.elapsed());
        resp
    }

    fn execute_stream(&self, request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        let this = self.clone();
        futures::stream::once(async move { this.prepare(request).await.map(|r| (this, r)) })
            .flat_map(move |prepared| match prepared {
                Err(refused) => futures::stream::once(async move { refused }).boxed(),
                Ok((this, mut request)) => {
                    let name = operation_name(&mut request);
                    crate::metrics::operation(name.as_deref(), "SUBSCRIBED", std::time::Duration::ZERO);
                    let active = crate::metrics::subscription();
                    let rid = this.request_id.clone();
                    let max_errors = this.documents.limits().max_errors;
                    let stream = match session_data.clone() {
                        Some(data) => this.schema.execute_stream_with_session_data(request, data),
                        None => this.schema.execute_stream(request),
                    };
                    stream
                        .map(move |mut resp| {
                            let _active = &active;
                            cap(&mut resp.errors, max_errors);
                            stamp(&mut resp.errors, &rid);
                            resp
                        })
                        .boxed()
                }
            })
            .boxed()
    }
}

/// Keeps the first `max` errors and sums the rest up in one more.
fn cap(errors: &mut Vec<ServerError>, max: usize) {
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
