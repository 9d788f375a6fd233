#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! sandboxql: a GraphQL control plane for Claude Code sandboxes.
//!
//! The layers are crates (`crates/`), dependencies pointing down only, enforced by Cargo:
//! `core` → `entity` → `storage` → `backend` → `run` → `service` → `gql` → `graphql` | `api`. This crate is
//! the binary's: the composition root ([`startup`]), the command line ([`cli`]), the
//! start-up checks ([`preflight`]) and the jail's relay ([`relay`]); it re-exports the
//! layers under their names for the binary and the tests.

pub use sandboxql_api::{gateway, http, preview};
pub use sandboxql_backend as backend;
pub use sandboxql_core::{config, error, metrics, work};
pub use sandboxql_entity::{self as entity, db};
pub use sandboxql_gql as gql;
pub use sandboxql_graphql as graphql;
pub use sandboxql_run as run;
pub use sandboxql_service::{self as service, auth};
pub use sandboxql_storage as storage;

pub mod cli;
pub mod data_dir;
pub mod hosts;
pub mod parts;
pub mod preflight;
pub mod relay;
pub mod startup;

/// mimalloc instead of glibc malloc: GraphQL execution allocates many small objects from
/// many threads, where glibc spends a fifth of the request in malloc/free (measured with
/// `perf` on `bench/list_sandboxes`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
