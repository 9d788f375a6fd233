//! Restoring a snapshot into a new sandbox's workspace: directories, files (content,
//! mode) and symlinks, byte for byte.

use super::Lifecycle;
use crate::{
    backend::{ExternalId, files::WorkspacePath},
    error::{AppError, AppResult},
    snapshots::VisibleSnapshot,
    storage,
};

impl Lifecycle {
    /// Writes every entry of the snapshot into the workspace of `external_id`.
    pub(super) async fn restore(&self, snap: &VisibleSnapshot, external_id: &ExternalId) -> AppResult<()> {
        if let Some(bulk) = self.backend.bulk() {
            return self.restore_as_archive(bulk, snap, external_id).await;
        }
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
                    let body = self.snapshots.blobs.get_stream(&storage::blob_key(snap.account_id, sha)).await?;
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
