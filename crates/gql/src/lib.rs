#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! GraphQL mechanics that know nothing of our schema: the [`Engine`] the HTTP surface
//! runs GraphQL through, who may run what ([`admission`]), how errors leave with stable
//! codes ([`errors`]), and how a document is admitted before it runs: its shape counted
//! in one pass ([`shape`], [`nesting`]), prepared once and cached ([`documents`]),
//! persisted and trusted documents ([`persisted`]), its cost held to the limit
//! ([`validation`]).
//!
//! The schema (the `sandboxql-graphql` crate) implements [`Engine`]; the transports (the
//! `sandboxql-api` crate) hold an `Arc<dyn Engine>`. Neither depends on the other, so a
//! change to a resolver recompiles the schema alone, not the HTTP surface.

pub mod admission;
pub mod documents;
pub mod errors;
pub mod nesting;
pub mod persisted;
pub mod shape;
pub mod validation;

use std::sync::Arc;

use async_graphql::{
    Data, Executor, Request, Response,
    futures_util::{future::BoxFuture, stream::BoxStream},
};

pub use self::admission::Allowed;

// The layer below, under the name the code uses.
pub(crate) use sandboxql_core::{cache, config, error, work};

/// Identifies one HTTP request or websocket connection in logs and error replies.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The seq a reconnecting SSE client last saw (`Last-Event-ID`): `runEvents` resumes
/// after it.
#[derive(Debug, Clone, Copy)]
pub struct LastEventId(pub i64);

/// Who asks: the request (or connection) id for logs, and what the caller may run.
#[derive(Debug, Clone)]
pub struct Call {
    /// The request or connection id.
    pub request_id: Arc<str>,
    /// What this caller may run.
    pub allowed: Allowed,
}

/// GraphQL as the transports run it: a request in, a response (or a stream of them) out,
/// with documents bounded, callers held to what they may run and errors stamped.
pub trait Engine: Send + Sync + 'static {
    /// Runs one query or mutation.
    fn execute(&self, request: Request, call: &Call) -> BoxFuture<'static, Response>;

    /// Runs an operation as a stream (subscriptions; queries give one response), with the
    /// connection's data when it has any.
    fn execute_stream(&self, request: Request, session: Option<Arc<Data>>, call: &Call)
    -> BoxStream<'static, Response>;
}

/// An engine bound to one caller: what a transport executes, through async-graphql's
/// `Executor` (so batches and streams work as the library's own transports expect).
#[derive(Clone)]
pub struct Bound {
    engine: Arc<dyn Engine>,
    call: Call,
}

impl Bound {
    /// `engine` for the request or connection `request_id`, running what `allowed` lets it.
    pub fn new(engine: Arc<dyn Engine>, request_id: &str, allowed: Allowed) -> Self {
        Self { engine, call: Call { request_id: request_id.into(), allowed } }
    }
}

impl Executor for Bound {
    async fn execute(&self, request: Request) -> Response {
        self.engine.execute(request, &self.call).await
    }

    fn execute_stream(&self, request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        self.engine.execute_stream(request, session_data, &self.call)
    }
}
