//! Reading snapshots: their rows (scoped like sandboxes) and their manifests from the
//! blob store, cached because a manifest never changes once written.

use std::{ops::Deref, sync::Arc};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{
    manifest::{Manifest, ManifestCache},
    sandboxes::VisibleSandbox,
};
use crate::{
    auth::Viewer,
    config::Limits,
    entity::snapshot,
    error::{AppError, AppResult},
    storage::BlobStore,
};

/// A snapshot the viewer may see: produced only by the lookups of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibleSnapshot(snapshot::Model);

impl Deref for VisibleSnapshot {
    type Target = snapshot::Model;
    fn deref(&self) -> &snapshot::Model {
        &self.0
    }
}

impl VisibleSnapshot {
    /// The row, for callers that need to own it.
    pub fn into_row(self) -> snapshot::Model {
        self.0
    }
}

/// Snapshot rows and manifests.
#[derive(Clone)]
pub struct Snapshots {
    db: DatabaseConnection,
    /// The blob store holding manifests and file contents.
    pub blobs: Arc<dyn BlobStore>,
    manifests: Arc<ManifestCache>,
}

/// Storage failures are the provider's, not ours: PROVIDER_UNAVAILABLE with detail logged.
pub fn storage_error(e: AppError) -> AppError {
    match e {
        AppError::Internal(err) => AppError::provider("object storage is unavailable", format!("{err:#}")),
        other => other,
    }
}

impl Snapshots {
    /// Snapshots over `blobs`, caching up to the configured number of manifests.
    pub fn new(db: DatabaseConnection, blobs: Arc<dyn BlobStore>, limits: Arc<Limits>) -> Self {
        Self { db, blobs, manifests: Arc::new(ManifestCache::new(limits.manifest_cache_entries as usize)) }
    }

    /// A snapshot the viewer may see (e.g. to restore from), or NOT_FOUND.
    pub async fn require(&self, viewer: &Viewer, id: Uuid) -> AppResult<VisibleSnapshot> {
        let row = snapshot::Entity::find_by_id(id).one(&self.db).await?;
        row.filter(|s| viewer.can_see(s.account_id)).map(VisibleSnapshot).ok_or(AppError::NotFound("snapshot"))
    }

    /// The named snapshot of this sandbox, or its newest one; NOT_FOUND when there is none.
    pub async fn of_sandbox(&self, sb: &VisibleSandbox, id: Option<Uuid>) -> AppResult<VisibleSnapshot> {
        let q = snapshot::Entity::find().filter(snapshot::Column::SandboxId.eq(sb.id));
        let row = match id {
            Some(id) => q.filter(snapshot::Column::Id.eq(id)).one(&self.db).await?,
            None => q.order_by_desc(snapshot::Column::Id).one(&self.db).await?,
        };
        row.map(VisibleSnapshot).ok_or(AppError::NotFound("snapshot"))
    }

    /// The newest snapshot of a sandbox and its manifest, if it has one.
    pub async fn latest(&self, sb: &VisibleSandbox) -> AppResult<Option<(VisibleSnapshot, Arc<Manifest>)>> {
        match self.of_sandbox(sb, None).await {
            Ok(snap) => {
                let manifest = self.manifest(&snap).await?;
                Ok(Some((snap, manifest)))
            }
            Err(AppError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Snapshots of a sandbox, newest first.
    pub async fn list(&self, sb: &VisibleSandbox, first: u64) -> AppResult<Vec<snapshot::Model>> {
        Ok(snapshot::Entity::find()
            .filter(snapshot::Column::SandboxId.eq(sb.id))
            .order_by_desc(snapshot::Column::Id)
            .limit(first)
            .all(&self.db)
            .await?)
    }

    /// Reads and parses a snapshot's manifest (cached by snapshot id: manifests never change).
    pub async fn manifest(&self, snap: &VisibleSnapshot) -> AppResult<Arc<Manifest>> {
        if let Some(m) = self.manifests.get(snap.id) {
            return Ok(m);
        }
        let bytes = self.blobs.get(&snap.manifest_key).await.map_err(storage_error)?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("manifest {}: {e}", snap.manifest_key)))?;
        let manifest = Arc::new(manifest);
        self.manifests.put(snap.id, manifest.clone());
        Ok(manifest)
    }
}
