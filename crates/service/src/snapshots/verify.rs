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

impl Snapshots {
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
            corrupt_paths: Set((!v.corrupt.is_empty()).then(|| serde_json::json!(v.corrupt))),
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
