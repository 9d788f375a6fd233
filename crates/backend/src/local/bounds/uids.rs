//! One uid per jailed sandbox, from a reserved range: a claim file per uid under
//! `{data}/uids/` made with `create_new`, so two creates never get the same one, and the
//! sandbox's own `uid` file saying which it holds. The range belongs to one data dir:
//! servers on one host with different data dirs need ranges that do not overlap.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use anyhow::Context;

/// The file in a sandbox's directory holding its uid.
pub const UID_FILE: &str = "uid";

/// The uid range of a data dir.
#[derive(Debug, Clone)]
pub struct Uids {
    dir: PathBuf,
    base: u32,
    count: u32,
    /// Where the next search starts (claims are usually in order).
    next: Arc<AtomicU32>,
}

impl Uids {
    /// The range `base..base+count`, claimed under `data_dir`; refuses a range that holds
    /// a user of this host's `/etc/passwd` (or root).
    pub fn new(data_dir: &Path, base: u32, count: u32) -> anyhow::Result<Self> {
        anyhow::ensure!(base > 0 && count > 0, "--jail-uid-base and --jail-uid-count must be positive");
        let end = base.checked_add(count).context("--jail-uid-base + --jail-uid-count overflows")?;
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        if let Some(user) = passwd
            .lines()
            .find(|l| l.split(':').nth(2).and_then(|u| u.parse::<u32>().ok()).is_some_and(|u| (base..end).contains(&u)))
        {
            anyhow::bail!(
                "the sandbox uid range {base}..{end} holds a host user ({user}): choose another --jail-uid-base"
            );
        }
        let dir = data_dir.join("uids");
        std::fs::create_dir_all(&dir).context("creating the uid claims directory")?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).context("chmod of the uid claims")?;
        Ok(Self { dir, base, count, next: Arc::new(AtomicU32::new(0)) })
    }

    /// Claims a free uid for the sandbox whose directory is `sandbox_dir` and records it
    /// there; a sandbox that already holds one keeps it.
    pub fn claim(&self, sandbox_dir: &Path) -> anyhow::Result<u32> {
        if let Some(uid) = Self::of(sandbox_dir) {
            return Ok(uid);
        }
        let start = self.next.load(Ordering::Relaxed);
        for i in 0..self.count {
            let slot = (start + i) % self.count;
            let claim = self.dir.join(slot.to_string());
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&claim) {
                Ok(mut f) => {
                    f.write_all(sandbox_dir.display().to_string().as_bytes())?;
                    self.next.store(slot + 1, Ordering::Relaxed);
                    let uid = self.base + slot;
                    std::fs::write(sandbox_dir.join(UID_FILE), uid.to_string()).context("recording the uid")?;
                    return Ok(uid);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).context("claiming a uid"),
            }
        }
        anyhow::bail!("every uid of the sandbox range is taken (--jail-uid-count {})", self.count)
    }

    /// The uid the sandbox at `sandbox_dir` holds, if any.
    pub fn of(sandbox_dir: &Path) -> Option<u32> {
        std::fs::read_to_string(sandbox_dir.join(UID_FILE)).ok()?.trim().parse().ok()
    }

    /// Gives the sandbox's uid back (its files must be gone first).
    pub fn release(&self, sandbox_dir: &Path) {
        if let Some(uid) = Self::of(sandbox_dir)
            && let Some(slot) = uid.checked_sub(self.base).filter(|s| *s < self.count)
        {
            let _ = std::fs::remove_file(self.dir.join(slot.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sandbox_gets_its_own_uid_and_gives_it_back() {
        let data = tempfile::tempdir().unwrap();
        let uids = Uids::new(data.path(), 800_000_000, 2).unwrap();
        let (a, b, c) = (data.path().join("a"), data.path().join("b"), data.path().join("c"));
        for d in [&a, &b, &c] {
            std::fs::create_dir(d).unwrap();
        }
        let ua = uids.claim(&a).unwrap();
        assert_eq!(uids.claim(&a).unwrap(), ua, "a sandbox keeps its uid");
        let ub = uids.claim(&b).unwrap();
        assert_ne!(ua, ub);
        assert!(uids.claim(&c).is_err(), "the range is full");
        uids.release(&a);
        std::fs::remove_file(a.join(UID_FILE)).unwrap();
        assert_eq!(uids.claim(&c).unwrap(), ua, "a released uid is reused");
    }

    #[test]
    fn a_range_holding_a_host_user_is_refused() {
        let data = tempfile::tempdir().unwrap();
        assert!(Uids::new(data.path(), 0, 10).is_err());
        let e = Uids::new(data.path(), 1, 10).unwrap_err().to_string();
        assert!(e.contains("holds a host user"), "{e}");
    }
}
