//! One pass over a workspace, shared by syncs and checkpoints: the walk in display order,
//! merged with a previous manifest to reuse the hash of every unchanged file, the rest
//! hashed and uploaded when new, and the new manifest spooled line by line. Memory
//! depends on the limits (parallelism, chunk size), not on the workspace.

use std::{collections::VecDeque, sync::Arc};

use futures::{FutureExt, StreamExt, stream::FuturesOrdered};
use tokio_util::task::AbortOnDropHandle;

use super::{
    Syncer,
    files::{FileOutcome, InFlight},
    previous::{ChangeLog, Looked, Previous},
};
use crate::{
    backend::files::{FileEntry, FileKind, WalkChunk, WalkOptions, WorkspacePath},
    error::{AppError, AppResult, reasons},
    sandboxes::VisibleSandbox,
    snapshots::{
        manifest::ManifestEntry,
        manifest_io::{ManifestWriter, Written},
    },
};

/// Manifest entries written per batch.
const WRITE_BATCH: usize = 512;

/// Running totals of a pass.
#[derive(Default, Debug, Clone)]
pub struct Totals {
    /// Files in the new manifest.
    pub files: i64,
    /// Their bytes.
    pub bytes: i64,
    /// Files whose content was uploaded.
    pub uploaded: u64,
    /// Bytes uploaded.
    pub transferred: u64,
    /// Files that changed while being read.
    pub changed: u64,
}

/// What a pass produced: the spooled manifest and what it took.
pub struct Pass {
    /// The manifest file, not yet stored.
    pub written: Written,
    /// Its figures.
    pub totals: Totals,
    /// Entries left out (below the depth cap, over-long paths).
    pub skipped: u64,
    /// What changed since the previous manifest, when tracked.
    pub changes: Option<ChangeLog>,
    /// The entries, when asked to keep them (small manifests, for the cache).
    pub entries: Option<Vec<ManifestEntry>>,
}

type Queued = VecDeque<(FileEntry, Option<Looked>)>;

fn too_many(max: usize) -> AppError {
    AppError::conflict_because(reasons::TOO_MANY_ENTRIES, format!("the workspace holds more than {max} entries"))
}

fn ended_early() -> AppError {
    AppError::Internal(anyhow::anyhow!("the walk ended without a result"))
}

impl Syncer {
    /// Bytes the account may still store (None: no quota).
    async fn room(&self, account: uuid::Uuid) -> AppResult<Option<i64>> {
        let quota = self.snapshots.policy(account).await?.quota_bytes;
        if quota == 0 {
            return Ok(None);
        }
        let used = self.snapshots.usage(account).await?.bytes;
        Ok(Some(quota as i64 - used as i64))
    }

    /// Walks `sb`'s workspace against `previous` and spools the new manifest; `keep`
    /// keeps the entries in memory too when there are at most that many.
    pub(crate) async fn pass(
        &self,
        sb: &VisibleSandbox,
        mut previous: Previous,
        t: chrono::DateTime<chrono::Utc>,
        keep: usize,
    ) -> AppResult<Pass> {
        let ext = sb.external_id()?;
        let max_entries = self.limits.max_snapshot_entries as usize;
        let opts = WalkOptions { max_depth: u32::MAX, depth_cap: self.limits.max_walk_depth as u32, max_entries };
        let mut walk = self.backend.walk_stream(&ext, &WorkspacePath::root(), opts).await?;
        let mut manifest = ManifestWriter::new(sb.id, t).await?;
        let parallel = self.limits.sync_parallelism.max(1) as usize;
        let mut pending = FuturesOrdered::new();
        let mut batch: Vec<ManifestEntry> = Vec::with_capacity(WRITE_BATCH);
        let mut kept: Option<Vec<ManifestEntry>> = Some(Vec::new());
        let mut totals = Totals::default();
        let mut walk_done: Option<(bool, u64)> = None;
        let mut queued: Queued = Default::default();
        // A backend that reads many files far cheaper at once (Modal: one exec, not one per
        // file) gets the whole list of files to read before the work starts.
        let _prefetched = if let Some(bulk) = self.backend.bulk() {
            let mut wanted = Vec::new();
            while walk_done.is_none() {
                match walk.recv().await {
                    Some(Ok(WalkChunk::Entries(entries))) => {
                        for entry in entries {
                            let looked = match ManifestEntry::from_entry(&entry) {
                                Some(e) => previous.lookup(&e).await?,
                                None => Looked::default(),
                            };
                            if entry.kind == FileKind::File && looked.reuse.is_none() {
                                wanted.push(entry.path.clone());
                            }
                            queued.push_back((entry, Some(looked)));
                        }
                    }
                    Some(Ok(WalkChunk::Done { truncated, skipped })) => walk_done = Some((truncated, skipped)),
                    Some(Err(e)) => return Err(e),
                    None => return Err(ended_early()),
                }
            }
            if walk_done.is_some_and(|(truncated, _)| truncated) {
                return Err(too_many(max_entries));
            }
            Some(bulk.prefetch(&ext, wanted).await?)
        } else {
            None
        };
        let in_flight = Arc::new(InFlight::with_room(self.room(sb.account_id).await?));
        loop {
            // Keep up to `parallel` entries in flight, in walk order.
            while pending.len() < parallel && (walk_done.is_none() || !queued.is_empty()) {
                let Some((entry, looked)) = queued.pop_front() else {
                    match walk.recv().await {
                        Some(Ok(WalkChunk::Entries(entries))) => queued.extend(entries.into_iter().map(|e| (e, None))),
                        Some(Ok(WalkChunk::Done { truncated, skipped })) => walk_done = Some((truncated, skipped)),
                        Some(Err(e)) => return Err(e),
                        None => return Err(ended_early()),
                    }
                    continue;
                };
                let Some(mut e) = ManifestEntry::from_entry(&entry) else { continue };
                let looked = match looked {
                    Some(l) => l,
                    None => previous.lookup(&e).await?,
                };
                let before = looked.before;
                if e.kind != "file" || looked.reuse.is_some() {
                    e.sha256 = looked.reuse;
                    let kept = FileOutcome::Kept { entry: e, uploaded: None, changed: false };
                    pending.push_back(futures::future::ready(Ok((kept, before))).boxed());
                    continue;
                }
                // Hashing and uploading run in their own tasks (aborted if the pass fails).
                let job = self.clone().file(ext.clone(), sb.account_id, e, in_flight.clone());
                let job = AbortOnDropHandle::new(tokio::spawn(job));
                let job = job.map(move |r| match r {
                    Ok(Ok(outcome)) => Ok((outcome, before)),
                    Ok(Err(e)) => Err(e),
                    Err(e) => Err(AppError::Internal(anyhow::anyhow!("sync task: {e}"))),
                });
                pending.push_back(job.boxed());
            }
            let Some(done) = pending.next().await else { break };
            let (outcome, before) = done?;
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
                    if let Some(log) = previous.changes.as_mut() {
                        log.compare(before.as_ref(), &entry);
                    }
                    if let Some(k) = kept.as_mut() {
                        if k.len() < keep { k.push(entry.clone()) } else { kept = None }
                    }
                    batch.push(entry);
                }
                FileOutcome::Dropped => {
                    totals.changed += 1;
                    if let (Some(log), Some(b)) = (previous.changes.as_mut(), before.as_ref()) {
                        log.removed(&b.path);
                    }
                }
            }
            if batch.len() >= WRITE_BATCH {
                manifest.write(std::mem::replace(&mut batch, Vec::with_capacity(WRITE_BATCH))).await?;
            }
        }
        let (truncated, skipped) = walk_done.unwrap_or((false, 0));
        if truncated {
            return Err(too_many(max_entries));
        }
        manifest.write(batch).await?;
        let written = manifest.finish().await?;
        let mut changes = previous.finish().await?;
        if let Some(c) = changes.as_mut() {
            c.listed.sort_by(|a, b| a.path.cmp(&b.path));
        }
        Ok(Pass { written, totals, skipped, changes, entries: kept })
    }
}
