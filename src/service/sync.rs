//! Snapshots: an incremental, content-addressed, crash-safe copy of a workspace in object
//! storage, taken by the server (no storage credential ever enters a sandbox).
//!
//! A sync walks the workspace, reuses the previous manifest's hash for every file whose
//! size and mtime are unchanged, hashes the rest, uploads only blobs the account's store
//! lacks, writes the manifest last, and only then records the snapshot — so a crash or a
//! storage outage leaves no half snapshot.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Instant,
};

use futures::{StreamExt, TryStreamExt};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set, TransactionTrait};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use super::{
    manifest::{self, Manifest, ManifestEntry},
    quota::{Expensive, Quotas},
    sandboxes::VisibleSandbox,
    snapshots::{Snapshots, storage_error},
};
use crate::{
    auth::Viewer,
    backend::{
        Backend,
        files::{WalkOptions, WorkspacePath},
    },
    config::Limits,
    entity::{
        change_log::{self, Change},
        new_id, now,
        sandbox::{self, SyncStats},
        snapshot,
    },
    error::{AppError, AppResult},
    storage,
};

/// What a sync did.
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    /// The snapshot recorded.
    pub snapshot: snapshot::Model,
    /// Files in the snapshot.
    pub files_processed: u64,
    /// Files whose content was uploaded (new blobs).
    pub files_uploaded: u64,
    /// Bytes uploaded.
    pub bytes_transferred: u64,
    /// Wall time.
    pub duration_ms: u64,
    /// Files that changed while the sync read them (a run was writing); their previous
    /// content, or none, is in the snapshot.
    pub files_changed_during_sync: u64,
}

/// Takes snapshots of workspaces.
#[derive(Clone)]
pub struct Syncer {
    db: DatabaseConnection,
    backend: Arc<dyn Backend>,
    snapshots: Snapshots,
    quotas: Quotas,
    limits: Arc<Limits>,
    syncing: Arc<Mutex<HashSet<Uuid>>>,
}

/// Releases a sandbox's sync slot when dropped.
struct SyncSlot(Arc<Mutex<HashSet<Uuid>>>, Uuid);

impl Drop for SyncSlot {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.1);
    }
}

impl Syncer {
    /// A syncer writing to `snapshots`' store.
    pub fn new(
        db: DatabaseConnection,
        backend: Arc<dyn Backend>,
        snapshots: Snapshots,
        quotas: Quotas,
        limits: Arc<Limits>,
    ) -> Self {
        Self { db, backend, snapshots, quotas, limits, syncing: Arc::default() }
    }

    fn take_slot(&self, sandbox_id: Uuid) -> AppResult<SyncSlot> {
        let mut set = self.syncing.lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(sandbox_id) {
            return Err(AppError::conflict("a sync of this sandbox is already in progress"));
        }
        Ok(SyncSlot(self.syncing.clone(), sandbox_id))
    }

    fn walk_options(&self, max_entries: usize) -> WalkOptions {
        WalkOptions { max_depth: u32::MAX, depth_cap: self.limits.max_walk_depth as u32, max_entries }
    }

    async fn hash(&self, ext: &str, path: &WorkspacePath) -> AppResult<(String, u64)> {
        let mut r = self.backend.read_stream(ext, path).await?;
        let (mut h, mut buf, mut n) = (Sha256::new(), vec![0u8; 256 * 1024], 0u64);
        loop {
            let read = r.read(&mut buf).await?;
            if read == 0 {
                return Ok((hex::encode(h.finalize()), n));
            }
            h.update(&buf[..read]);
            n += read as u64;
        }
    }

    /// Takes a snapshot of the sandbox's workspace.
    pub async fn sync(&self, viewer: &Viewer, sb: &VisibleSandbox) -> AppResult<SyncOutcome> {
        let started = Instant::now();
        let ext = sb.external_id()?.to_string();
        let _slot = self.take_slot(sb.id)?;
        let _quota = self.quotas.acquire(sb.account_id, Expensive::Sync)?;
        let max_entries = self.limits.max_snapshot_entries as usize;
        let walk = self.backend.walk(&ext, &WorkspacePath::root(), self.walk_options(max_entries)).await?;
        if walk.entries.len() >= max_entries && walk.truncated {
            return Err(AppError::conflict(format!("the workspace holds more than {max_entries} entries")));
        }
        let previous = self.snapshots.latest(sb).await?.map(|(_, m)| m);
        let existing: HashSet<String> = self
            .snapshots
            .blobs
            .list(&storage::blob_prefix(sb.account_id))
            .await
            .map_err(storage_error)?
            .into_iter()
            .filter_map(|k| k.rsplit('/').next().map(str::to_string))
            .collect();

        let mut entries: Vec<ManifestEntry> = walk.entries.iter().filter_map(ManifestEntry::from_entry).collect();
        let to_hash = manifest::reuse_hashes(&mut entries, previous.as_deref());
        let parallel = self.limits.sync_parallelism.max(1) as usize;
        let hashed: Vec<(usize, AppResult<(String, u64)>)> = futures::stream::iter(to_hash.into_iter().map(|i| {
            let path = WorkspacePath::parse(&entries[i].path);
            let ext = ext.clone();
            async move {
                let r = match path {
                    Ok(p) => self.hash(&ext, &p).await,
                    Err(e) => Err(e),
                };
                (i, r)
            }
        }))
        .buffer_unordered(parallel)
        .collect()
        .await;
        let mut changed = 0u64;
        for (i, r) in hashed {
            match r {
                Ok((sha, n)) if n == entries[i].size => entries[i].sha256 = Some(sha),
                Ok((sha, n)) => {
                    changed += 1;
                    entries[i].sha256 = Some(sha);
                    entries[i].size = n;
                }
                Err(AppError::NotFound(_)) => {
                    changed += 1;
                    entries[i].kind = "gone".into();
                }
                Err(e) => return Err(e),
            }
        }
        entries.retain(|e| e.kind != "gone");

        // Upload each new blob once.
        let wanted = manifest::new_blobs(&entries, |sha| existing.contains(sha));
        let uploads = futures::stream::iter(wanted.into_iter().map(|(sha, path, size)| {
            let ext = ext.clone();
            let account = sb.account_id;
            async move {
                let p = WorkspacePath::parse(&path)?;
                let body = self.backend.read_stream(&ext, &p).await?;
                match self.snapshots.blobs.put_verified(&storage::blob_key(account, &sha), body, size, &sha).await {
                    Ok(()) => Ok::<(u64, u64, Option<String>), AppError>((1, size, None)),
                    // The file changed between hashing and upload: leave it out of this snapshot.
                    Err(AppError::Conflict(_)) => Ok((0, 0, Some(path))),
                    Err(e) => Err(storage_error(e)),
                }
            }
        }))
        .buffer_unordered(parallel)
        .try_collect::<Vec<_>>()
        .await?;
        let dropped: HashSet<String> = uploads.iter().filter_map(|(_, _, p)| p.clone()).collect();
        changed += dropped.len() as u64;
        entries.retain(|e| !dropped.contains(&e.path));
        let (files_uploaded, bytes_transferred) = uploads.iter().fold((0, 0), |(f, b), (df, db, _)| (f + df, b + db));

        // Manifest last, then the row: a snapshot exists only once everything it needs does.
        let snapshot_id = new_id();
        let t = now();
        let manifest = Manifest { version: 1, sandbox_id: sb.id, created_at: t, entries };
        let key = storage::manifest_key(sb.account_id, sb.id, t.timestamp(), snapshot_id);
        let files = manifest.entries.iter().filter(|e| e.kind == "file");
        let (file_count, total_bytes) = files.fold((0i64, 0i64), |(c, b), e| (c + 1, b + e.size as i64));
        self.snapshots.blobs.put_bytes(&key, serde_json::to_vec(&manifest)?).await.map_err(storage_error)?;
        let duration_ms = started.elapsed().as_millis() as u64;
        let txn = self.db.begin().await?;
        let row = snapshot::ActiveModel {
            id: Set(snapshot_id),
            sandbox_id: Set(sb.id),
            account_id: Set(sb.account_id),
            manifest_key: Set(key),
            file_count: Set(file_count),
            total_bytes: Set(total_bytes),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(&txn)
        .await?;
        let fresh = sandbox::Entity::find_by_id(sb.id).one(&txn).await?.ok_or(AppError::NotFound("sandbox"))?;
        let mut meta = fresh.meta_data.clone();
        meta.last_s3_sync = Some(t.timestamp());
        meta.sync_stats = Some(SyncStats {
            files_processed: file_count,
            bytes_transferred: bytes_transferred as i64,
            duration_ms: duration_ms as i64,
        });
        let mut am: sandbox::ActiveModel = fresh.clone().into();
        am.meta_data = Set(meta);
        am.updated_at = Set(now());
        am.update(&txn).await?;
        let change = Change { actor: Some(viewer.account_id), entity: "sandboxes", entity_id: sb.id, action: "sync" };
        change_log::record(&txn, change, None::<&()>, Some(&row)).await?;
        txn.commit().await?;
        Ok(SyncOutcome {
            snapshot: row,
            files_processed: file_count as u64,
            files_uploaded,
            bytes_transferred,
            duration_ms,
            files_changed_during_sync: changed,
        })
    }
}
