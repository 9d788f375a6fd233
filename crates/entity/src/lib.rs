#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! sea-orm entities: one module per table of the migration crate.

/// The layers below, under the names the code uses.
pub(crate) use sandboxql_core::{config, error};

pub mod constraints;
pub mod db;

pub mod account;
pub mod account_budget;
pub mod account_credential;
pub mod account_erasure;
pub mod account_retention;
pub mod agent_run;
pub mod agent_run_event;
pub mod api_token;
pub mod blob;
pub mod blob_gate;
pub mod change_log;
pub mod checkpoint;
pub mod enums;
pub mod external_id;
pub mod host_instance;
pub mod lease;
pub mod permission_request;
pub mod process_output;
pub mod run_input;
pub mod sandbox;
pub mod sandbox_preview;
pub mod sandbox_process;
pub mod server_key;
pub mod snapshot;
pub mod usage_record;
pub mod warm_claude;
pub mod webhook;
pub mod webhook_delivery;
pub mod webhook_event;

/// A new time-ordered id: UUID v7 sorts by creation time, which keyset paging relies on.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// Now, truncated to microseconds so SQLite and Postgres round-trip the same value.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let t = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}
