//! Making, readying and unmaking a local sandbox's place: its directory, disk, uid and
//! cgroup (see the module doc of [`super`] for the layout). Each step is blocking file
//! system work and runs off the async threads.

use std::{os::unix::fs::PermissionsExt, path::Path};

use super::{
    LocalBackend, RUNNING,
    bounds::{cgroup::SandboxCgroup, disk::DiskError, uids::Uids},
    io_failure,
};
use crate::{
    error::{AppError, AppResult, reasons},
    template::Resources,
    work,
};

/// Where the disk (or, unbounded, a plain directory) holding workspace and HOME is.
pub const DISK: &str = "disk";
/// The file keeping the sandbox's bounds.
const RESOURCES: &str = "resources";

/// What a command of the sandbox runs inside: its uid, its `/tmp` size, its cgroup.
#[derive(Debug, Clone, Default)]
pub struct Place {
    /// The sandbox's own uid (None: the server's).
    pub uid: Option<u32>,
    /// Its resources, when it is bounded.
    pub resources: Option<Resources>,
    /// Its cgroup, when the host gives one.
    pub cgroup: Option<SandboxCgroup>,
    /// Its shared network namespace (None: each command gets one of its own).
    pub net: Option<std::sync::Arc<super::sandbox_net::SandboxNet>>,
}

fn mode(p: &Path, m: u32) -> std::io::Result<()> {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m))
}

impl LocalBackend {
    /// Makes the sandbox's directory, disk, uid and cgroup; undoes what it made on failure.
    pub(super) async fn make(&self, external_id: &str, resources: Resources) -> AppResult<()> {
        let dir = self.sandbox_dir(external_id)?;
        let me = self.clone();
        let id = external_id.to_string();
        let made = work::blocking(move |_| me.make_now(&id, &dir, resources)).await;
        if made.is_err() {
            let _ = self.unbound(external_id).await;
            let _ = self.remove_dir(external_id).await;
        } else {
            self.refill_pool();
        }
        made
    }

    fn make_now(&self, id: &str, dir: &Path, r: Resources) -> AppResult<()> {
        for d in [self.root.parent().unwrap_or(&self.root), &self.root] {
            std::fs::create_dir_all(d).map_err(|e| io_failure("create data dir", e))?;
            mode(d, 0o711).map_err(|e| io_failure("chmod data dir", e))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| io_failure("create sandbox dir", e))?;
        mode(dir, 0o711).map_err(|e| io_failure("chmod sandbox dir", e))?;
        std::fs::write(dir.join(RESOURCES), resources_text(&r)).map_err(|e| io_failure("write resources", e))?;
        match &self.bounds.disks {
            Some(disks) => disks.provide(dir, r.disk_bytes).map_err(|e| match e {
                DiskError::NoRoom { free } => AppError::conflict_because(
                    reasons::OUT_OF_SPACE,
                    format!(
                        "this host keeps its last bytes for the server: a {} MiB sandbox disk does not fit ({} MiB free)",
                        r.disk_bytes >> 20,
                        free >> 20
                    ),
                ),
                DiskError::Failed(e) => AppError::provider("the sandbox's disk could not be made", format!("{e:#}")),
            })?,
            None => std::fs::create_dir_all(dir.join(DISK)).map_err(|e| io_failure("create disk dir", e))?,
        }
        let uid = match &self.uids {
            Some(uids) => {
                Some(uids.claim(dir).map_err(|e| AppError::provider("no uid for the sandbox", format!("{e:#}")))?)
            }
            None => None,
        };
        for sub in ["workspace", "home"] {
            let p = dir.join(DISK).join(sub);
            std::fs::create_dir_all(&p).map_err(|e| io_failure("create dir", e))?;
            if let Some(uid) = uid {
                std::os::unix::fs::chown(&p, Some(uid), Some(uid)).map_err(|e| io_failure("chown", e))?;
                mode(&p, 0o700).map_err(|e| io_failure("chmod", e))?;
            }
        }
        if let Some(roots) = &self.bounds.cgroups {
            roots
                .of(id)
                .create(&r)
                .map_err(|e| AppError::provider("the sandbox's cgroup could not be made", format!("{e:#}")))?;
        }
        std::fs::write(dir.join("state"), RUNNING).map_err(|e| io_failure("write state", e))?;
        Ok(())
    }

    /// Where a command of the sandbox runs, with its disk mounted and its cgroup made
    /// again if the host restarted since.
    pub(super) async fn ready(&self, external_id: &str) -> AppResult<Place> {
        let dir = self.sandbox_dir(external_id)?;
        let me = self.clone();
        let id = external_id.to_string();
        let mut place = work::blocking(move |_| me.ready_now(&id, &dir)).await?;
        place.net = self.net_of(external_id)?;
        Ok(place)
    }

    fn ready_now(&self, id: &str, dir: &Path) -> AppResult<Place> {
        migrate(dir).map_err(|e| io_failure("move an old workspace into its disk dir", e))?;
        let resources = std::fs::read_to_string(dir.join(RESOURCES)).ok().and_then(|t| parse_resources(&t));
        if let Some(disks) = &self.bounds.disks {
            disks
                .ensure_mounted(dir)
                .map_err(|e| AppError::provider("the sandbox's disk is unavailable", format!("{e:#}")))?;
        }
        let cgroup = match (&self.bounds.cgroups, &resources) {
            (Some(roots), Some(r)) => {
                let g = roots.of(id);
                if !g.exists() {
                    g.create(r)
                        .map_err(|e| AppError::provider("the sandbox's cgroup could not be made", format!("{e:#}")))?;
                }
                Some(g)
            }
            _ => None,
        };
        let uid = match &self.uids {
            None => None,
            Some(uids) => match Uids::of(dir) {
                Some(uid) => Some(uid),
                // Made before uids per sandbox: it gets one now, with its files.
                None => Some(self.adopt(uids, dir)?),
            },
        };
        Ok(Place { uid, resources, cgroup, net: None })
    }

    /// Gives a sandbox made before uids per sandbox a uid of its own and its files to it.
    fn adopt(&self, uids: &Uids, dir: &Path) -> AppResult<u32> {
        let uid = uids.claim(dir).map_err(|e| AppError::provider("no uid for the sandbox", format!("{e:#}")))?;
        for sub in ["workspace", "home"] {
            let top = dir.join(DISK).join(sub);
            // Iterative: a tenant's tree may be as deep as it likes.
            let mut stack = vec![top.clone()];
            while let Some(p) = stack.pop() {
                std::os::unix::fs::lchown(&p, Some(uid), Some(uid)).map_err(|e| io_failure("chown", e))?;
                if p.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                    let entries = std::fs::read_dir(&p).map_err(|e| io_failure("read dir", e))?;
                    stack.extend(entries.flatten().map(|e| e.path()));
                }
            }
            if top.exists() {
                mode(&top, 0o700).map_err(|e| io_failure("chmod", e))?;
            }
        }
        tracing::info!(sandbox = %dir.display(), uid, "an older sandbox now runs as a uid of its own");
        Ok(uid)
    }

    /// Removes the sandbox's cgroup and disk and gives its uid back (its directory stays
    /// for [`Self::remove_dir`]).
    pub(super) async fn unbound(&self, external_id: &str) -> AppResult<()> {
        let dir = self.sandbox_dir(external_id)?;
        let me = self.clone();
        let id = external_id.to_string();
        work::blocking(move |_| {
            if let Some(roots) = &me.bounds.cgroups {
                roots
                    .of(&id)
                    .remove()
                    .map_err(|e| AppError::provider("removing a sandbox cgroup", format!("{e:#}")))?;
            }
            if let Some(disks) = &me.bounds.disks {
                disks.remove(&dir).map_err(|e| AppError::provider("removing a sandbox disk", format!("{e:#}")))?;
            }
            if let Some(uids) = &me.uids {
                uids.release(&dir);
            }
            Ok(())
        })
        .await
    }

    /// At start-up: every sandbox's disk mounted and cgroup made again (after a reboot),
    /// old layouts moved, and the disk pool filled.
    pub async fn restore_bounds(&self) {
        let me = self.clone();
        let done = work::blocking(move |_| {
            let Ok(entries) = std::fs::read_dir(&me.root) else { return Ok(0) };
            let mut n = 0;
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Ok(id) = uuid::Uuid::parse_str(&name) else { continue };
                if let Err(err) = me.ready_now(&id.to_string(), &e.path()) {
                    tracing::warn!(sandbox = %name, error = ?err.log_detail(), "could not restore a sandbox's bounds");
                }
                n += 1;
            }
            Ok(n)
        })
        .await;
        if let Ok(n) = done {
            tracing::info!(sandboxes = n, "local sandboxes' disks and cgroups restored");
        }
        self.refill_pool();
    }

    /// Formats pooled disks in the background, one refill at a time.
    fn refill_pool(&self) {
        use std::sync::atomic::Ordering;
        let Some(disks) = self.bounds.disks.clone() else { return };
        if self.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let (sizes, flag) = (self.disk_sizes.clone(), self.refilling.clone());
        tokio::task::spawn_blocking(move || {
            disks.refill(&sizes);
            flag.store(false, Ordering::Release);
        });
    }
}

/// A sandbox made before disks had their own directory: `workspace/` and `home/` move
/// into `disk/`.
fn migrate(dir: &Path) -> std::io::Result<()> {
    let disk = dir.join(DISK);
    if disk.exists() || !dir.join("workspace").exists() {
        return Ok(());
    }
    std::fs::create_dir(&disk)?;
    for sub in ["workspace", "home"] {
        if dir.join(sub).exists() {
            std::fs::rename(dir.join(sub), disk.join(sub))?;
        }
    }
    Ok(())
}

fn resources_text(r: &Resources) -> String {
    let cpu_max = r.cpu_max.map(|c| c.to_string()).unwrap_or_default();
    format!(
        "cpu={}\ncpu_max={cpu_max}\nmemory={}\ndisk={}\nprocesses={}\ntmp={}\n",
        r.cpu, r.memory_bytes, r.disk_bytes, r.processes, r.tmp_bytes
    )
}

fn parse_resources(text: &str) -> Option<Resources> {
    let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)?.strip_prefix('=')).map(str::trim);
    Some(Resources {
        cpu: get("cpu")?.parse().ok()?,
        cpu_max: get("cpu_max").filter(|v| !v.is_empty()).and_then(|v| v.parse().ok()),
        memory_bytes: get("memory")?.parse().ok()?,
        disk_bytes: get("disk")?.parse().ok()?,
        processes: get("processes")?.parse().ok()?,
        tmp_bytes: get("tmp")?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_survive_their_file() {
        let r = Resources {
            cpu: 1.5,
            cpu_max: Some(2.0),
            memory_bytes: 1 << 30,
            disk_bytes: 5 << 30,
            processes: 64,
            tmp_bytes: 1 << 20,
        };
        assert_eq!(parse_resources(&resources_text(&r)), Some(r));
        let r = Resources { cpu_max: None, ..r };
        assert_eq!(parse_resources(&resources_text(&r)), Some(r));
        assert_eq!(parse_resources("cpu=1\n"), None);
    }

    #[test]
    fn old_layouts_move_into_the_disk_dir() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("workspace/src")).unwrap();
        std::fs::create_dir(d.path().join("home")).unwrap();
        migrate(d.path()).unwrap();
        assert!(d.path().join("disk/workspace/src").is_dir());
        assert!(d.path().join("disk/home").is_dir());
        migrate(d.path()).unwrap();
    }
}
