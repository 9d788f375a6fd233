#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! The outside of sandboxql: the GraphQL schema ([`graphql`]: resolvers translate, nothing
//! more), the HTTP surface ([`http`]: routes, transports, the accept loop, the playground)
//! and the Anthropic gateway ([`gateway`]). The only layer that knows async-graphql and axum.

/// The layers below, under the names the code uses.
pub(crate) use sandboxql_backend as backend;
pub(crate) use sandboxql_core::{config, error, metrics, work};
pub(crate) use sandboxql_entity::{self as entity, db};
pub(crate) use sandboxql_run as run;
pub(crate) use sandboxql_service::{self as service, auth};

pub mod gateway;
pub mod graphql;
pub mod http;
