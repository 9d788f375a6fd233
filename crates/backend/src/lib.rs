#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! Where sandboxes run. One implementation per provider, chosen at start-up and held as
//! `Arc<dyn Backend>`, so services never know which one they talk to. A backend is made of
//! capability traits ([`capabilities`]): every backend creates, runs commands in and
//! reaches the files of its sandboxes; what only some can do (read files at rest while a
//! sandbox sleeps, move many files in one go, watch a workspace) is an optional
//! capability, so what a backend lacks shows in its type, not as an error at run time.

// The layers below, under the names the code uses.
pub(crate) use sandboxql_core::{config, error, metrics, work};
pub(crate) use sandboxql_entity as entity;
pub(crate) use sandboxql_storage as storage;

pub mod capabilities;
pub mod exec;
pub mod files;
pub mod local;
pub mod modal;
pub mod order;
pub mod process;
pub mod remote;
pub mod sandbox_env;
pub mod template;
pub mod watch;

pub use self::{
    capabilities::{
        AtRest, Bulk, Exec, Files, Lifecycle, PortIo, PortStream, Ports, Processes, ResourceUsage, Usage, Watch,
    },
    watch::{RawChange, WorkspaceWatch},
};
pub use sandboxql_entity::external_id::ExternalId;

use uuid::Uuid;

use self::template::SandboxTemplate;
use std::sync::Arc;

/// What a [`Bulk::prefetch`] holds (spooled files) until the sync that asked drops it.
pub struct Prefetched {
    _guard: Option<Box<dyn Send + Sync>>,
}

impl Prefetched {
    /// Nothing was prefetched.
    pub fn none() -> Self {
        Self { _guard: None }
    }

    /// Holds `guard` (its drop releases what was prefetched).
    pub fn holding(guard: Box<dyn Send + Sync>) -> Self {
        Self { _guard: Some(guard) }
    }
}

/// What a backend needs to create a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// Our id of the sandbox (tags and directory names use it).
    pub sandbox_id: Uuid,
    /// Owner (tags, per-account volumes).
    pub account_id: Uuid,
    /// The premade configuration.
    pub template: Arc<SandboxTemplate>,
}

/// What the backend says about a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BackendStatus {
    /// Accepting work.
    Running,
    /// Stopped (by us, a timeout or the provider).
    Terminated,
    /// The backend does not know it.
    Missing,
}

/// A sandbox provider: the capabilities every backend has, and those only some have.
/// Errors are [`AppError`](crate::error::AppError)s: provider failures as
/// PROVIDER_UNAVAILABLE with detail for the log only.
pub trait Backend: Lifecycle + Exec + Files {
    /// Reads of a sleeping sandbox's files where they rest, if its sandboxes can sleep
    /// (end on their own while their files live on: Modal). None: they never sleep.
    fn at_rest(&self) -> Option<&dyn AtRest> {
        None
    }

    /// Moving many files in one go, where that is much cheaper than one by one (Modal:
    /// one exec instead of one per file).
    fn bulk(&self) -> Option<&dyn Bulk> {
        None
    }

    /// Watching a workspace as it changes; None: callers poll with [`Files::walk`].
    fn watcher(&self) -> Option<&dyn Watch> {
        None
    }

    /// Processes and terminals users start (None: this backend has none yet).
    fn processes(&self) -> Option<&dyn Processes> {
        None
    }

    /// Connections to the ports of a sandbox's processes (None: not on this backend).
    fn ports(&self) -> Option<&dyn Ports> {
        None
    }

    /// What this host bounds of each sandbox (None: the provider bounds its own).
    fn bounds_report(&self) -> Option<local::bounds::BoundsReport> {
        None
    }

    /// What its sandboxes use now (memory, CPU, disk, processes); None: it cannot tell.
    fn usage(&self) -> Option<&dyn Usage> {
        None
    }
}
