//! Snapshots: an incremental, content-addressed, crash-safe copy of a workspace in object
//! storage, taken by the server (no storage credential ever enters a sandbox).
//!
//! A sync streams (see [`pass`]): the walk arrives in display order in chunks, is merged
//! with the previous manifest (also a stream, in the same order) to reuse the hash of
//! every file whose size and mtime are unchanged, hashes the rest on the CPU pool, uploads
//! only blobs the account's store lacks (the `blobs` table says which), and writes the
//! manifest line by line to a spool file. The manifest is stored last and only then the
//! snapshot row, so a crash or a storage outage leaves no half snapshot.

mod files;
pub mod pass;
pub mod previous;

use std::{sync::Arc, time::Instant};

use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use uuid::Uuid;

use self::{pass::Totals, previous::Previous};
use crate::{
    auth::Viewer,
    backend::Backend,
    config::Limits,
    entity::{
        change_log::{self, Change},
        new_id, now,
        sandbox::{self, SyncStats},
        snapshot,
    },
    error::{AppError, AppResult},
    storage, work,
};
use crate::{
    lifecycle::leases::{LeaseKind, Leases},
    lifecycle::waker::Waker,
    quotas::{Expensive, Quotas},
    sandboxes::VisibleSandbox,
    snapshots::{Snapshots, gate::BlobGate, storage_error},
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
    /// Entries left out: below the depth cap or with over-long paths.
    pub files_skipped: u64,
}

/// Takes snapshots of workspaces.
#[derive(Clone)]
pub struct Syncer {
    pub(crate) db: DatabaseConnection,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) snapshots: Snapshots,
    pub(crate) quotas: Quotas,
    pub(crate) leases: Leases,
    pub(crate) limits: Arc<Limits>,
    pub(crate) waker: Waker,
    /// The accounts' blob gates every pass enters.
    pub gate: BlobGate,
}

impl Syncer {
    /// A syncer writing to `snapshots`' store.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: DatabaseConnection,
        backend: Arc<dyn Backend>,
        snapshots: Snapshots,
        quotas: Quotas,
        leases: Leases,
        limits: Arc<Limits>,
        waker: Waker,
        gate: BlobGate,
    ) -> Self {
        Self { db, backend, snapshots, quotas, leases, limits, waker, gate }
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

    /// The cursor over the newest snapshot's manifest (from the cache when it is there).
    async fn previous_snapshot(&self, sb: &VisibleSandbox) -> AppResult<Previous> {
        let Some(snap) = self.snapshots.latest(sb).await? else { return Ok(Previous::none()) };
        self.snapshots.cursor(&snap).await
    }

    /// Takes a snapshot while the caller holds the sandbox's lease (a delete does).
    pub(crate) async fn sync_under_lease(&self, viewer: &Viewer, sb: &VisibleSandbox) -> AppResult<SyncOutcome> {
        let started = Instant::now();
        let sb = &self.waker.awake_under_lease(sb).await?;
        let _quota = self.quotas.acquire(sb.account_id, Expensive::Sync)?;
        let inside = self.gate.enter(sb.account_id).await?;
        let previous = self.previous_snapshot(sb).await?;
        let t = now();
        let pass = self.pass(sb, previous, t, 0).await?;
        let snapshot_id = new_id();
        let key = storage::manifest_key(sb.account_id, sb.id, t.timestamp(), snapshot_id);
        let w = &pass.written;
        let body = Box::pin(tokio::fs::File::open(&w.path).await?);
        self.snapshots.blobs.put_verified(&key, body, w.size, &w.sha256).await.map_err(storage_error)?;
        let duration_ms = started.elapsed().as_millis() as u64;
        let totals = pass.totals;
        crate::metrics::sync_bytes(totals.transferred);
        let row = self.record(viewer, sb, snapshot_id, key, t, &totals, duration_ms).await?;
        inside.leave().await;
        self.snapshots.prune(sb.id, sb.account_id).await?;
        Ok(SyncOutcome {
            snapshot: row,
            files_processed: totals.files as u64,
            files_uploaded: totals.uploaded,
            bytes_transferred: totals.transferred,
            duration_ms,
            files_changed_during_sync: totals.changed,
            files_skipped: pass.skipped,
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
            status: Set(crate::entity::enums::SnapshotStatus::Unverified),
            verified_at: Set(None),
            corrupt_paths: Set(None),
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
