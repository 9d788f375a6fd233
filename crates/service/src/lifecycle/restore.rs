//! Restoring a snapshot (or a forked checkpoint) into a new sandbox's workspace:
//! directories, files (content, mode) and symlinks, byte for byte; and a fork's session.

use super::Lifecycle;
use std::collections::HashSet;

use crate::{
    backend::{ExternalId, files::WorkspacePath},
    checkpoints::{VisibleCheckpoint, session},
    entity::enums::SnapshotStatus,
    error::{AppError, AppResult, reasons},
    snapshots::{VisibleSnapshot, storage_error, verify::damage},
    storage,
};

/// A blob a restore needs is gone from the store: the snapshot is damaged, by name.
pub(super) fn missing(e: AppError, path: &str) -> AppError {
    match e {
        AppError::NotFound(_) => AppError::conflict_because(
            reasons::SNAPSHOT_CORRUPT,
            format!("the snapshot is damaged: the stored content of {path} is missing"),
        ),
        other => storage_error(other),
    }
}

/// The blobs a restore of `snap` leaves out: none for a sound snapshot; for a CORRUPT one,
/// its damaged blobs when the caller allows a partial restore, else CONFLICT
/// `SNAPSHOT_CORRUPT` naming the damaged paths.
pub(super) fn damaged(snap: &VisibleSnapshot, allow_partial: bool) -> AppResult<HashSet<String>> {
    if snap.status != SnapshotStatus::Corrupt {
        return Ok(HashSet::new());
    }
    let (paths, total, blobs, blobs_total) = damage(snap);
    let named = paths.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
    let more = if total > 20 { format!(" and {} more", total - 20) } else { String::new() };
    if !allow_partial {
        return Err(AppError::conflict_because(
            reasons::SNAPSHOT_CORRUPT,
            format!("the snapshot is damaged ({named}{more}); pass allowPartial to restore everything else"),
        ));
    }
    if blobs_total > blobs.len() as u64 {
        return Err(AppError::conflict_because(
            reasons::SNAPSHOT_CORRUPT,
            format!("the snapshot is damaged in more places ({total}) than it lists; it cannot be restored in part"),
        ));
    }
    Ok(blobs.into_iter().collect())
}

impl Lifecycle {
    /// Writes every entry of the snapshot (or the forked checkpoint's files) into the
    /// workspace of `external_id`, then the checkpoint's session into its HOME; inside the
    /// account's blob gate, so no blob it reads is reclaimed meanwhile.
    pub(super) async fn restore(
        &self,
        snap: &VisibleSnapshot,
        external_id: &ExternalId,
        fork: Option<&VisibleCheckpoint>,
        skip: &HashSet<String>,
    ) -> AppResult<()> {
        let inside = self.sync.gate.enter(snap.account_id).await?;
        match self.backend.bulk() {
            Some(bulk) => self.restore_as_archive(bulk, snap, external_id, skip.clone()).await?,
            None => self.restore_files(snap, external_id, skip).await?,
        }
        if let Some(cp) = fork
            && let (Some(key), Some(path)) = (&cp.session_key, &cp.session_path)
        {
            let body = self.snapshots.blobs.get_stream(key).await.map_err(storage_error)?;
            session::install(self.backend.as_ref(), external_id, path, body).await?;
        }
        inside.leave().await;
        Ok(())
    }

    async fn restore_files(
        &self,
        snap: &VisibleSnapshot,
        external_id: &ExternalId,
        skip: &HashSet<String>,
    ) -> AppResult<()> {
        let mut manifest = self.snapshots.reader(snap).await?;
        let backend = &self.backend;
        // Directory modes are set last (a read-only directory must not block its own
        // contents); only directories are remembered, never the whole manifest.
        let mut dirs = Vec::new();
        while let Some(e) = manifest.next().await? {
            let Ok(path) = WorkspacePath::parse(&e.path) else {
                tracing::warn!(snapshot = %snap.id, "skipping an unrepresentable path while restoring");
                continue;
            };
            match e.kind.as_str() {
                "dir" => {
                    backend.make_dir(external_id, &path).await?;
                    dirs.push((path, e.mode));
                }
                "file" => {
                    let sha =
                        e.sha256.as_deref().ok_or_else(|| AppError::Internal(anyhow::anyhow!("file without hash")))?;
                    if skip.contains(sha) {
                        continue;
                    }
                    let body = self.snapshots.blobs.get_stream(&storage::blob_key(snap.account_id, sha)).await;
                    let body = body.map_err(|err| missing(err, &e.path))?;
                    backend.write_stream(external_id, &path, body).await?;
                    backend.set_mode(external_id, &path, e.mode).await?;
                }
                "symlink" => {
                    if let Some(target) = &e.target {
                        backend.make_symlink(external_id, &path, target).await?;
                    }
                }
                _ => {}
            }
        }
        for (path, mode) in dirs.into_iter().rev() {
            backend.set_mode(external_id, &path, mode).await?;
        }
        Ok(())
    }
}
