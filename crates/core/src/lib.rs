#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! What every layer of sandboxql shares: the one [`error::AppError`] with its stable codes
//! and reasons, every setting ([`config`], the one `Limits` struct included), the CPU pool
//! for heavy work ([`work`]), and the process-wide metrics registry ([`metrics`]).
//! Nothing here knows GraphQL, HTTP, the database or a backend.

pub mod cache;
pub mod config;
pub mod error;
pub mod metrics;
pub mod net;
pub mod work;
