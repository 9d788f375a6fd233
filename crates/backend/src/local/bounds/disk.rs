//! A disk of its own per sandbox: an ext4 filesystem image of the template's size,
//! allocated in full up front (`fallocate`: no sparse file that could overcommit the host
//! and fail silently later) and mounted with a loop device over the sandbox's `disk/`,
//! which holds its workspace and HOME. A write past it is ENOSPC inside the sandbox, at
//! once and whatever the writer does (`fallocate`, `dd`, many small files); the host's
//! filesystem, with the database and the blob store, only ever loses what the images
//! were given when they were made, and no image is made that would leave less than the
//! reserve (`--min-free-disk`).
//!
//! `mkfs` and `mount` take tens of milliseconds, so a few formatted, mounted images per
//! size wait in `{data}/disk-pool/{bytes}/` ([`super::pool`]): taking one is a rename
//! and a bind mount.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context;

/// The image file in a sandbox's directory.
pub const IMAGE: &str = "disk.img";
/// Where the image is mounted in a sandbox's directory.
pub const MOUNT: &str = "disk";

/// Sandbox disks on this host.
#[derive(Debug, Clone)]
pub struct Disks {
    pub(super) pool: PathBuf,
    data_dir: PathBuf,
    min_free: u64,
    pub(super) depth: u32,
}

/// Why no disk was made.
#[derive(Debug)]
pub enum DiskError {
    /// Making it would leave the data dir less than the reserve.
    NoRoom {
        /// Bytes free now.
        free: u64,
    },
    /// The host failed (mkfs, mount…).
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for DiskError {
    fn from(e: anyhow::Error) -> Self {
        DiskError::Failed(e)
    }
}

impl Disks {
    /// Disks for sandboxes of the data dir `data_dir`, keeping `min_free` bytes free there
    /// and `depth` formatted images per size ahead; checks that this host can make one.
    pub fn probe(data_dir: &Path, min_free: u64, depth: u32) -> anyhow::Result<Self> {
        let d = Self { pool: data_dir.join("disk-pool"), data_dir: data_dir.to_path_buf(), min_free, depth };
        std::fs::create_dir_all(&d.pool).context("creating the disk pool")?;
        set_mode(&d.pool, 0o700)?;
        // A real image, mounted and unmounted: loop devices, mkfs.ext4 and mount all work.
        let probe = tempfile::tempdir_in(&d.pool).context("a probe directory")?;
        let img = probe.path().join(IMAGE);
        format(&img, 8 << 20)?;
        let mnt = probe.path().join(MOUNT);
        std::fs::create_dir(&mnt)?;
        mount(&img, &mnt)?;
        unmount(&mnt)?;
        Ok(d)
    }

    /// Bytes free for unprivileged writers on the data dir's filesystem.
    pub fn free_bytes(&self) -> anyhow::Result<u64> {
        let s = rustix::fs::statvfs(&self.data_dir).context("statvfs of the data dir")?;
        Ok(s.f_bavail.saturating_mul(s.f_frsize))
    }

    /// Gives `sandbox_dir` a mounted disk of `bytes`: a pooled one (already formatted
    /// and mounted) when one waits, else a new one.
    pub fn provide(&self, sandbox_dir: &Path, bytes: u64) -> Result<(), DiskError> {
        let (img, mnt) = (sandbox_dir.join(IMAGE), sandbox_dir.join(MOUNT));
        std::fs::create_dir_all(&mnt).context("creating the disk's mount point")?;
        if self.take_pooled(bytes, &img, &mnt)? {
            return Ok(());
        }
        self.make(&img, bytes)?;
        mount(&img, &mnt)?;
        Ok(())
    }

    pub(super) fn make(&self, img: &Path, bytes: u64) -> Result<(), DiskError> {
        let free = self.free_bytes()?;
        if free < bytes.saturating_add(self.min_free) {
            return Err(DiskError::NoRoom { free });
        }
        format(img, bytes)?;
        Ok(())
    }

    /// Mounts the disk of `sandbox_dir` again if it has one that is not mounted (after a
    /// restart of the host); true when it has a disk.
    pub fn ensure_mounted(&self, sandbox_dir: &Path) -> anyhow::Result<bool> {
        let img = sandbox_dir.join(IMAGE);
        if !img.exists() {
            return Ok(false);
        }
        let mnt = sandbox_dir.join(MOUNT);
        std::fs::create_dir_all(&mnt)?;
        if !is_mount_point(&mnt)? {
            mount(&img, &mnt)?;
        }
        Ok(true)
    }

    /// Unmounts and deletes the disk of `sandbox_dir`, if any.
    pub fn remove(&self, sandbox_dir: &Path) -> anyhow::Result<()> {
        let mnt = sandbox_dir.join(MOUNT);
        if mnt.exists() && is_mount_point(&mnt)? {
            unmount(&mnt)?;
        }
        match std::fs::remove_file(sandbox_dir.join(IMAGE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).context("removing the disk image"),
            _ => Ok(()),
        }
    }

    /// Bytes in use on the disk mounted at `mnt`.
    pub fn used_bytes(mnt: &Path) -> Option<u64> {
        let s = rustix::fs::statvfs(mnt).ok()?;
        Some(s.f_blocks.saturating_sub(s.f_bfree).saturating_mul(s.f_frsize))
    }
}

/// Whether `dir` is the root of a filesystem other than its parent's.
pub fn is_mount_point(dir: &Path) -> anyhow::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let me = std::fs::metadata(dir)?;
    let parent = std::fs::metadata(dir.join(".."))?;
    Ok(me.dev() != parent.dev())
}

fn set_mode(p: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).with_context(|| format!("chmod {}", p.display()))
}

/// A new ext4 image of exactly `bytes`, every block allocated on the host.
fn format(img: &Path, bytes: u64) -> anyhow::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).create_new(true).open(img).context("creating a disk image")?;
    set_mode(img, 0o600)?;
    rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::empty(), 0, bytes)
        .with_context(|| format!("allocating {bytes} bytes for a disk image"))?;
    drop(f);
    // No reserved blocks (the sandbox is the only user); lazy init keeps mkfs quick.
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-m", "0", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1"])
        .arg(img))
}

pub(super) fn mount(img: &Path, mnt: &Path) -> anyhow::Result<()> {
    run(Command::new("mount").args(["-o", "loop,nodev,nosuid"]).arg(img).arg(mnt))?;
    // The disk's root is the server's; only the directories inside are the sandbox's.
    set_mode(mnt, 0o711)
}

pub(super) fn unmount(mnt: &Path) -> anyhow::Result<()> {
    // The loop device was set up with autoclear by mount(8): it goes with the mount.
    rustix::mount::unmount(mnt, rustix::mount::UnmountFlags::empty())
        .with_context(|| format!("unmounting {}", mnt.display()))
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("starting {:?}", cmd.get_program()))?;
    anyhow::ensure!(
        out.status.success(),
        "{:?} failed: {}",
        cmd.get_program(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}
