//! Removing a directory tree of any depth without recursion.
//!
//! A recursive delete needs a stack frame and an open descriptor per level, so a tenant's
//! 100,000-level directory would overflow the stack or run out of descriptors. Instead,
//! every subdirectory's own subdirectories are first lifted into the directory being
//! emptied (renamed to a fresh name there), then its files are unlinked and it is
//! removed: a chain of any depth comes apart one level per step, with two descriptors.

use std::os::fd::OwnedFd;

use rustix::{
    fs::{AtFlags, Dir, Mode, OFlags, RenameFlags},
    io::Errno,
};

use super::{errno::fail, files::kind_of};
use crate::{
    error::{AppError, AppResult},
    files::FileKind,
};

fn names(dir: &OwnedFd) -> AppResult<Vec<std::ffi::CString>> {
    let mut out = Vec::new();
    for item in Dir::read_from(dir).map_err(fail)? {
        let item = item.map_err(fail)?;
        let name = item.file_name();
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

fn open_dir(dir: &OwnedFd, name: &std::ffi::CStr) -> Result<OwnedFd, Errno> {
    let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(dir, name, flags, Mode::empty())
}

/// Empties `dir`. Gives up (CONFLICT) after `max_steps` removals or moves, so a process
/// that keeps creating files cannot keep the server busy forever.
pub(super) fn remove_contents(dir: &OwnedFd, max_steps: u64) -> AppResult<()> {
    let mut steps = 0u64;
    let mut fresh = 0u64;
    let mut step = || -> AppResult<()> {
        steps += 1;
        if steps > max_steps {
            return Err(AppError::conflict_because(
                crate::error::reasons::KEEPS_CHANGING,
                "the directory keeps changing; stop what writes to it and retry",
            ));
        }
        Ok(())
    };
    loop {
        let batch = names(dir)?;
        if batch.is_empty() {
            return Ok(());
        }
        for name in batch {
            step()?;
            let st = match rustix::fs::statat(dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(fail(e)),
            };
            if kind_of(&st) != FileKind::Directory {
                match rustix::fs::unlinkat(dir, name.as_c_str(), AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => continue,
                    Err(e) => return Err(fail(e)),
                }
            }
            let sub = match open_dir(dir, name.as_c_str()) {
                Ok(sub) => sub,
                Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => continue,
                Err(e) => return Err(fail(e)),
            };
            for child in names(&sub)? {
                step()?;
                let st = match rustix::fs::statat(&sub, child.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => st,
                    Err(Errno::NOENT) => continue,
                    Err(e) => return Err(fail(e)),
                };
                if kind_of(&st) != FileKind::Directory {
                    match rustix::fs::unlinkat(&sub, child.as_c_str(), AtFlags::empty()) {
                        Ok(()) | Err(Errno::NOENT) => continue,
                        Err(e) => return Err(fail(e)),
                    }
                }
                // Lift the grandchild directory into `dir` under a name nothing uses.
                loop {
                    fresh += 1;
                    let to = format!(".sbq-rm-{fresh}");
                    match rustix::fs::renameat_with(&sub, child.as_c_str(), dir, to.as_str(), RenameFlags::NOREPLACE) {
                        Ok(()) | Err(Errno::NOENT) => break,
                        Err(Errno::EXIST) => continue,
                        Err(e) => return Err(fail(e)),
                    }
                }
            }
            match rustix::fs::unlinkat(dir, name.as_c_str(), AtFlags::REMOVEDIR) {
                // Something appeared meanwhile: the next pass takes care of it.
                Ok(()) | Err(Errno::NOENT | Errno::NOTEMPTY) => {}
                Err(e) => return Err(fail(e)),
            }
        }
    }
}
