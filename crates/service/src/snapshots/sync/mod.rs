//! Snapshots: an incremental, content-addressed, crash-safe copy of a workspace in object
//! storage, taken by the server (no storage credential ever enters a sandbox).
//!
//! A sync streams: the walk arrives in display order in chunks, is merged with the
//! previous manifest (also a stream, in the same order) to reuse the hash of every file
//! whose size and mtime are unchanged, hashes the rest on the CPU pool, uploads only blobs
//! the account's store lacks (the `blobs` table says which), and writes the manifest line
//! by line to a spool file. Memory depends on the limits (parallelism, chunk size), not
//! on the workspace. The manifest is stored last and only then the snapshot row, so a
//! crash or a storage outage leaves no half snapshot.

mod files;

use std::{sync::Arc, time::Instant};

use futures::{FutureExt, StreamExt, stream::FuturesOrdered};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

use self::files::{FileOutcome, InFlight, Previous};
use crate::{
    auth::Viewer,
    backend::{
        Backend,
        files::{FileEntry, FileKind, WalkChunk, WalkOptions, WorkspacePath},
    },
    config::Limits,
    entity::{
        change_log::{self, Change},
        new_id, now,
        sandbox::{self, SyncStats},
        snapshot,
    },
    error::{AppError, AppResult, reasons},
    storage, work,
};
use crate::{
    lifecycle::leases::{LeaseKind, Leases},
    lifecycle::waker::Waker,
    quotas::{Expensive, Quotas},
    sandboxes::VisibleSandbox,
    snapshots::manifest::ManifestEntry,
    snapshots::manifest_io::ManifestWriter,
    snapshots::{Snapshots, storage_error},
};

/// Manifest entries written per batch.
const WRITE_BATCH: usize = 512;

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
    /// Entries left out: below the depth cap or with over-long paths.
    pub files_skipped: u64,
}

/// Takes snapshots of workspaces.
#[derive(Clone)]
pub struct Syncer {
    pub(crate) db: DatabaseConnection,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) snapshots: Snapshots,
    quotas: Quotas,
    leases: Leases,
    limits: Arc<Limits>,
    waker: Waker,
}

/// Running totals of a sync.
#[derive(Default)]
struct Totals {
    files: i64,
    bytes: i64,
    uploaded: u64,
    transferred: u64,
    changed: u64,
}

impl Syncer {
    /// A syncer writing to `snapshots`' store.
    pub fn new(
        db: DatabaseConnection,
        backend: Arc<dyn Backend>,
        snapshots: Snapshots,
        quotas: Quotas,
        leases: Leases,
        limits: Arc<Limits>,
        waker: Waker,
    ) -> Self {
        Self { db, backend, snapshots, quotas, leases, limits, waker }
    }

    /// Takes a snapshot of the sandbox's workspace: one sync per sandbox at a time across
    /// instances (a lease in the database; CONFLICT while another runs), in its own task so
    /// a client that goes away leaves either a whole snapshot or none.
    pub async fn sync(&self, viewer: &Viewer, sb: &VisibleSandbox) -> AppResult<SyncOutcome> {
        let (this, viewer, sb) = (self.clone(), viewer.clone(), sb.clone());
        work::detached(async move {
            // Woken before the lease is taken: a wake takes the lease itself.
            let sb = this.waker.awake(&sb).await?;
            let lease = this.leases.acquire(sb.id, LeaseKind::Sync).await?;
            let outcome = this.sync_under_lease(&viewer, &sb).await;
            lease.release().await;
            outcome
        })
        .await
    }

    /// Takes a snapshot while the caller holds the sandbox's lease (a delete does).
    pub(crate) async fn sync_under_lease(&self, viewer: &Viewer, sb: &VisibleSandbox) -> AppResult<SyncOutcome> {
        let started = Instant::now();
        let sb = &self.waker.awake_under_lease(sb).await?;
        let ext = sb.external_id()?;
        let _quota = self.quotas.acquire(sb.account_id, Expensive::Sync)?;
        let max_entries = self.limits.max_snapshot_entries as usize;
        let opts = WalkOptions { max_depth: u32::MAX, depth_cap: self.limits.max_walk_depth as u32, max_entries };
        let mut walk = self.backend.walk_stream(&ext, &WorkspacePath::root(), opts).await?;
        let previous = match self.snapshots.latest(sb).await? {
            Some(snap) => Some(self.snapshots.reader(&snap).await?),
            None => None,
        };
        let mut previous = Previous::new(previous);
        let t = now();
        let mut manifest = ManifestWriter::new(sb.id, t).await?;
        let parallel = self.limits.sync_parallelism.max(1) as usize;
        let mut pending = FuturesOrdered::new();
        let mut batch: Vec<ManifestEntry> = Vec::with_capacity(WRITE_BATCH);
        let mut totals = Totals::default();
        let mut walk_done: Option<(bool, u64)> = None;
        // Entries to process, each with its previous hash when already looked up.
        let mut queued: std::collections::VecDeque<(FileEntry, Option<Option<String>>)> = Default::default();
        // A backend that reads many files far cheaper at once (Modal: one exec, not one per
        // file) gets the whole list of files to read before the work starts.
        let _prefetched = if let Some(bulk) = self.backend.bulk() {
            let mut wanted = Vec::new();
            while walk_done.is_none() {
                match walk.recv().await {
                    Some(Ok(WalkChunk::Entries(entries))) => {
                        for entry in entries {
                            let known = match ManifestEntry::from_entry(&entry) {
                                Some(e) => previous.hash_of(&e).await?,
                                None => None,
                            };
                            if entry.kind == FileKind::File && known.is_none() {
                                wanted.push(entry.path.clone());
                            }
                            queued.push_back((entry, Some(known)));
                        }
                    }
                    Some(Ok(WalkChunk::Done { truncated, skipped })) => walk_done = Some((truncated, skipped)),
                    Some(Err(e)) => return Err(e),
                    None => return Err(AppError::Internal(anyhow::anyhow!("the walk ended without a result"))),
                }
            }
            if walk_done.is_some_and(|(truncated, _)| truncated) {
                return Err(AppError::conflict_because(
                    reasons::TOO_MANY_ENTRIES,
                    format!("the workspace holds more than {max_entries} entries"),
                ));
            }
            Some(bulk.prefetch(&ext, wanted).await?)
        } else {
            None
        };
        let in_flight = Arc::new(InFlight::default());
        loop {
            // Keep up to `parallel` entries in flight, in walk order.
            while pending.len() < parallel && (walk_done.is_none() || !queued.is_empty()) {
                let Some((entry, looked_up)) = queued.pop_front() else {
                    match walk.recv().await {
                        Some(Ok(WalkChunk::Entries(entries))) => queued.extend(entries.into_iter().map(|e| (e, None))),
                        Some(Ok(WalkChunk::Done { truncated, skipped })) => walk_done = Some((truncated, skipped)),
                        Some(Err(e)) => return Err(e),
                        None => return Err(AppError::Internal(anyhow::anyhow!("the walk ended without a result"))),
                    }
                    continue;
                };
                let Some(mut e) = ManifestEntry::from_entry(&entry) else { continue };
                let known = match looked_up {
                    Some(known) => known,
                    None => previous.hash_of(&e).await?,
                };
                if e.kind != "file" || known.is_some() {
                    e.sha256 = known;
                    let kept = FileOutcome::Kept { entry: e, uploaded: None, changed: false };
                    pending.push_back(futures::future::ready(Ok(kept)).boxed());
                    continue;
                }
                // Hashing and uploading run in their own tasks (aborted if the sync fails).
                let job = self.clone().file(ext.clone(), sb.account_id, e, in_flight.clone());
                let job = AbortOnDropHandle::new(tokio::spawn(job));
                let job = job.map(|r| r.map_err(|e| AppError::Internal(anyhow::anyhow!("sync task: {e}")))?);
                pending.push_back(job.boxed());
            }
            let Some(done) = pending.next().await else { break };
            let outcome = done?;
            match outcome {
                FileOutcome::Kept { entry, uploaded, changed } => {
                    if entry.kind == "file" {
                        totals.files += 1;
                        totals.bytes += entry.size as i64;
                    }
                    if let Some(bytes) = uploaded {
                        totals.uploaded += 1;
                        totals.transferred += bytes;
                    }
                    totals.changed += changed as u64;
                    batch.push(entry);
                }
                FileOutcome::Dropped => totals.changed += 1,
            }
            if batch.len() >= WRITE_BATCH {
                manifest.write(std::mem::replace(&mut batch, Vec::with_capacity(WRITE_BATCH))).await?;
            }
        }
        let (truncated, skipped) = walk_done.unwrap_or((false, 0));
        if truncated {
            return Err(AppError::conflict_because(
                reasons::TOO_MANY_ENTRIES,
                format!("the workspace holds more than {max_entries} entries"),
            ));
        }
        manifest.write(batch).await?;
        let written = manifest.finish().await?;
        let snapshot_id = new_id();
        let key = storage::manifest_key(sb.account_id, sb.id, t.timestamp(), snapshot_id);
        let body = Box::pin(tokio::fs::File::open(&written.path).await?);
        self.snapshots.blobs.put_verified(&key, body, written.size, &written.sha256).await.map_err(storage_error)?;
        let duration_ms = started.elapsed().as_millis() as u64;
        crate::metrics::sync_bytes(totals.transferred);
        let row = self.record(viewer, sb, snapshot_id, key, t, &totals, duration_ms).await?;
        Ok(SyncOutcome {
            snapshot: row,
            files_processed: totals.files as u64,
            files_uploaded: totals.uploaded,
            bytes_transferred: totals.transferred,
            duration_ms,
            files_changed_during_sync: totals.changed,
            files_skipped: skipped,
        })
    }

    /// The snapshot row, the sandbox's sync figures and the audit row, in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        viewer: &Viewer,
        sb: &VisibleSandbox,
        snapshot_id: Uuid,
        key: String,
        t: chrono::DateTime<chrono::Utc>,
        totals: &Totals,
        duration_ms: u64,
    ) -> AppResult<snapshot::Model> {
        let txn = crate::entity::db::write_txn(&self.db).await?;
        let row = snapshot::ActiveModel {
            id: Set(snapshot_id),
            sandbox_id: Set(sb.id),
            account_id: Set(sb.account_id),
            manifest_key: Set(key),
            file_count: Set(totals.files),
            total_bytes: Set(totals.bytes),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(&txn)
        .await?;
        let fresh = sandbox::Entity::find_by_id(sb.id).one(&txn).await?.ok_or(AppError::NotFound("sandbox"))?;
        let mut meta = fresh.meta_data.clone();
        meta.last_s3_sync = Some(t.timestamp());
        meta.sync_stats = Some(SyncStats {
            files_processed: totals.files,
            bytes_transferred: totals.transferred as i64,
            duration_ms: duration_ms as i64,
        });
        let mut am: sandbox::ActiveModel = fresh.into();
        am.meta_data = Set(meta);
        am.updated_at = Set(now());
        am.update(&txn).await?;
        let change = Change { actor: Some(viewer.account_id), entity: "sandboxes", entity_id: sb.id, action: "sync" };
        change_log::record(&txn, change, None::<&()>, Some(&row)).await?;
        crate::entity::webhook_event::sync_completed(&txn, &row, totals.transferred, duration_ms).await?;
        txn.commit().await?;
        Ok(row)
    }
}
