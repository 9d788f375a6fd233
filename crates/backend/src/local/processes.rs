//! The processes and the directory of a local sandbox: every command's process group is
//! recorded so terminate can kill them all, and removal works at any depth.

use super::{LocalBackend, exec, remove};
use crate::{error::AppResult, work};

impl LocalBackend {
    pub(super) fn groups_of(&self, external_id: &str) -> exec::Groups {
        let mut map = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(external_id.to_string()).or_default().clone()
    }

    /// Marks the sandbox terminated (no command may start from now on), kills every
    /// running command and waits (briefly) until they are gone.
    pub(super) async fn kill_all(&self, external_id: &str) {
        let procs = self.groups_of(external_id);
        let pids: Vec<i32> = {
            let mut guard = procs.lock().unwrap_or_else(|p| p.into_inner());
            guard.terminated = true;
            guard.groups.iter().copied().collect()
        };
        for pid in &pids {
            exec::kill_group(u32::try_from(*pid).ok());
        }
        for _ in 0..100 {
            if pids.iter().all(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tracing::warn!(external_id, "sandbox processes still present after SIGKILL");
    }

    /// Removes a sandbox's directory (workspace, home) however deep it is.
    pub(super) async fn remove_dir(&self, external_id: &str) -> AppResult<()> {
        let dir = self.sandbox_dir(external_id)?;
        let steps = self.max_delete_steps;
        work::blocking(move |_| {
            let fd = match rustix::fs::open(
                &dir,
                rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::RDONLY,
                rustix::fs::Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOENT) => return Ok(()),
                Err(e) => return Err(super::errno::fail(e)),
            };
            remove::remove_contents(&fd, steps)?;
            drop(fd);
            std::fs::remove_dir(&dir)
                .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })?;
            Ok(())
        })
        .await
    }
}
