//! The processes and the directory of a local sandbox: every command's process group is
//! recorded so terminate can kill them all, and removal works at any depth.

use std::sync::Arc;

use super::{LocalBackend, exec, remove, sandbox_net::SandboxNet};
use crate::{
    error::{AppError, AppResult},
    work,
};

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
        let mut gone = false;
        for _ in 0..100 {
            if pids.iter().all(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()) {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if !gone {
            tracing::warn!(external_id, "sandbox processes still present after SIGKILL");
        }
        // Only now, with nothing of the sandbox left to join it (none may start: it is
        // terminated), its namespace's descriptor may close and its number be reused.
        self.nets.lock().unwrap_or_else(|p| p.into_inner()).remove(external_id);
    }

    /// The sandbox's shared network namespace, made at its first command (None: this
    /// host gives each command a namespace of its own).
    pub(super) fn net_of(&self, external_id: &str) -> AppResult<Option<Arc<SandboxNet>>> {
        if !self.jail.shares_network() {
            return Ok(None);
        }
        let mut nets = self.nets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(net) = nets.get(external_id) {
            return Ok(Some(net.clone()));
        }
        let net = SandboxNet::start(self.jail.network())
            .map_err(|e| AppError::provider("the sandbox's network could not be made", format!("netns: {e}")))?;
        let net = Arc::new(net);
        nets.insert(external_id.to_string(), net.clone());
        Ok(Some(net))
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
