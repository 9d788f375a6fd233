//! A sandbox's life: created as a saga, restored from a snapshot, deleted after its runs
//! are cancelled and its workspace is synced. This is the one service that orchestrates
//! the others (runs, sync, snapshots); none of them calls back into it.

mod create;
mod delete;
mod erase;
mod fork;
pub mod leases;
mod move_host;
mod reconcile;
mod recovery;
mod resources;
mod restore;
pub mod restore_archive;
pub mod waker;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

pub use self::create::CreateSandbox;
use super::{
    files::Files,
    lifecycle::leases::Leases,
    quotas::Quotas,
    runs::Runs,
    snapshots::{Snapshots, sync::Syncer},
};
use crate::{
    backend::{Backend, template::Templates},
    config::Limits,
};

/// Creating, restoring and deleting sandboxes.
#[derive(Clone)]
pub struct Lifecycle {
    pub(super) db: DatabaseConnection,
    pub(super) backend: Arc<dyn Backend>,
    pub(super) runs: Runs,
    pub(super) sync: Syncer,
    pub(super) snapshots: Snapshots,
    pub(super) files: Files,
    pub(super) quotas: Quotas,
    pub(super) leases: Leases,
    pub(super) limits: Arc<Limits>,
    pub(super) templates: Arc<Templates>,
    pub(super) waker: waker::Waker,
    pub(super) git: crate::git::Git,
    /// Which host each local sandbox lives on (None: the backend is reached from any
    /// instance, as Modal is).
    pub(super) hosts: Option<crate::hosts::Directory>,
}
