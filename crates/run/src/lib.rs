#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! Claude runs: starting `claude` in a sandbox, parsing its stream, storing every event,
//! and fanning events out live to subscribers on this and other instances.

/// The layers below, under the names the code uses.
pub(crate) use sandboxql_backend as backend;
pub(crate) use sandboxql_core::{config, error, metrics};
pub(crate) use sandboxql_entity::{self as entity, db};

pub mod command;
pub mod events;
pub mod follow;
pub mod hub;
pub mod interactive;
pub mod manager;
pub mod notify;
mod outcome;
mod output;
pub mod pg_bridge;
pub mod recovery;
pub mod store;
pub mod supervisor;
pub mod token;
pub mod turns;
pub mod warm;
pub mod writer;
