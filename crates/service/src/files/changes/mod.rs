//! Live changes of a sandbox's workspace (`workspaceChanges`): created, modified, deleted
//! and moved paths, coalesced per path over a debounce window and sent at most once per
//! window, so a process writing 10,000 files costs the client a handful of messages.
//!
//! A backend that can watch (local: inotify) pushes raw changes through a bounded queue; for
//! one that cannot (Modal) the workspace is listed again every poll interval, within the
//! walk limits, and compared with the previous listing. Either way memory is bounded by the
//! limits (queue length, paths per window, walk entries), never by what the sandbox does.

mod coalesce;
mod poll;

use std::time::Duration;

use futures::{Stream, StreamExt, stream::BoxStream};

use self::coalesce::Window;
use crate::{
    backend::{
        RawChange, WorkspaceWatch,
        files::{WalkOptions, WorkspacePath},
    },
    entity::enums::SandboxStatus,
    error::{AppError, AppResult},
    work,
};
use crate::{files::Files, sandboxes::VisibleSandbox};

/// What happened to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// It appeared.
    Created,
    /// Its content or metadata changed.
    Modified,
    /// It went away.
    Deleted,
    /// It was renamed to `to_path`.
    Moved,
    /// Too many changes to list in one window: the client should list the workspace again.
    Overflow,
}

/// One coalesced change of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceChange {
    /// What happened.
    pub kind: ChangeKind,
    /// The path (for a move, where it was; the root for an overflow).
    pub path: WorkspacePath,
    /// Where a moved path is now.
    pub to_path: Option<WorkspacePath>,
}

/// The changes of a sandbox's workspace, as they happen.
pub type Changes = BoxStream<'static, AppResult<WorkspaceChange>>;

impl Files {
    /// Follows the live workspace of `sb` until the caller drops the stream (which stops
    /// the watch) or the workspace is gone. Watches where the backend can, polls otherwise
    /// (also when a watch cannot be had, e.g. the host's inotify limits are reached).
    pub async fn workspace_changes(&self, sb: VisibleSandbox) -> AppResult<Changes> {
        let window = Window::new(self.limits.workspace_changes_max_paths as usize);
        if sb.status != SandboxStatus::Sleeping {
            let capacity = self.limits.workspace_changes_queue as usize;
            let watch = match self.backend.watcher() {
                Some(watcher) => watcher.watch(&sb.external_id()?, capacity).await.map(Some),
                None => Ok(None),
            };
            match watch {
                Ok(Some(watch)) => {
                    let debounce = Duration::from_millis(self.limits.workspace_changes_debounce_ms);
                    return Ok(watched(watch, window, debounce).boxed());
                }
                Ok(None) => {}
                Err(AppError::NotFound(what)) => return Err(AppError::NotFound(what)),
                Err(e) => {
                    tracing::warn!(sandbox_id = %sb.id, error = ?e.log_detail(), "workspace not watchable; polling")
                }
            }
        }
        self.polled(sb, window).await
    }

    /// Lists the workspace every poll interval and reports the differences.
    async fn polled(&self, sb: VisibleSandbox, mut window: Window) -> AppResult<Changes> {
        let opts = WalkOptions {
            max_depth: u32::MAX,
            depth_cap: self.limits.max_walk_depth as u32,
            max_entries: self.limits.max_walk_entries as usize,
        };
        let root = WorkspacePath::root();
        let first = self.workspace_walk(&sb, &root, opts).await?.entries;
        let mut before = work::blocking(move |_| Ok(poll::sorted(first))).await?;
        let every = Duration::from_millis(self.limits.workspace_changes_poll_ms.max(1));
        let files = self.clone();
        Ok(async_stream::stream! {
            loop {
                tokio::time::sleep(every).await;
                let entries = match files.workspace_walk(&sb, &root, opts).await {
                    Ok(walk) => walk.entries,
                    Err(AppError::NotFound(what)) => {
                        yield Err(AppError::NotFound(what));
                        break;
                    }
                    Err(e) => {
                        tracing::debug!(sandbox_id = %sb.id, error = ?e.log_detail(), "workspace poll failed");
                        continue;
                    }
                };
                // Sorting and comparing up to a walk's worth of entries is CPU work.
                let compared = work::blocking(move |_| {
                    let after = poll::sorted(entries);
                    poll::diff(&before, &after, &mut window);
                    Ok((after, window))
                });
                match compared.await {
                    Ok((after, w)) => (before, window) = (after, w),
                    Err(e) => {
                        yield Err(e);
                        break;
                    }
                }
                for change in window.take() {
                    yield Ok(change);
                }
            }
        }
        .boxed())
    }
}

/// Gathers a watch's changes into windows that open with the first change and close
/// `debounce` later; ends with the watch or when the workspace itself is deleted.
fn watched(
    mut watch: WorkspaceWatch,
    mut window: Window,
    debounce: Duration,
) -> impl Stream<Item = AppResult<WorkspaceChange>> + Send + 'static {
    async_stream::stream! {
        let mut ended = false;
        while !ended {
            let Some(first) = watch.next().await else { break };
            ended = record(&mut window, first);
            let closes = tokio::time::sleep(debounce);
            tokio::pin!(closes);
            while !ended {
                tokio::select! {
                    _ = &mut closes => break,
                    next = watch.next() => ended = next.is_none_or(|c| record(&mut window, c)),
                }
            }
            for change in window.take() {
                yield Ok(change);
            }
        }
    }
}

/// Adds a change to the window; true when it says the workspace is gone.
fn record(window: &mut Window, change: RawChange) -> bool {
    if matches!(&change, RawChange::Deleted(p) if p.is_root()) {
        return true;
    }
    window.record(change);
    false
}
