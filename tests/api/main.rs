//! Integration tests: a real server on port 0 per test, real SQLite and Postgres.

mod helpers;

pub(crate) use sandboxql_testkit::both_dbs;

mod files_browse;
mod files_confinement;
mod files_write;

mod abuse;
mod admin;
mod bad_input;
mod budgets;
mod cli;
mod connections;
mod cpu_group;
mod docs;
mod document_bounds;
mod gateway;
mod http_audit;
mod instances;
mod interactive;
mod interactive_instances;
mod interactive_limits;
mod isolation;
mod jail_network;
mod jwt;
mod limits;
mod modal_backend;
mod modal_bulk;
mod modal_interactive;
mod modal_live;
mod modal_resilience;
mod modal_sleep;
mod newcomer;
mod nodes;
mod operability;
mod paging;
mod persisted;
mod persistence;
mod playground;
mod promises;
mod real_claude;
mod restore;
mod runs_control;
mod runs_security;
mod runs_stream;
mod saga;
mod sandbox_crud;
mod schema;
mod source_rules;
mod sse;
mod sync;
mod sync_outage;
mod token_scopes;
mod tools;
mod websocket;
mod workspace_changes;
