#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! The GraphQL object types: thin wrappers over service results whose fields translate,
//! and what every resolver takes from a request ([`context`]), costs ([`cost`]) and
//! batches ([`loaders`]).
//!
//! Apart from the root resolvers (the `sandboxql-graphql` crate) because they change far
//! less often and their derives are most of the schema's compile time: a change to a root
//! resolver recompiles the roots alone.

// The layers below, under the names the code uses.
pub(crate) use sandboxql_backend as backend;
pub(crate) use sandboxql_core::{config, error};
pub(crate) use sandboxql_entity as entity;
pub(crate) use sandboxql_run as run;
pub(crate) use sandboxql_service::{self as service, auth};

pub mod context;
pub mod cost;
pub mod loaders;
pub mod types;
