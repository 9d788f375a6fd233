//! Watching a workspace: the raw changes a backend sees, queued boundedly, before the
//! service coalesces them for `workspaceChanges`.

use tokio::sync::mpsc;

use crate::files::WorkspacePath;

/// One change a backend saw in a watched workspace, before any coalescing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RawChange {
    /// A path appeared.
    Created(WorkspacePath),
    /// A file's content or metadata changed.
    Modified(WorkspacePath),
    /// A path went away (the root itself: the workspace is gone and the watch ends).
    Deleted(WorkspacePath),
    /// First half of a rename; the `MovedTo` with the same cookie names the destination,
    /// and a lone one means the path left the workspace.
    MovedFrom(WorkspacePath, u64),
    /// Second half of a rename; a lone one means the path came in from outside.
    MovedTo(WorkspacePath, u64),
    /// Changes were lost (a queue was full): whoever watches must re-list.
    Overflow,
}

/// A live watch of a workspace. Changes wait in a bounded queue; when it is full the
/// backend marks the watch overflowed instead of waiting or growing. Dropping it stops
/// the watch (the guard owns the backend's watcher).
pub struct WorkspaceWatch {
    changes: mpsc::Receiver<RawChange>,
    overflowed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    _guard: Box<dyn Send>,
}

impl WorkspaceWatch {
    /// A watch reading `changes`, told of lost ones by `overflowed`, alive while `guard` is.
    pub fn new(
        changes: mpsc::Receiver<RawChange>,
        overflowed: std::sync::Arc<std::sync::atomic::AtomicBool>,
        guard: Box<dyn Send>,
    ) -> Self {
        Self { changes, overflowed, _guard: guard }
    }

    /// The next change (an `Overflow` first when some were lost); None once the watch ended.
    pub async fn next(&mut self) -> Option<RawChange> {
        if self.overflowed.swap(false, std::sync::atomic::Ordering::AcqRel) {
            return Some(RawChange::Overflow);
        }
        self.changes.recv().await
    }
}
