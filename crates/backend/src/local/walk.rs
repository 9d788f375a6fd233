//! Walking a workspace directory for the `local` backend: one pass, entries with their
//! metadata, never following symlinks, in display order; big trees in parallel.
//!
//! No recursion: a [`Walker`] keeps an explicit stack of open directories, at most
//! `depth_cap` deep, so a tenant's 100,000-level directory costs neither stack nor file
//! descriptors. Deeper directories and over-long paths are skipped and counted.

use std::{
    os::fd::OwnedFd,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};

use rustix::{
    fs::{AtFlags, Dir, Mode, OFlags},
    io::Errno,
};

use super::{
    errno::fail,
    files::{entry, kind_of, link_target},
};
use crate::{
    error::{AppError, AppResult},
    files::{FileEntry, FileKind, MAX_PATH_BYTES, Walk, WalkOptions, WorkspacePath},
    order::sort_preorder,
};

/// Reads one directory: its entries with metadata, sorted for display. Names whose path
/// would exceed PATH_MAX are left out and counted in `skipped`.
fn read_entries(dir: &OwnedFd, prefix: &WorkspacePath, skipped: &mut u64) -> AppResult<Vec<FileEntry>> {
    let mut out = Vec::new();
    for item in Dir::read_from(dir).map_err(fail)? {
        let item = item.map_err(fail)?;
        let name = item.file_name().to_string_lossy();
        if name == "." || name == ".." {
            continue;
        }
        if prefix.as_str().len() + 1 + name.len() > MAX_PATH_BYTES {
            *skipped += 1;
            continue;
        }
        let st = match rustix::fs::statat(dir, name.as_ref(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => continue, // removed while we looked
            Err(e) => return Err(fail(e)),
        };
        let target = (kind_of(&st) == FileKind::Symlink).then(|| link_target(dir, &name)).flatten();
        out.push(entry(prefix.join(&name), &st, target));
    }
    sort_preorder(&mut out);
    Ok(out)
}

fn open_child(dir: &OwnedFd, path: &WorkspacePath) -> AppResult<Option<OwnedFd>> {
    let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let name = path.as_str().rsplit('/').next().unwrap_or("");
    match rustix::fs::openat(dir, name, flags, Mode::empty()) {
        Ok(sub) => Ok(Some(sub)),
        Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => Ok(None),
        Err(e) => Err(fail(e)),
    }
}

/// One open directory on the walker's stack and its children still to visit.
struct Frame {
    fd: OwnedFd,
    children: std::vec::IntoIter<FileEntry>,
    depth: u32,
}

/// An iterative pre-order walk below a directory, yielding entries in display order.
pub(super) struct Walker<'c> {
    stack: Vec<Frame>,
    opts: WalkOptions,
    cancel: &'c AtomicBool,
    /// Entries left out: directories below the depth cap, paths over PATH_MAX.
    pub skipped: u64,
}

impl<'c> Walker<'c> {
    /// A walker over the children of `dir` (which is at `prefix`), starting at depth 1.
    pub(super) fn new(
        dir: OwnedFd,
        prefix: &WorkspacePath,
        opts: WalkOptions,
        cancel: &'c AtomicBool,
    ) -> AppResult<Self> {
        let mut skipped = 0;
        let children = read_entries(&dir, prefix, &mut skipped)?.into_iter();
        Ok(Self { stack: vec![Frame { fd: dir, children, depth: 1 }], opts, cancel, skipped })
    }

    fn step(&mut self) -> AppResult<Option<FileEntry>> {
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(AppError::Internal(anyhow::anyhow!("walk cancelled")));
            }
            let Some(top) = self.stack.last_mut() else { return Ok(None) };
            let Some(child) = top.children.next() else {
                self.stack.pop();
                continue;
            };
            let depth = top.depth;
            if child.kind == FileKind::Directory && depth < self.opts.max_depth {
                if depth >= self.opts.depth_cap {
                    self.skipped += 1;
                } else if let Some(fd) = open_child(&top.fd, &child.path)? {
                    let children = read_entries(&fd, &child.path, &mut self.skipped)?.into_iter();
                    self.stack.push(Frame { fd, children, depth: depth + 1 });
                }
            }
            return Ok(Some(child));
        }
    }

    /// Collects entries while `budget` (shared by parallel walkers) lasts; the flag says
    /// whether the budget ran out before the walk did.
    fn collect_within(mut self, budget: &AtomicUsize) -> AppResult<(Walk, bool)> {
        let mut walk = Walk::default();
        let mut cut = false;
        while let Some(e) = self.step()? {
            let taken = budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            if taken.is_err() {
                cut = true;
                break;
            }
            walk.entries.push(e);
        }
        walk.skipped = self.skipped;
        walk.truncated = cut || self.skipped > 0;
        Ok((walk, cut))
    }

    /// Collects up to `max_entries` entries (more means `truncated`).
    pub(super) fn collect(self) -> AppResult<Walk> {
        let budget = AtomicUsize::new(self.opts.max_entries);
        Ok(self.collect_within(&budget)?.0)
    }
}

impl Iterator for Walker<'_> {
    type Item = AppResult<FileEntry>;
    fn next(&mut self) -> Option<Self::Item> {
        self.step().transpose()
    }
}

/// Walks the subtrees of a directory's children on `workers` threads (as `fd` and
/// `ripgrep` do, but no more threads than the CPU pool has, so the other cores stay free
/// for requests) and joins them in display order, so the result is the same as a
/// sequential walk.
pub(super) fn walk_parallel(
    dir: &OwnedFd,
    prefix: &WorkspacePath,
    opts: WalkOptions,
    workers: usize,
    cancel: &AtomicBool,
) -> AppResult<Walk> {
    let mut skipped = 0;
    let children = read_entries(dir, prefix, &mut skipped)?;
    // One budget for all threads: together they never hold more than `max_entries`.
    let budget = AtomicUsize::new(opts.max_entries.saturating_sub(children.len()));
    let workers = workers.max(1);
    let chunk = children.len().div_ceil(workers).max(1);
    // Each subtree below depth 1 is walked as if from its own root, two levels shallower.
    let sub_opts = WalkOptions {
        max_depth: opts.max_depth.saturating_sub(1),
        depth_cap: opts.depth_cap.saturating_sub(1),
        ..opts
    };
    let descend = |child: &FileEntry| -> AppResult<(Walk, bool)> {
        if child.kind != FileKind::Directory || opts.max_depth <= 1 {
            return Ok((Walk::default(), false));
        }
        if opts.depth_cap <= 1 {
            return Ok((Walk { skipped: 1, truncated: true, ..Walk::default() }, false));
        }
        match open_child(dir, &child.path)? {
            Some(fd) => Walker::new(fd, &child.path, sub_opts, cancel)?.collect_within(&budget),
            None => Ok((Walk::default(), false)),
        }
    };
    let parts: Vec<AppResult<Vec<(Walk, bool)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = children
            .chunks(chunk)
            .map(|group| s.spawn(move || group.iter().map(descend).collect::<AppResult<Vec<_>>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(AppError::Internal(anyhow::anyhow!("walk thread panicked")))))
            .collect()
    });
    let subs = parts.into_iter().collect::<AppResult<Vec<Vec<_>>>>()?.into_iter().flatten();
    let mut walk = Walk { skipped, truncated: skipped > 0, ..Walk::default() };
    // Join in order; after the first cut subtree the rest is left out, so the result is
    // always a prefix of the full walk.
    for (child, (sub, budget_cut)) in children.into_iter().zip(subs) {
        if walk.entries.len() >= opts.max_entries {
            walk.truncated = true;
            break;
        }
        walk.entries.push(child);
        let room = opts.max_entries - walk.entries.len();
        let cut = budget_cut || sub.entries.len() > room;
        walk.skipped += sub.skipped;
        walk.truncated |= sub.truncated;
        walk.entries.extend(sub.entries.into_iter().take(room));
        if cut {
            walk.truncated = true;
            break;
        }
    }
    Ok(walk)
}
