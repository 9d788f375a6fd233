//! The schema as every transport runs it ([`SchemaEngine`], the `Engine` of the
//! transports): each request's document is prepared (looked up, bounded, parsed off the
//! runtime), held to what the caller may run, executed, and its errors capped and stamped
//! with stable codes.

use std::sync::Arc;

use async_graphql::{
    Data, Request, Response, Value,
    futures_util::{
        future::{BoxFuture, FutureExt},
        stream::{BoxStream, StreamExt},
    },
};
use sandboxql_gql::{
    Call, Engine, RequestId,
    errors::{cap, server_error, stamp},
};

use super::{AppSchema, documents::DocumentCache};

/// The schema and its document cache: what the transports execute GraphQL with.
#[derive(Clone)]
pub struct SchemaEngine {
    schema: AppSchema,
    documents: Arc<DocumentCache>,
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

impl SchemaEngine {
    /// The engine of `schema`, preparing documents with `documents`.
    pub fn new(schema: AppSchema, documents: Arc<DocumentCache>) -> Self {
        Self { schema, documents }
    }

    /// Gives the request its parsed, measured document, or the refusal of one that does
    /// not parse, is outside the document bounds, or is not the caller's to run. The
    /// shape travels with the request, for validation to see.
    async fn prepare(&self, mut request: Request, call: &Call) -> Result<Request, Response> {
        let refusal = |e| Response::from_errors(vec![server_error(e, &call.request_id)]);
        let shape = self.documents.prepare(&mut request).await.map_err(refusal)?;
        if let Some(e) = request.parsed_query().ok().and_then(|doc| call.allowed.refusal(doc)) {
            return Err(refusal(e));
        }
        Ok(request.data(shape))
    }

    /// Executes a request that [`prepare`](Self::prepare) accepted.
    async fn execute_prepared(&self, mut request: Request, call: &Call) -> Response {
        let name = operation_name(&mut request);
        // One span per operation: what it calls (database, backend) nests in it.
        let span = tracing::info_span!("graphql", operation = name.as_deref().unwrap_or("anonymous"));
        let run = self.schema.execute(request.data(RequestId(call.request_id.to_string())));
        let mut resp = tracing::Instrument::instrument(run, span).await;
        cap(&mut resp.errors, self.documents.limits().max_errors);
        stamp(&mut resp.errors, &call.request_id);
        resp
    }

    async fn run(self, request: Request, call: Call) -> Response {
        let started = std::time::Instant::now();
        let (name, resp) = match self.prepare(request, &call).await {
            Ok(mut request) => (operation_name(&mut request), self.execute_prepared(request, &call).await),
            Err(refused) => (None, refused),
        };
        crate::metrics::operation(name.as_deref(), &result_code(&resp), started.elapsed());
        resp
    }

    fn stream(self, mut request: Request, session: Option<Arc<Data>>, call: Call) -> BoxStream<'static, Response> {
        let name = operation_name(&mut request);
        crate::metrics::operation(name.as_deref(), "SUBSCRIBED", std::time::Duration::ZERO);
        let active = crate::metrics::subscription();
        let max_errors = self.documents.limits().max_errors;
        let stream = match session {
            Some(data) => self.schema.execute_stream_with_session_data(request, data),
            None => self.schema.execute_stream(request),
        };
        stream
            .map(move |mut resp| {
                let _active = &active;
                cap(&mut resp.errors, max_errors);
                stamp(&mut resp.errors, &call.request_id);
                resp
            })
            .boxed()
    }
}

impl Engine for SchemaEngine {
    fn execute(&self, request: Request, call: &Call) -> BoxFuture<'static, Response> {
        self.clone().run(request, call.clone()).boxed()
    }

    fn execute_stream(
        &self,
        request: Request,
        session: Option<Arc<Data>>,
        call: &Call,
    ) -> BoxStream<'static, Response> {
        let (this, call) = (self.clone(), call.clone());
        futures::stream::once(async move { this.prepare(request, &call).await.map(|r| (this, r, call)) })
            .flat_map(move |prepared| match prepared {
                Err(refused) => futures::stream::once(async move { refused }).boxed(),
                Ok((this, request, call)) => this.stream(request, session.clone(), call),
            })
            .boxed()
    }
}
