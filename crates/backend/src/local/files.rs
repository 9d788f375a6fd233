//! File operations of the `local` backend, confined to a workspace by the kernel.
//!
//! Every path is resolved with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` from a
//! descriptor of the workspace root, so neither `..` nor a symlink — even one swapped in by
//! a process in the sandbox while we look — can lead outside. Listings never follow
//! symlinks; reads follow them only while they stay inside. One pass over the tree, no
//! process per file, no shell.

use std::{
    io::{Read, Write},
    os::fd::OwnedFd,
    path::Path,
    sync::atomic::AtomicBool,
};

use chrono::DateTime;
use rustix::{
    fs::{AtFlags, FileType, Mode, OFlags, RenameFlags, ResolveFlags, Stat},
    io::Errno,
};

use super::{
    errno::{fail, write_failed},
    remove, walk,
};
use crate::{
    error::{AppError, AppResult},
    files::{FileBytes, FileEntry, FileKind, Walk, WalkOptions, WorkspacePath},
};

/// A workspace opened for confined access.
pub struct Confined {
    root: OwnedFd,
    /// Who owns what the server creates here: the workspace's owner (the sandbox's own
    /// uid) when that is not the server, so the sandbox can change it.
    owner: Option<(u32, u32)>,
}

pub(super) fn kind_of(st: &Stat) -> FileKind {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => FileKind::File,
        FileType::Directory => FileKind::Directory,
        FileType::Symlink => FileKind::Symlink,
        _ => FileKind::Other,
    }
}

pub(super) fn entry(path: WorkspacePath, st: &Stat, target: Option<String>) -> FileEntry {
    let modified = DateTime::from_timestamp(st.st_mtime, st.st_mtime_nsec as u32).unwrap_or_default();
    FileEntry {
        path,
        kind: kind_of(st),
        size: st.st_size as u64,
        modified,
        mode: st.st_mode & 0o7777,
        symlink_target: target,
    }
}

pub(super) fn link_target(dir: &OwnedFd, name: &str) -> Option<String> {
    rustix::fs::readlinkat(dir, name, Vec::new()).ok().map(|t| t.to_string_lossy().into_owned())
}

impl Confined {
    /// Opens the workspace root; a missing workspace is NOT_FOUND.
    pub fn open(workspace: &Path) -> AppResult<Self> {
        let root = rustix::fs::open(workspace, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| if e == Errno::NOENT { AppError::NotFound("sandbox workspace") } else { fail(e) })?;
        let st = rustix::fs::fstat(&root).map_err(fail)?;
        let owner = (st.st_uid != rustix::process::geteuid().as_raw()).then_some((st.st_uid, st.st_gid));
        Ok(Self { root, owner })
    }

    /// Gives `name` in `dir` to the workspace's owner (not following a symlink).
    fn own(&self, dir: &OwnedFd, name: &str) -> AppResult<()> {
        let Some((uid, gid)) = self.owner else { return Ok(()) };
        let (uid, gid) = (rustix::fs::Uid::from_raw(uid), rustix::fs::Gid::from_raw(gid));
        rustix::fs::chownat(dir, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW).map_err(fail)
    }

    fn beneath(&self, path: &WorkspacePath, flags: OFlags) -> AppResult<OwnedFd> {
        let p = if path.is_root() { "." } else { path.as_str() };
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        rustix::fs::openat2(&self.root, p, flags | OFlags::CLOEXEC, Mode::empty(), resolve).map_err(fail)
    }

    /// The parent directory (as a descriptor) and the last name of a non-root path.
    fn parent<'p>(&self, path: &'p WorkspacePath, what: &str) -> AppResult<(OwnedFd, &'p str)> {
        let (parent, name) =
            path.split_last().ok_or_else(|| AppError::bad_input(format!("cannot {what} the workspace root")))?;
        Ok((self.beneath(&parent, OFlags::DIRECTORY | OFlags::PATH)?, name))
    }

    /// Metadata of a path without following a final symlink; None when it does not exist.
    pub fn stat(&self, path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
        let found = if path.is_root() {
            rustix::fs::statat(&self.root, ".", AtFlags::empty()).map(|st| entry(path.clone(), &st, None))
        } else {
            let (dir, name) = match self.parent(path, "stat") {
                Ok(p) => p,
                Err(AppError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).map(|st| {
                let target = (kind_of(&st) == FileKind::Symlink).then(|| link_target(&dir, name)).flatten();
                entry(path.clone(), &st, target)
            })
        };
        match found {
            Ok(e) => Ok(Some(e)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(fail(e)),
        }
    }

    /// Lists a directory in one pass, descending up to `max_depth` levels, on up to
    /// `threads` threads; stops with an error as soon as `cancel` is set (the request that
    /// wanted it went away).
    pub fn walk(
        &self,
        path: &WorkspacePath,
        opts: WalkOptions,
        threads: usize,
        cancel: &AtomicBool,
    ) -> AppResult<Walk> {
        let dir = self.beneath(path, OFlags::DIRECTORY | OFlags::RDONLY)?;
        // Deep walks of big trees are worth several threads; shallow ones are not.
        if threads > 1 && opts.max_depth > 2 && opts.max_entries > 10_000 {
            walk::walk_parallel(&dir, path, opts, threads, cancel)
        } else {
            walk::Walker::new(dir, path, opts, cancel)?.collect()
        }
    }

    /// Walks like [`walk`](Self::walk) but hands entries to `emit` in chunks of `chunk`
    /// instead of collecting them (sequential, for streams); stops when `emit` returns
    /// false. Returns whether `max_entries` cut it short, and how many entries were skipped.
    pub fn walk_chunks(
        &self,
        path: &WorkspacePath,
        opts: WalkOptions,
        cancel: &AtomicBool,
        chunk: usize,
        mut emit: impl FnMut(Vec<FileEntry>) -> bool,
    ) -> AppResult<(bool, u64)> {
        let dir = self.beneath(path, OFlags::DIRECTORY | OFlags::RDONLY)?;
        let mut walker = walk::Walker::new(dir, path, opts, cancel)?;
        let (mut buf, mut total) = (Vec::with_capacity(chunk), 0usize);
        for e in walker.by_ref() {
            if total >= opts.max_entries {
                return Ok((true, walker.skipped));
            }
            buf.push(e?);
            total += 1;
            if buf.len() >= chunk && !emit(std::mem::replace(&mut buf, Vec::with_capacity(chunk))) {
                return Ok((false, walker.skipped));
            }
        }
        if !buf.is_empty() {
            emit(buf);
        }
        Ok((false, walker.skipped))
    }

    /// Opens a regular file (symlinks followed while they stay inside) and its size.
    fn open_file(&self, path: &WorkspacePath) -> AppResult<(std::fs::File, u64)> {
        // O_NONBLOCK: opening a fifo must not hang the server.
        let fd = self.beneath(path, OFlags::RDONLY | OFlags::NONBLOCK)?;
        let st = rustix::fs::fstat(&fd).map_err(fail)?;
        match kind_of(&st) {
            FileKind::File => Ok((std::fs::File::from(fd), st.st_size as u64)),
            FileKind::Directory => Err(AppError::bad_input("path is a directory")),
            _ => Err(AppError::bad_input("path is not a regular file")),
        }
    }

    /// A regular file opened for reading.
    pub fn open_regular(&self, path: &WorkspacePath) -> AppResult<std::fs::File> {
        Ok(self.open_file(path)?.0)
    }

    /// Up to `max` bytes of a regular file (symlinks followed while they stay inside).
    pub fn read(&self, path: &WorkspacePath, max: u64) -> AppResult<FileBytes> {
        let (file, size) = self.open_file(path)?;
        let mut data = Vec::with_capacity(max.min(size) as usize);
        file.take(max).read_to_end(&mut data)?;
        Ok(FileBytes { truncated: size > data.len() as u64, data, size })
    }

    /// Sets permission bits of a file or directory (not through a symlink).
    pub fn set_mode(&self, path: &WorkspacePath, mode: u32) -> AppResult<()> {
        let fd = self.beneath(path, OFlags::PATH | OFlags::NOFOLLOW)?;
        let st = rustix::fs::fstat(&fd).map_err(fail)?;
        if kind_of(&st) == FileKind::Symlink {
            return Ok(());
        }
        let real = self.beneath(path, OFlags::RDONLY | OFlags::NONBLOCK)?;
        rustix::fs::fchmod(&real, Mode::from_raw_mode(mode & 0o7777)).map_err(fail)
    }

    /// Creates a symlink (parents created); the target is stored as given.
    pub fn symlink(&self, path: &WorkspacePath, target: &str) -> AppResult<()> {
        let (parent, name) =
            path.split_last().ok_or_else(|| AppError::bad_input("cannot replace the workspace root"))?;
        let dir = self.mkdir_p(&parent)?;
        rustix::fs::symlinkat(target, &dir, name).map_err(fail)?;
        self.own(&dir, name)
    }

    /// Replaces a file atomically (write a temp file, rename over), creating parents.
    pub fn write(&self, path: &WorkspacePath, data: &[u8]) -> AppResult<FileEntry> {
        let (dir, tmp, mut file) = self.create_temp(path)?;
        let written = file.write_all(data).map_err(write_failed);
        drop(file);
        self.commit_temp(&dir, &tmp, path, written)
    }

    /// A new temporary file beside `path` (parents created): the first half of an atomic
    /// replace. Returns the directory, the temporary name and the open file.
    pub fn create_temp(&self, path: &WorkspacePath) -> AppResult<(OwnedFd, String, std::fs::File)> {
        let (parent, name) = path.split_last().ok_or_else(|| AppError::bad_input("cannot write the workspace root"))?;
        let dir = self.mkdir_p(&parent)?;
        if let Ok(st) = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)
            && kind_of(&st) == FileKind::Directory
        {
            return Err(AppError::bad_input("path is a directory"));
        }
        let tmp = format!(".sbq-{}.tmp", uuid::Uuid::new_v4().simple());
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&dir, &tmp, flags, Mode::from_raw_mode(0o644)).map_err(fail)?;
        self.own(&dir, &tmp)?;
        Ok((dir, tmp, std::fs::File::from(fd)))
    }

    /// The second half: renames the written temporary over `path`, or removes it when
    /// writing failed.
    pub fn commit_temp(
        &self,
        dir: &OwnedFd,
        tmp: &str,
        path: &WorkspacePath,
        written: AppResult<()>,
    ) -> AppResult<FileEntry> {
        let name = path.split_last().map(|(_, n)| n).unwrap_or_default();
        let renamed = written.and_then(|_| rustix::fs::renameat(dir, tmp, dir, name).map_err(fail));
        if let Err(e) = renamed {
            let _ = rustix::fs::unlinkat(dir, tmp, AtFlags::empty());
            return Err(e);
        }
        self.stat(path)?.ok_or(AppError::NotFound("file"))
    }

    /// `mkdir -p`, confined; returns a descriptor of the last directory.
    fn mkdir_p(&self, path: &WorkspacePath) -> AppResult<OwnedFd> {
        let mut at = WorkspacePath::root();
        for comp in path.components() {
            let dir = self.beneath(&at, OFlags::DIRECTORY | OFlags::PATH)?;
            match rustix::fs::mkdirat(&dir, comp, Mode::from_raw_mode(0o755)) {
                Ok(()) => self.own(&dir, comp)?,
                Err(Errno::EXIST) => {}
                Err(e) => return Err(fail(e)),
            }
            at = at.join(comp);
        }
        self.beneath(&at, OFlags::DIRECTORY | OFlags::PATH)
    }

    /// Creates a directory and its parents.
    pub fn make_dir(&self, path: &WorkspacePath) -> AppResult<FileEntry> {
        self.mkdir_p(path)?;
        self.stat(path)?.ok_or(AppError::NotFound("file"))
    }

    /// Renames without replacing: an existing destination is CONFLICT.
    pub fn rename(&self, from: &WorkspacePath, to: &WorkspacePath) -> AppResult<FileEntry> {
        if from.contains(to) {
            return Err(AppError::bad_input("cannot move a path into itself"));
        }
        let (fdir, fname) = self.parent(from, "move")?;
        let (tdir, tname) = self.parent(to, "replace")?;
        rustix::fs::renameat_with(&fdir, fname, &tdir, tname, RenameFlags::NOREPLACE).map_err(fail)?;
        self.stat(to)?.ok_or(AppError::NotFound("file"))
    }

    /// Deletes a file, symlink (not its target) or directory (recursively if asked, in at
    /// most `max_steps` removals).
    pub fn delete(&self, path: &WorkspacePath, recursive: bool, max_steps: u64) -> AppResult<()> {
        let (dir, name) = self.parent(path, "delete")?;
        let st = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(fail)?;
        if kind_of(&st) != FileKind::Directory {
            return rustix::fs::unlinkat(&dir, name, AtFlags::empty()).map_err(fail);
        }
        if recursive {
            let rw = self.beneath(path, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW)?;
            remove::remove_contents(&rw, max_steps)?;
        }
        rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR).map_err(fail)
    }
}
