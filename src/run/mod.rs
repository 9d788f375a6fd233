//! Claude runs: starting `claude` in a sandbox, parsing its stream, storing every event,
//! and fanning events out live to subscribers on this and other instances.

pub mod command;
pub mod conversation;
pub mod events;
pub mod follow;
pub mod hub;
pub mod inputs;
mod interaction;
pub mod manager;
mod outcome;
pub mod pg_bridge;
pub mod recovery;
pub mod store;
pub mod supervisor;
pub mod writer;
