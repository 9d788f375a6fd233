#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! sandboxql: a GraphQL control plane for Claude Code sandboxes.
//!
//! Data flows one way: `graphql` (translates) → `service` (decides) → `entity` (stores),
//! `backend` (runs sandboxes), `storage` (holds blobs), `run` (streams).

pub mod auth;
pub mod backend;
pub mod cli;
pub mod config;
pub mod db;
pub mod entity;
pub mod error;
pub mod gateway;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod preflight;
pub mod relay;
pub mod run;
pub mod service;
pub mod startup;
pub mod storage;
pub mod work;

/// mimalloc instead of glibc malloc: GraphQL execution allocates many small objects from
/// many threads, where glibc spends a fifth of the request in malloc/free (measured with
/// `perf` on `bench/list_sandboxes`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
