//! The local backend's [`Files`]: every operation on a workspace confined to it
//! ([`Confined`], `openat2(RESOLVE_BENEATH)`), off the async threads.

use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{LocalBackend, files::Confined};
use crate::{
    ExternalId, Files,
    error::AppResult,
    files::{FileBytes, FileEntry, Walk, WalkChunk, WalkOptions, WorkspacePath, hash_reader},
    work,
};

#[async_trait]
impl Files for LocalBackend {
    async fn walk(&self, external_id: &ExternalId, path: &WorkspacePath, opts: WalkOptions) -> AppResult<Walk> {
        let path = path.clone();
        let workspace = self.workspace(external_id)?;
        let threads = self.pool.job_threads();
        let job = move |cancel: &AtomicBool| Confined::open(&workspace)?.walk(&path, opts, threads, cancel);
        // A listing of one directory is light; deeper walks are CPU work for the pool.
        if opts.max_depth <= 1 { work::blocking(job).await } else { self.pool.run(job).await }
    }

    async fn walk_stream(
        &self,
        external_id: &ExternalId,
        path: &WorkspacePath,
        opts: WalkOptions,
    ) -> AppResult<mpsc::Receiver<AppResult<WalkChunk>>> {
        let (path, workspace) = (path.clone(), self.workspace(external_id)?);
        let (tx, rx) = mpsc::channel(4);
        // A plain blocking thread, not the CPU pool: it mostly waits for its consumer,
        // whose hashing needs the pool.
        tokio::task::spawn_blocking(move || {
            let cancel = AtomicBool::new(false);
            let walked = Confined::open(&workspace).and_then(|c| {
                c.walk_chunks(&path, opts, &cancel, 512, |entries| {
                    tx.blocking_send(Ok(WalkChunk::Entries(entries))).is_ok()
                })
            });
            let last = walked.map(|(truncated, skipped)| WalkChunk::Done { truncated, skipped });
            let _ = tx.blocking_send(last);
        });
        Ok(rx)
    }

    async fn hash_file(&self, external_id: &ExternalId, path: &WorkspacePath) -> AppResult<(String, u64)> {
        let (path, workspace) = (path.clone(), self.workspace(external_id)?);
        self.pool
            .run(move |cancel| {
                let file = Confined::open(&workspace)?.open_regular(&path)?;
                hash_reader(std::io::BufReader::with_capacity(256 * 1024, file), cancel)
            })
            .await
    }

    async fn stat(&self, external_id: &ExternalId, path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
        let path = path.clone();
        self.confined(external_id, move |c| c.stat(&path)).await
    }

    async fn read_file(&self, external_id: &ExternalId, path: &WorkspacePath, max_bytes: u64) -> AppResult<FileBytes> {
        let path = path.clone();
        self.confined(external_id, move |c| c.read(&path, max_bytes)).await
    }

    async fn write_file(&self, external_id: &ExternalId, path: &WorkspacePath, data: Vec<u8>) -> AppResult<FileEntry> {
        let path = path.clone();
        self.confined(external_id, move |c| c.write(&path, &data)).await
    }

    async fn write_stream(
        &self,
        external_id: &ExternalId,
        path: &WorkspacePath,
        mut body: crate::storage::Upload,
    ) -> AppResult<FileEntry> {
        let p = path.clone();
        let (dir, tmp, file) = self.confined(external_id, move |c| c.create_temp(&p)).await?;
        let mut out = tokio::fs::File::from_std(file);
        let copied = async {
            tokio::io::copy(&mut body, &mut out).await?;
            tokio::io::AsyncWriteExt::flush(&mut out).await
        }
        .await;
        drop(out);
        let p = path.clone();
        self.confined(external_id, move |c| c.commit_temp(&dir, &tmp, &p, copied.map_err(super::errno::write_failed)))
            .await
    }

    async fn make_dir(&self, external_id: &ExternalId, path: &WorkspacePath) -> AppResult<FileEntry> {
        let path = path.clone();
        self.confined(external_id, move |c| c.make_dir(&path)).await
    }

    async fn move_path(
        &self,
        external_id: &ExternalId,
        from: &WorkspacePath,
        to: &WorkspacePath,
    ) -> AppResult<FileEntry> {
        let (from, to) = (from.clone(), to.clone());
        self.confined(external_id, move |c| c.rename(&from, &to)).await
    }

    async fn read_stream(&self, external_id: &ExternalId, path: &WorkspacePath) -> AppResult<crate::storage::Upload> {
        let path = path.clone();
        let file = self.confined(external_id, move |c| c.open_regular(&path)).await?;
        Ok(Box::pin(tokio::fs::File::from_std(file)))
    }

    async fn set_mode(&self, external_id: &ExternalId, path: &WorkspacePath, mode: u32) -> AppResult<()> {
        let path = path.clone();
        self.confined(external_id, move |c| c.set_mode(&path, mode)).await
    }

    async fn make_symlink(&self, external_id: &ExternalId, path: &WorkspacePath, target: &str) -> AppResult<()> {
        let (path, target) = (path.clone(), target.to_string());
        self.confined(external_id, move |c| c.symlink(&path, &target)).await
    }

    async fn delete_path(&self, external_id: &ExternalId, path: &WorkspacePath, recursive: bool) -> AppResult<()> {
        let path = path.clone();
        let steps = self.max_delete_steps;
        self.confined(external_id, move |c| c.delete(&path, recursive, steps)).await
    }
}

impl LocalBackend {
    /// Runs a blocking file operation on the sandbox's workspace off the async threads.
    async fn confined<T, F>(&self, external_id: &ExternalId, op: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Confined) -> AppResult<T> + Send + 'static,
    {
        let workspace = self.workspace(external_id)?;
        work::blocking(move |_| op(&Confined::open(&workspace)?)).await
    }
}
