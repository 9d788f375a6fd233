//! Walking a workspace directory for the `local` backend: one pass, entries with their
//! metadata, never following symlinks, in display order; big trees in parallel.

use std::os::fd::OwnedFd;

use rustix::{
    fs::{AtFlags, Dir, Mode, OFlags},
    io::Errno,
};

use super::files::{entry, fail, kind_of, link_target};
use crate::{
    backend::files::{FileEntry, FileKind, Walk, WalkOptions, WorkspacePath, display_order},
    error::{AppError, AppResult},
};

/// Reads one directory: its entries with metadata, sorted for display.
fn read_entries(dir: &OwnedFd, prefix: &WorkspacePath) -> AppResult<Vec<FileEntry>> {
    let mut out = Vec::new();
    for item in Dir::read_from(dir).map_err(fail)? {
        let item = item.map_err(fail)?;
        let name = item.file_name().to_string_lossy();
        if name == "." || name == ".." {
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
    out.sort_by(display_order);
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

/// Walks the subtrees of a directory's children in parallel (one per core, as `fd` and
/// `ripgrep` do) and joins them in display order, so the result is the same as a
/// sequential walk.
pub(super) fn walk_parallel(
    dir: &OwnedFd,
    prefix: &WorkspacePath,
    opts: WalkOptions,
    walk: &mut Walk,
) -> AppResult<()> {
    let children = read_entries(dir, prefix)?;
    let workers = std::thread::available_parallelism().map(usize::from).unwrap_or(1).max(1);
    let descend_into = |child: &FileEntry| child.kind == FileKind::Directory && opts.max_depth > 1;
    let chunk = children.len().div_ceil(workers).max(1);
    let parts: Vec<AppResult<Vec<Walk>>> = std::thread::scope(|s| {
        let handles: Vec<_> = children
            .chunks(chunk)
            .map(|group| {
                s.spawn(move || {
                    group
                        .iter()
                        .map(|child| {
                            let mut sub = Walk::default();
                            if descend_into(child)
                                && let Some(fd) = open_child(dir, &child.path)?
                            {
                                descend(&fd, &child.path, 2, opts, &mut sub)?;
                            }
                            Ok(sub)
                        })
                        .collect::<AppResult<Vec<Walk>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(AppError::Internal(anyhow::anyhow!("walk thread panicked")))))
            .collect()
    });
    let subs = parts.into_iter().collect::<AppResult<Vec<Vec<Walk>>>>()?.into_iter().flatten();
    for (child, sub) in children.into_iter().zip(subs) {
        if walk.entries.len() >= opts.max_entries {
            walk.truncated = true;
            return Ok(());
        }
        walk.entries.push(child);
        let room = opts.max_entries - walk.entries.len();
        walk.truncated |= sub.truncated || sub.entries.len() > room;
        walk.entries.extend(sub.entries.into_iter().take(room));
    }
    Ok(())
}

pub(super) fn descend(
    dir: &OwnedFd,
    prefix: &WorkspacePath,
    depth: u32,
    opts: WalkOptions,
    walk: &mut Walk,
) -> AppResult<()> {
    for child in read_entries(dir, prefix)? {
        if walk.entries.len() >= opts.max_entries {
            walk.truncated = true;
            return Ok(());
        }
        let is_dir = child.kind == FileKind::Directory;
        let path = child.path.clone();
        walk.entries.push(child);
        if is_dir
            && depth < opts.max_depth
            && let Some(sub) = open_child(dir, &path)?
        {
            descend(&sub, &path, depth + 1, opts, walk)?;
        }
    }
    Ok(())
}
