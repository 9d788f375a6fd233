//! The schema as every transport runs it ([`CodedSchema`]): each request's document is
//! prepared (looked up, bounded, parsed off the runtime), held to what the caller may run,
//! executed, and its errors capped and stamped with stable codes.

use std::sync::Arc;

use async_graphql::{
    Data, Executor, Request, Response, Value,
    futures_util::stream::{BoxStream, StreamExt},
};

use super::{
    AppSchema,
    admission::Allowed,
    documents::DocumentCache,
    errors::{cap, server_error, stamp},
};
use crate::error::AppError;

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
    allowed: Allowed,
}

impl CodedSchema {
    /// Wraps the schema for a request or connection with the given id.
    pub fn new(schema: AppSchema, documents: Arc<DocumentCache>, request_id: &str) -> Self {
        Self { schema, request_id: request_id.into(), documents, allowed: Allowed::default() }
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

    /// The refusal of a document the caller may not run.
    fn refuse(&self, request: &mut Request) -> Option<Response> {
        let doc = request.parsed_query().ok()?;
        self.allowed.refusal(doc).map(|e| self.refusal(e))
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
