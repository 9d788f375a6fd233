//! Sandbox disks made ahead: per disk size, `depth` images formatted and mounted under
//! `{data}/disk-pool/{bytes}/` as `{name}.img` on `{name}.mnt/` (an image is named
//! `.img` only once it is mounted, so a name is the promise of a ready disk). Taking one
//! renames the image into the sandbox (the claim: a rename succeeds once), binds its
//! mount onto the sandbox's `disk/` and lets go of the pool's mount: no `mkfs`, no
//! `mount` process on the way to RUNNING. Refills run in the background.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::disk::{DiskError, Disks, is_mount_point, mount, unmount};

impl Disks {
    /// Takes a pooled disk of `bytes` for the image path `img` mounted at `mnt`; false
    /// when none waits.
    pub(super) fn take_pooled(&self, bytes: u64, img: &Path, mnt: &Path) -> Result<bool, DiskError> {
        let dir = self.pool.join(bytes.to_string());
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(false) };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "img") || std::fs::rename(&p, img).is_err() {
                continue;
            }
            let pooled = p.with_extension("mnt");
            if is_mount_point(&pooled).unwrap_or(false) {
                rustix::mount::mount_bind(&pooled, mnt).with_context(|| format!("binding {}", pooled.display()))?;
                // The sandbox's bind keeps the filesystem (and its loop device) alive.
                rustix::mount::unmount(&pooled, rustix::mount::UnmountFlags::DETACH)
                    .with_context(|| format!("unmounting {}", pooled.display()))?;
            } else {
                mount(img, mnt)?;
            }
            let _ = std::fs::remove_dir(&pooled);
            return Ok(true);
        }
        Ok(false)
    }

    /// Brings each size in `sizes` to the pool's depth: waiting images mounted (after a
    /// reboot), unfinished ones removed, new ones made (stopping quietly at the reserve).
    /// Blocking: run it off the async runtime.
    pub fn refill(&self, sizes: &[u64]) {
        for &bytes in sizes {
            let dir = self.pool.join(bytes.to_string());
            if std::fs::create_dir_all(&dir).is_err() {
                continue;
            }
            let mut waiting = 0;
            for p in entries(&dir) {
                match p.extension().and_then(|x| x.to_str()) {
                    Some("img") => match ready(&p) {
                        Ok(()) => waiting += 1,
                        Err(e) => tracing::warn!(error = %format!("{e:#}"), "a pooled sandbox disk is unusable"),
                    },
                    Some("tmp") => {
                        let _ = std::fs::remove_file(&p);
                    }
                    _ => {}
                }
            }
            for _ in waiting..self.depth as usize {
                let name = uuid::Uuid::now_v7().simple().to_string();
                let tmp = dir.join(format!("{name}.tmp"));
                let made = self.make(&tmp, bytes).and_then(|()| Ok(ready(&tmp)?));
                match made {
                    Ok(()) => {
                        let _ = std::fs::rename(&tmp, dir.join(format!("{name}.img")));
                    }
                    Err(e) => {
                        let _ = unmount(&tmp.with_extension("mnt"));
                        let _ = std::fs::remove_dir(tmp.with_extension("mnt"));
                        let _ = std::fs::remove_file(&tmp);
                        if let DiskError::Failed(e) = e {
                            tracing::warn!(error = %format!("{e:#}"), "could not make a pooled sandbox disk");
                        }
                        return;
                    }
                }
            }
        }
    }
}

/// The image mounted at its `.mnt` beside it.
fn ready(img: &Path) -> anyhow::Result<()> {
    let mnt = img.with_extension("mnt");
    std::fs::create_dir_all(&mnt)?;
    if !is_mount_point(&mnt)? {
        mount(img, &mnt)?;
    }
    Ok(())
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map(|es| es.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}
