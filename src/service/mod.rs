//! Account-scoped business logic. Knows nothing of GraphQL or HTTP: every function takes
//! the [`Viewer`](crate::auth::Viewer) and returns [`AppResult`](crate::error::AppResult).

pub mod accounts;
pub mod audit;
mod file_tree;
pub mod file_writes;
pub mod files;
pub mod listing_cache;
pub mod manifest;
pub mod mime;
pub mod paging;
pub mod restore;
pub mod runs;
mod sandbox_create;
pub mod sandboxes;
pub mod sync;
pub mod templates;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{backend::Backend, run::manager::RunManager};

/// What services need, cloned cheaply into every request.
#[derive(Clone)]
pub struct Services {
    /// The database.
    pub db: DatabaseConnection,
    /// Where sandboxes run.
    pub backend: Arc<dyn Backend>,
    /// Limits that services enforce.
    pub settings: Arc<ServiceSettings>,
    /// Claude runs executing on this instance and their live fan-out.
    pub runs: Arc<RunManager>,
    /// Recent directory walks for paging.
    pub listings: Arc<listing_cache::ListingCache>,
    /// Snapshot storage.
    pub blobs: Arc<dyn crate::storage::BlobStore>,
    /// Recently read snapshot manifests.
    pub manifests: Arc<manifest::ManifestCache>,
    /// Sandboxes with a sync in progress on this instance.
    pub syncing: Arc<std::sync::Mutex<std::collections::HashSet<uuid::Uuid>>>,
}

/// Policy knobs the services enforce, taken from the config at start-up.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Live sandboxes one account may hold.
    pub max_sandboxes_per_account: u64,
    /// Largest `maxBytes` of a file read.
    pub max_file_read_bytes: u64,
    /// Largest file written through the API.
    pub max_file_write_bytes: u64,
}
