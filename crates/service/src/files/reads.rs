//! Reading a live workspace, whatever state its backend sandbox is in: a RUNNING sandbox
//! is asked directly; a SLEEPING one is read where its files rest (its volume) without
//! waking it; and a RUNNING one whose backend sandbox turns out to have ended on its own
//! is put to sleep and then read at rest, so the caller gets an answer, not an error.

use crate::{
    backend::{
        AtRest,
        files::{FileBytes, FileEntry, Walk, WalkOptions, WorkspacePath},
    },
    entity::enums::SandboxStatus,
    error::{AppError, AppResult},
};
use crate::{files::Files, sandboxes::VisibleSandbox};

impl Files {
    /// Whether to read at rest after `result` failed (the backend sandbox is gone).
    async fn at_rest_after<T>(&self, sb: &VisibleSandbox, result: &AppResult<T>) -> bool {
        result.is_err() && self.waker.gone(sb).await
    }

    /// The backend's reader of files at rest. Only backends with one put sandboxes to
    /// sleep, so a sleeping sandbox without one is a bug, not a client error.
    fn at_rest(&self) -> AppResult<&dyn AtRest> {
        self.backend
            .at_rest()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a sleeping sandbox on a backend that cannot sleep")))
    }

    /// Entries under `path` in the live workspace.
    pub(super) async fn workspace_walk(
        &self,
        sb: &VisibleSandbox,
        path: &WorkspacePath,
        opts: WalkOptions,
    ) -> AppResult<Walk> {
        if sb.status == SandboxStatus::Sleeping {
            return self.at_rest()?.walk_at_rest(sb.id, path, opts).await;
        }
        let live = self.backend.walk(&sb.external_id()?, path, opts).await;
        if self.at_rest_after(sb, &live).await {
            return self.at_rest()?.walk_at_rest(sb.id, path, opts).await;
        }
        live
    }

    /// One entry of the live workspace.
    pub(super) async fn workspace_stat(
        &self,
        sb: &VisibleSandbox,
        path: &WorkspacePath,
    ) -> AppResult<Option<FileEntry>> {
        if sb.status == SandboxStatus::Sleeping {
            return self.at_rest()?.stat_at_rest(sb.id, path).await;
        }
        let live = self.backend.stat(&sb.external_id()?, path).await;
        if self.at_rest_after(sb, &live).await {
            return self.at_rest()?.stat_at_rest(sb.id, path).await;
        }
        live
    }

    /// A prefix of a file of the live workspace.
    pub(super) async fn workspace_read(
        &self,
        sb: &VisibleSandbox,
        path: &WorkspacePath,
        max: u64,
    ) -> AppResult<FileBytes> {
        if sb.status == SandboxStatus::Sleeping {
            return self.at_rest()?.read_at_rest(sb.id, path, max).await;
        }
        let live = self.backend.read_file(&sb.external_id()?, path, max).await;
        if self.at_rest_after(sb, &live).await {
            return self.at_rest()?.read_at_rest(sb.id, path, max).await;
        }
        live
    }
}
