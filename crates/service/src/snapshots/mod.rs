//! Reading snapshots: their rows (scoped like sandboxes) and their manifests from the
//! blob store, cached because a manifest never changes once written.

pub mod gate;
pub mod manifest;
pub mod manifest_io;
pub mod retention;
pub mod sync;
pub mod verify;

use std::{ops::Deref, sync::Arc};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::{
    auth::Viewer,
    backend::files::{Walk, WorkspacePath},
    config::Limits,
    entity::{checkpoint, snapshot},
    error::{AppError, AppResult},
    storage::BlobStore,
};
use crate::{
    sandboxes::VisibleSandbox,
    snapshots::manifest::{Manifest, ManifestCache, ManifestEntry, UnderDir},
    snapshots::manifest_io::ManifestReader,
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

    /// A snapshot row read by the reclaim, which reads every manifest of an account
    /// (nothing of it reaches a client).
    pub(crate) fn vouched_for_reclaim(row: snapshot::Model) -> Self {
        Self(row)
    }

    /// A checkpoint's files read as a snapshot's (same manifest format and blob store);
    /// only from a checkpoint row a lookup already scoped.
    pub(crate) fn of_checkpoint(cp: &checkpoint::Model) -> Self {
        Self(snapshot::Model {
            id: cp.id,
            sandbox_id: cp.sandbox_id,
            account_id: cp.account_id,
            manifest_key: cp.manifest_key.clone(),
            file_count: cp.file_count,
            total_bytes: cp.total_bytes,
            status: crate::entity::enums::SnapshotStatus::Unverified,
            verified_at: None,
            corrupt_paths: None,
            created_at: cp.created_at,
            updated_at: cp.updated_at,
        })
    }
}

/// Snapshot rows and manifests.
#[derive(Clone)]
pub struct Snapshots {
    db: DatabaseConnection,
    /// The blob store holding manifests and file contents.
    pub blobs: Arc<dyn BlobStore>,
    manifests: Arc<ManifestCache>,
    limits: Arc<Limits>,
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
        let manifests = Arc::new(ManifestCache::new(limits.manifest_cache_bytes as usize));
        Self { db, blobs, manifests, limits }
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

    /// A checkpoint of this sandbox, as a snapshot to read files from; NOT_FOUND otherwise.
    pub async fn checkpoint_of_sandbox(&self, sb: &VisibleSandbox, id: Uuid) -> AppResult<VisibleSnapshot> {
        let row =
            checkpoint::Entity::find_by_id(id).filter(checkpoint::Column::SandboxId.eq(sb.id)).one(&self.db).await?;
        row.map(|cp| VisibleSnapshot::of_checkpoint(&cp)).ok_or(AppError::NotFound("checkpoint"))
    }

    /// A cursor over a manifest in walk order (the cached copy when there is one).
    pub async fn cursor(&self, snap: &VisibleSnapshot) -> AppResult<sync::previous::Previous> {
        match self.small(snap).await? {
            Some(m) => Ok(sync::previous::Previous::cached(m)),
            None => Ok(sync::previous::Previous::streamed(self.reader(snap).await?)),
        }
    }

    /// Keeps a manifest just written in the cache (a checkpoint's, read back by the next).
    pub fn remember(&self, id: Uuid, m: Arc<Manifest>) {
        self.manifests.put(id, m);
    }

    /// How many entries a manifest may have to be worth keeping in the cache.
    pub fn cacheable_entries(&self) -> usize {
        self.manifests.capacity_entries()
    }

    /// The newest snapshot of a sandbox, if it has one.
    pub async fn latest(&self, sb: &VisibleSandbox) -> AppResult<Option<VisibleSnapshot>> {
        match self.of_sandbox(sb, None).await {
            Ok(snap) => Ok(Some(snap)),
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

    /// The snapshot's manifest as a stream of entries (any size, constant memory).
    pub async fn reader(&self, snap: &VisibleSnapshot) -> AppResult<ManifestReader> {
        let body = self.blobs.get_stream(&snap.manifest_key).await.map_err(storage_error)?;
        ManifestReader::open(body).await.map_err(storage_error)
    }

    /// The whole manifest when it is small enough to keep in memory (cached by snapshot
    /// id: manifests never change); None for a big one, which is streamed instead.
    pub async fn small(&self, snap: &VisibleSnapshot) -> AppResult<Option<Arc<Manifest>>> {
        if let Some(m) = self.manifests.get(snap.id) {
            return Ok(Some(m));
        }
        // Every entry of a snapshot weighs at least 128 bytes (see ManifestEntry::weight).
        if !self.manifests.fits(snap.file_count.max(0) as usize * 160) {
            return Ok(None);
        }
        let mut r = self.reader(snap).await?;
        let mut entries = Vec::with_capacity(snap.file_count.max(0) as usize);
        while let Some(e) = r.next().await? {
            entries.push(e);
        }
        let m = Arc::new(Manifest { version: 2, sandbox_id: snap.sandbox_id, created_at: snap.created_at, entries });
        self.manifests.put(snap.id, m.clone());
        Ok(self.manifests.fits(m.weight()).then_some(m))
    }

    /// The entry at `path`, if the snapshot has one.
    pub async fn find(&self, snap: &VisibleSnapshot, path: &WorkspacePath) -> AppResult<Option<ManifestEntry>> {
        if let Some(m) = self.small(snap).await? {
            return Ok(m.entries.iter().find(|e| e.path == path.as_str()).cloned());
        }
        let mut r = self.reader(snap).await?;
        while let Some(e) = r.next().await? {
            if e.path == path.as_str() {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// The entries under `dir`, `max_depth` levels deep, at most `max_entries`.
    pub async fn walk(
        &self,
        snap: &VisibleSnapshot,
        dir: &WorkspacePath,
        max_depth: u32,
        max_entries: usize,
    ) -> AppResult<Walk> {
        if let Some(m) = self.small(snap).await? {
            return Ok(m.walk(dir, max_depth, max_entries));
        }
        let mut r = self.reader(snap).await?;
        let mut under = UnderDir::new(dir, max_depth, max_entries);
        while let Some(e) = r.next().await? {
            if !under.take(&e) {
                break;
            }
        }
        Ok(under.finish())
    }
}
