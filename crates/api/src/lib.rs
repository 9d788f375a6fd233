#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! The outside of sandboxql: the HTTP surface ([`http`]: routes, transports, the accept
//! loop, the playground) and the Anthropic gateway ([`gateway`]). GraphQL itself runs
//! through the `Engine` of `sandboxql-gql` (the schema crate implements it; the binary
//! wires them), so a resolver change does not recompile this crate. With the schema, the
//! only layer that knows async-graphql and axum.

/// The layers below, under the names the code uses.
pub(crate) use sandboxql_core::{config, error, metrics, net};
pub(crate) use sandboxql_entity::{db, enums};
pub(crate) use sandboxql_gql as gql;
pub(crate) use sandboxql_service::{self as service, auth};

pub mod gateway;
pub mod http;
pub mod internal;
pub mod preview;
