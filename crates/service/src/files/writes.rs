//! Changing a sandbox's files: write, make directories, move, delete. A SLEEPING sandbox
//! is woken first, and one whose backend sandbox turns out to have ended is put to sleep,
//! woken and the change tried once more; every write drops the sandbox's cached listings.

use std::future::Future;

use crate::{
    backend::{
        ExternalId,
        files::{FileEntry, WorkspacePath},
    },
    entity::enums::SandboxStatus,
    error::{AppError, AppResult, reasons},
};
use crate::{files::Files, sandboxes::VisibleSandbox};

impl Files {
    /// The sandbox awake and able to take writes.
    async fn writable(&self, sb: &VisibleSandbox) -> AppResult<VisibleSandbox> {
        let sb = self.waker.awake(sb).await?;
        if sb.status != SandboxStatus::Running {
            return Err(AppError::conflict_because(
                reasons::NOT_RUNNING,
                "the sandbox is not running; its files are read-only",
            ));
        }
        sb.external_id()?;
        self.listings.invalidate(sb.id);
        Ok(sb)
    }

    /// Runs `change` on the awake sandbox's backend id; once more after a wake when the
    /// backend sandbox had ended under it.
    async fn changing<T, F, Fut>(&self, sb: &VisibleSandbox, change: F) -> AppResult<T>
    where
        F: Fn(ExternalId) -> Fut,
        Fut: Future<Output = AppResult<T>>,
    {
        let sb = self.writable(sb).await?;
        let first = change(sb.external_id()?).await;
        if first.is_err() && self.waker.gone(&sb).await {
            let sb = self.writable(&self.waker.reload(&sb).await?).await?;
            return change(sb.external_id()?).await;
        }
        first
    }

    /// Writes a file (atomic replace, parents created).
    pub async fn write(&self, sb: &VisibleSandbox, path: &str, data: Vec<u8>) -> AppResult<FileEntry> {
        let limit = self.limits.max_file_write_bytes;
        if data.len() as u64 > limit {
            return Err(AppError::bad_input(format!("content is larger than {limit} bytes")));
        }
        let path = WorkspacePath::parse(path)?;
        let (path, data) = (&path, &data);
        self.changing(sb, |ext| async move { self.backend.write_file(&ext, path, data.clone()).await }).await
    }

    /// Creates a directory and its parents.
    pub async fn make_dir(&self, sb: &VisibleSandbox, path: &str) -> AppResult<FileEntry> {
        let path = &WorkspacePath::parse(path)?;
        self.changing(sb, |ext| async move { self.backend.make_dir(&ext, path).await }).await
    }

    /// Moves a path; CONFLICT when the destination exists.
    pub async fn move_path(&self, sb: &VisibleSandbox, from: &str, to: &str) -> AppResult<FileEntry> {
        let (from, to) = (&WorkspacePath::parse(from)?, &WorkspacePath::parse(to)?);
        self.changing(sb, |ext| async move { self.backend.move_path(&ext, from, to).await }).await
    }

    /// Deletes a path; a non-empty directory needs `recursive`.
    pub async fn delete_path(&self, sb: &VisibleSandbox, path: &str, recursive: bool) -> AppResult<()> {
        let path = &WorkspacePath::parse(path)?;
        self.changing(sb, |ext| async move { self.backend.delete_path(&ext, path, recursive).await }).await
    }
}
