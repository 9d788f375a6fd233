//! Reading stored states of a workspace (a snapshot, a checkpoint) by path: each is a
//! manifest in the blob store, so a path's metadata is one lookup in it.

use crate::{
    backend::files::{FileEntry, FileKind, WorkspacePath},
    error::{AppError, AppResult},
    files::{FileSource, Files},
    sandboxes::VisibleSandbox,
    snapshots::{VisibleSnapshot, manifest::ManifestEntry},
};

impl Files {
    /// The stored state a source names (a snapshot or a checkpoint of this sandbox).
    pub(super) async fn stored(&self, sb: &VisibleSandbox, source: FileSource) -> AppResult<VisibleSnapshot> {
        match source {
            FileSource::Checkpoint(id) => self.snapshots.checkpoint_of_sandbox(sb, id).await,
            FileSource::Snapshot(id) => self.snapshots.of_sandbox(sb, id).await,
            FileSource::Workspace => Err(AppError::Internal(anyhow::anyhow!("the workspace is not stored"))),
        }
    }

    /// Metadata of a path in the named snapshot or checkpoint of this sandbox.
    pub(super) async fn snapshot_stat(
        &self,
        sb: &VisibleSandbox,
        source: FileSource,
        path: &WorkspacePath,
    ) -> AppResult<Option<FileEntry>> {
        let snap = self.stored(sb, source).await?;
        if path.is_root() {
            let modified = snap.created_at;
            let root = FileEntry {
                path: WorkspacePath::root(),
                kind: FileKind::Directory,
                size: 0,
                modified,
                mode: 0o755,
                symlink_target: None,
            };
            return Ok(Some(root));
        }
        Ok(self.snapshots.find(&snap, path).await?.as_ref().and_then(ManifestEntry::to_entry))
    }
}
