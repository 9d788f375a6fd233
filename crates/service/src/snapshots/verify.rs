//! Verifying a snapshot: every blob its manifest names is read back from the store and
//! its size and SHA-256 checked, in parallel and off the async threads; a blob damaged or
//! missing marks the snapshot CORRUPT with the paths it affects (and a `snapshot.corrupt`
//! webhook, written with the mark), so a restore can refuse it by name instead of writing
//! garbage or failing halfway. The background scrub calls the same at a bounded rate.

use std::collections::HashMap;

use futures::{StreamExt, stream::FuturesUnordered};
use sea_orm::{ActiveModelTrait, Set};

use super::{Snapshots, VisibleSnapshot, storage_error};
use crate::{
    backend::files::hash_reader,
    entity::{enums::SnapshotStatus, now, snapshot},
    error::{AppError, AppResult},
    storage, work,
};

/// What a verification found.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Paths whose content is damaged or missing (the first `max_listed`).
    pub corrupt: Vec<String>,
    /// How many paths are damaged or missing.
    pub corrupt_total: u64,
    /// The damaged or missing blobs (the first `max_listed`), which a partial restore
    /// leaves out.
    pub bad_blobs: Vec<String>,
    /// How many blobs are damaged or missing.
    pub bad_blobs_total: u64,
    /// Distinct blobs read.
    pub blobs: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// One blob's check: true when its bytes are what the manifest says.
async fn check(snaps: Snapshots, account: uuid::Uuid, sha: String, size: u64) -> AppResult<(String, bool)> {
    let body = match snaps.blobs.get_stream(&storage::blob_key(account, &sha)).await {
        Ok(b) => b,
        Err(AppError::NotFound(_)) => return Ok((sha, false)),
        Err(e) => return Err(storage_error(e)),
    };
    let reader = tokio_util::io::SyncIoBridge::new(body);
    let (got, n) = work::blocking(move |cancel| hash_reader(reader, cancel)).await.map_err(storage_error)?;
    let ok = got == sha && n == size;
    Ok((sha, ok))
}

/// What a snapshot row says its last verification found damaged: (paths, total, bad blobs,
/// bad blobs total).
pub fn damage(row: &snapshot::Model) -> (Vec<String>, u64, Vec<String>, u64) {
    let Some(j) = row.corrupt_paths.as_ref() else { return Default::default() };
    let list = |k: &str| -> Vec<String> {
        j[k].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    (list("paths"), j["total"].as_u64().unwrap_or(0), list("blobs"), j["blobsTotal"].as_u64().unwrap_or(0))
}

impl Snapshots {
    /// Verifies `snap` with the configured parallelism and listing bound.
    pub async fn verify_now(&self, snap: &VisibleSnapshot) -> AppResult<Verdict> {
        let l = &self.limits.storage;
        self.verify(snap, l.verify_parallelism as usize, l.verify_max_listed_paths as usize).await
    }

    /// Every `scrubEverySecs`, verifies the snapshot verified longest ago (never-verified
    /// first), so damage in the store is found before a restore needs the snapshot.
    pub fn spawn_scrubber(&self) {
        let every = self.limits.storage.scrub_every_secs;
        if every == 0 {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(every));
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = this.scrub_one().await {
                    tracing::warn!(error = ?e.log_detail(), "scrub pass failed");
                }
            }
        });
    }

    async fn scrub_one(&self) -> AppResult<()> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        let never =
            snapshot::Entity::find().filter(snapshot::Column::VerifiedAt.is_null()).order_by_asc(snapshot::Column::Id);
        let row = match never.one(&self.db).await? {
            Some(r) => Some(r),
            None => snapshot::Entity::find().order_by_asc(snapshot::Column::VerifiedAt).one(&self.db).await?,
        };
        let Some(row) = row else { return Ok(()) };
        let v = self.verify_now(&VisibleSnapshot::vouched_for_reclaim(row)).await?;
        if v.corrupt_total > 0 {
            tracing::warn!(paths = v.corrupt_total, "scrub found a damaged snapshot");
        }
        Ok(())
    }

    /// Reads back every blob of `snap` and records the verdict on its row.
    pub async fn verify(&self, snap: &VisibleSnapshot, parallel: usize, max_listed: usize) -> AppResult<Verdict> {
        let mut manifest = self.reader(snap).await?;
        let mut by_blob: HashMap<String, Vec<String>> = HashMap::new();
        let mut sizes: Vec<(String, u64)> = Vec::new();
        while let Some(e) = manifest.next().await? {
            let Some(sha) = e.sha256.filter(|_| e.kind == "file") else { continue };
            let paths = by_blob.entry(sha.clone()).or_default();
            if paths.is_empty() {
                sizes.push((sha, e.size));
            }
            paths.push(e.path);
        }
        let mut v = Verdict::default();
        let mut pending = FuturesUnordered::new();
        let mut todo = sizes.into_iter();
        loop {
            while pending.len() < parallel.max(1) {
                let Some((sha, size)) = todo.next() else { break };
                v.blobs += 1;
                v.bytes += size;
                pending.push(check(self.clone(), snap.account_id, sha, size));
            }
            let Some(done) = pending.next().await else { break };
            let (sha, ok) = done?;
            if !ok {
                v.bad_blobs_total += 1;
                if v.bad_blobs.len() < max_listed {
                    v.bad_blobs.push(sha.clone());
                }
                for path in by_blob.remove(&sha).unwrap_or_default() {
                    v.corrupt_total += 1;
                    if v.corrupt.len() < max_listed {
                        v.corrupt.push(path);
                    }
                }
            }
        }
        v.corrupt.sort();
        self.record_verdict(snap, &v).await?;
        Ok(v)
    }

    async fn record_verdict(&self, snap: &VisibleSnapshot, v: &Verdict) -> AppResult<()> {
        let status = if v.corrupt_total == 0 { SnapshotStatus::Verified } else { SnapshotStatus::Corrupt };
        let txn = crate::entity::db::write_txn(&self.db).await?;
        let am = snapshot::ActiveModel {
            id: Set(snap.id),
            status: Set(status),
            verified_at: Set(Some(now())),
            corrupt_paths: Set((v.corrupt_total > 0).then(|| {
                serde_json::json!({"paths": v.corrupt, "total": v.corrupt_total,
                                   "blobs": v.bad_blobs, "blobsTotal": v.bad_blobs_total})
            })),
            ..Default::default()
        };
        am.update(&txn).await?;
        if status == SnapshotStatus::Corrupt && snap.status != SnapshotStatus::Corrupt {
            let data = serde_json::json!({"sandboxId": snap.sandbox_id, "snapshotId": snap.id,
                                          "paths": v.corrupt, "pathsTotal": v.corrupt_total});
            let ev = crate::entity::webhook_event::SNAPSHOT_CORRUPT;
            crate::entity::webhook_event::record(&txn, snap.account_id, Some(snap.sandbox_id), ev, data).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}
