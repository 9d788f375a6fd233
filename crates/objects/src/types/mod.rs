//! GraphQL object types: thin wrappers over service results that only translate.

pub mod account;
pub mod checkpoint;
pub mod credential;
pub mod enums;
pub mod event;
pub mod file;
pub mod git;
pub mod interaction_event;
pub mod limits;
pub mod page;
pub mod permission;
pub mod preview;
pub mod process;
pub mod run;
pub mod run_event;
pub mod sandbox;
pub mod sandbox_connection;
pub mod snapshot;
pub mod storage;
pub mod stream_event;
pub mod template;
pub mod terminal;
pub mod usage;
pub mod webhook;
