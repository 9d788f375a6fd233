//! Watching a local workspace with inotify (through `notify`), for `workspaceChanges`.
//!
//! notify calls [`Forwarder`] on its own thread, so translating events costs the async
//! runtime nothing. What leaves here is confined like every file read: paths are made
//! relative to the workspace, anything outside it is dropped, symlinks are never followed
//! (a directory reached through one — a link swapped in while notify added its watch — is
//! dropped too), and the queue to the subscriber is bounded: when it is full the watch is
//! marked overflowed rather than blocking inotify or growing.

use std::{
    os::fd::OwnedFd,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use notify::{
    Config, EventKind, RecommendedWatcher, RecursiveMode, Watcher,
    event::{ModifyKind, RenameMode},
};
use rustix::{
    fs::{Mode, OFlags, ResolveFlags},
    io::Errno,
};
use tokio::sync::mpsc;

use crate::{
    error::{AppError, AppResult},
    work,
    {RawChange, WorkspaceWatch, files::WorkspacePath},
};

/// Starts watching `workspace` recursively, queueing at most `capacity` changes. Adding
/// the watches walks the tree, so it runs on a blocking thread.
pub(super) async fn start(workspace: PathBuf, capacity: usize) -> AppResult<WorkspaceWatch> {
    work::blocking(move |_| start_blocking(&workspace, capacity)).await
}

fn start_blocking(workspace: &Path, capacity: usize) -> AppResult<WorkspaceWatch> {
    let root = rustix::fs::open(workspace, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| if e == Errno::NOENT { AppError::NotFound("sandbox workspace") } else { super::errno::fail(e) })?;
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let overflowed = Arc::new(AtomicBool::new(false));
    let forwarder = Forwarder { prefix: workspace.to_path_buf(), root, tx, overflowed: overflowed.clone() };
    let failed = |e: notify::Error| AppError::provider("the workspace cannot be watched", format!("notify: {e}"));
    let mut watcher =
        RecommendedWatcher::new(forwarder, Config::default().with_follow_symlinks(false)).map_err(failed)?;
    watcher.watch(workspace, RecursiveMode::Recursive).map_err(failed)?;
    Ok(WorkspaceWatch::new(rx, overflowed, Box::new(watcher)))
}

/// Turns notify's events into [`RawChange`]s of workspace paths and queues them.
struct Forwarder {
    /// The workspace as given to notify: every event path starts with it.
    prefix: PathBuf,
    /// The workspace, opened once, to check that a reported path lies beneath it.
    root: OwnedFd,
    tx: mpsc::Sender<RawChange>,
    overflowed: Arc<AtomicBool>,
}

impl notify::EventHandler for Forwarder {
    fn handle_event(&mut self, event: notify::Result<notify::Event>) {
        let event = match event {
            Ok(e) if !e.need_rescan() => e,
            // A lost inotify queue or a watch limit reached: the subscriber must re-list.
            Ok(_) => return self.send(RawChange::Overflow),
            Err(e) => {
                tracing::debug!(error = %e, "workspace watch error");
                return self.send(RawChange::Overflow);
            }
        };
        let Some(path) = event.paths.first().and_then(|p| self.relative(p)) else { return };
        let cookie = event.tracker().map(|t| t as u64);
        let change = match (event.kind, cookie) {
            (EventKind::Create(_), _) => RawChange::Created(path),
            (EventKind::Remove(_), _) => RawChange::Deleted(path),
            // The workspace itself moved away: it is gone for this watch.
            (EventKind::Modify(ModifyKind::Name(RenameMode::From)), _) if path.is_root() => RawChange::Deleted(path),
            (EventKind::Modify(ModifyKind::Name(RenameMode::From)), Some(c)) => RawChange::MovedFrom(path, c),
            (EventKind::Modify(ModifyKind::Name(RenameMode::From)), None) => RawChange::Deleted(path),
            (EventKind::Modify(ModifyKind::Name(RenameMode::To)), Some(c)) => RawChange::MovedTo(path, c),
            (EventKind::Modify(ModifyKind::Name(RenameMode::To)), None) => RawChange::Created(path),
            // `Both` repeats a pair already sent; other name events say nothing new.
            (EventKind::Modify(ModifyKind::Name(_)), _) => return,
            (EventKind::Modify(_), _) => RawChange::Modified(path),
            _ => return,
        };
        // Only the root's own removal matters; its other events (attributes) do not.
        if path_is_root(&change) && !matches!(change, RawChange::Deleted(_)) {
            return;
        }
        self.send(change);
    }
}

fn path_is_root(change: &RawChange) -> bool {
    match change {
        RawChange::Created(p) | RawChange::Modified(p) | RawChange::Deleted(p) => p.is_root(),
        RawChange::MovedFrom(p, _) | RawChange::MovedTo(p, _) => p.is_root(),
        RawChange::Overflow => false,
    }
}

impl Forwarder {
    /// Queues a change, or marks the watch overflowed when the queue is full.
    fn send(&self, change: RawChange) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(change) {
            self.overflowed.store(true, Ordering::Release);
        }
    }

    /// The workspace path of an event's path, if it lies inside the workspace and no
    /// directory on the way is a symlink. A parent that is gone already (a deleted tree)
    /// is fine: it was a watched directory of this workspace.
    fn relative(&self, path: &Path) -> Option<WorkspacePath> {
        let rel = path.strip_prefix(&self.prefix).ok()?;
        let path = WorkspacePath::parse(&rel.to_string_lossy()).ok()?;
        let Some((parent, _)) = path.split_last() else { return Some(path) };
        if parent.is_root() {
            return Some(path);
        }
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        // EAGAIN: a rename raced the lookup, which the kernel then refuses to vouch for.
        for _ in 0..3 {
            match rustix::fs::openat2(&self.root, parent.as_str(), flags, Mode::empty(), resolve) {
                Ok(_) | Err(Errno::NOENT) => return Some(path),
                Err(Errno::AGAIN) => continue,
                Err(_) => return None,
            }
        }
        None
    }
}
