//! What Modal sandboxes can do beyond the basics: their files as they rest on the volume,
//! many files moved in one exec, and the workspace's files through execs.

use async_trait::async_trait;

use super::{ModalBackend, Stdin, files, spool, volume_files};
use crate::{
    AtRest, Bulk, ExternalId, Files, Prefetched,
    error::AppResult,
    files::{FileBytes, FileEntry, Walk, WalkOptions, WorkspacePath},
    storage::Upload,
};

#[async_trait]
impl AtRest for ModalBackend {
    async fn walk_at_rest(&self, sandbox_id: uuid::Uuid, path: &WorkspacePath, opts: WalkOptions) -> AppResult<Walk> {
        volume_files::walk(self, sandbox_id, path, opts).await
    }

    async fn stat_at_rest(&self, sandbox_id: uuid::Uuid, path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
        volume_files::stat(self, sandbox_id, path).await
    }

    async fn read_at_rest(&self, sandbox_id: uuid::Uuid, path: &WorkspacePath, max: u64) -> AppResult<FileBytes> {
        volume_files::read(self, sandbox_id, path, max).await
    }
}

#[async_trait]
impl Bulk for ModalBackend {
    async fn prefetch(&self, external_id: &ExternalId, paths: Vec<WorkspacePath>) -> AppResult<Prefetched> {
        spool::prefetch(self, external_id, paths).await
    }

    async fn extract_archive(&self, external_id: &ExternalId, archive: Upload) -> AppResult<()> {
        files::extract(self, external_id, archive).await
    }
}

#[async_trait]
impl Files for ModalBackend {
    async fn hash_file(&self, external_id: &ExternalId, path: &WorkspacePath) -> AppResult<(String, u64)> {
        if let Some((_, sha, size)) = spool::spooled(self, external_id, path) {
            return Ok((sha, size));
        }
        let reader = tokio_util::io::SyncIoBridge::new(self.read_stream(external_id, path).await?);
        crate::work::blocking(move |cancel| crate::files::hash_reader(reader, cancel)).await
    }

    async fn walk(&self, external_id: &ExternalId, path: &WorkspacePath, opts: WalkOptions) -> AppResult<Walk> {
        files::walk(self, external_id, path, opts).await
    }

    async fn stat(&self, external_id: &ExternalId, path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
        files::stat(self, external_id, path).await
    }

    async fn read_file(&self, external_id: &ExternalId, path: &WorkspacePath, max_bytes: u64) -> AppResult<FileBytes> {
        files::read_file(self, external_id, path, max_bytes).await
    }

    async fn write_file(&self, external_id: &ExternalId, path: &WorkspacePath, data: Vec<u8>) -> AppResult<FileEntry> {
        files::write(self, external_id, path, Stdin::Bytes(data)).await
    }

    async fn write_stream(&self, external_id: &ExternalId, path: &WorkspacePath, body: Upload) -> AppResult<FileEntry> {
        files::write(self, external_id, path, Stdin::Stream(body)).await
    }

    async fn make_dir(&self, external_id: &ExternalId, path: &WorkspacePath) -> AppResult<FileEntry> {
        files::make_dir(self, external_id, path).await
    }

    async fn move_path(
        &self,
        external_id: &ExternalId,
        from: &WorkspacePath,
        to: &WorkspacePath,
    ) -> AppResult<FileEntry> {
        files::move_path(self, external_id, from, to).await
    }

    async fn read_stream(&self, external_id: &ExternalId, path: &WorkspacePath) -> AppResult<Upload> {
        if let Some((file, _, _)) = spool::spooled(self, external_id, path) {
            return Ok(Box::pin(tokio::fs::File::open(file).await?));
        }
        files::read_stream(self, external_id, path).await
    }

    async fn set_mode(&self, external_id: &ExternalId, path: &WorkspacePath, mode: u32) -> AppResult<()> {
        files::set_mode(self, external_id, path, mode).await
    }

    async fn make_symlink(&self, external_id: &ExternalId, path: &WorkspacePath, target: &str) -> AppResult<()> {
        files::make_symlink(self, external_id, path, target).await
    }

    async fn delete_path(&self, external_id: &ExternalId, path: &WorkspacePath, recursive: bool) -> AppResult<()> {
        files::delete(self, external_id, path, recursive).await
    }
}
