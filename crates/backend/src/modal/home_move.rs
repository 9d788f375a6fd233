//! Moving Claude's HOME of a sandbox made before the volume split (one volume mounted
//! twice, `workspace/` and `home/`) onto the sandbox's own home volume, once, before its
//! next Modal sandbox starts: a short-lived sandbox with the old volume mounted once at
//! its root and the home volume beside it copies `home/` over, then removes it. The
//! decision is made from what the old volume holds (a `home/` at its root), so a move
//! that failed half-way is simply done again; `cp -a` overwrites what an earlier attempt
//! copied, and `home/` is removed only after a complete copy.

use super::{
    ModalBackend, TAG_SANDBOX,
    proto::{
        NetworkAccess, Sandbox, SandboxCreateV2Request, SandboxTag, VolumeMount, file_entry::FileType,
        generic_result::GenericStatus, network_access::NetworkAccessType,
    },
    volumes::Volume,
};
use crate::{
    SandboxSpec,
    error::{AppError, AppResult},
};

/// Where the move finds the old volume, and what it runs there.
const OLD: &str = "/mnt/old";
/// Copies the old `home/` onto the home volume, then removes it; fixed text.
const MOVE: &str = "set -e; cp -a /mnt/old/home/. /mnt/home/; rm -rf /mnt/old/home";
/// How long the move may take before Modal stops it.
const MOVE_TIMEOUT_SECS: u32 = 900;
/// Seconds each `SandboxWaitV2` of the move waits (the official client's long poll).
const WAIT_SECS: f32 = 55.0;

impl ModalBackend {
    /// Makes sure the sandbox's HOME is on its home volume, moving an old `home/` there.
    pub(super) async fn move_home(
        &self,
        spec: &SandboxSpec,
        app_id: &str,
        image_id: &str,
        workspace: &Volume,
        home: &Volume,
    ) -> AppResult<()> {
        if self.provision.homes_moved.lock().await.contains(&spec.sandbox_id) {
            return Ok(());
        }
        let mut old_home = false;
        let listed = self
            .provision
            .list(workspace, String::new(), false, None, |page| {
                old_home |=
                    page.iter().any(|e| e.path.trim_matches('/') == "home" && e.r#type == FileType::Directory as i32);
                !old_home
            })
            .await;
        match listed {
            Ok(()) | Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        if old_home {
            tracing::info!(sandbox_id = %spec.sandbox_id, "moving Claude's HOME onto its own volume");
            self.run_move(spec, app_id, image_id, workspace, home).await?;
        }
        self.provision.homes_moved.lock().await.insert(spec.sandbox_id);
        Ok(())
    }

    async fn run_move(
        &self,
        spec: &SandboxSpec,
        app_id: &str,
        image_id: &str,
        workspace: &Volume,
        home: &Volume,
    ) -> AppResult<()> {
        let mount = |v: &Volume, path: &str| VolumeMount {
            volume_id: v.id.clone(),
            mount_path: path.into(),
            allow_background_commits: true,
            read_only: false,
            sub_path: None,
        };
        let definition = Sandbox {
            entrypoint_args: vec!["/bin/sh".into(), "-c".into(), MOVE.into()],
            image_id: image_id.to_string(),
            timeout_secs: MOVE_TIMEOUT_SECS,
            workdir: Some(OLD.into()),
            volume_mounts: vec![mount(workspace, OLD), mount(home, super::HOME_DIR)],
            network_access: Some(NetworkAccess {
                network_access_type: NetworkAccessType::Blocked as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        let req = SandboxCreateV2Request {
            app_id: app_id.to_string(),
            definition: Some(definition),
            tags: vec![SandboxTag { tag_name: TAG_SANDBOX.into(), tag_value: spec.sandbox_id.to_string() }],
            secret_sources: Vec::new(),
        };
        let created = self.create_v2(req).await?;
        let status = loop {
            let resp = self.wait_call(&created.sandbox_id, WAIT_SECS).await?;
            if let Some(r) = resp.result.filter(|r| r.status != GenericStatus::Unspecified as i32) {
                break r;
            }
        };
        if status.status != GenericStatus::Success as i32 {
            return Err(AppError::provider(
                "the sandbox could not be woken; try again",
                format!("modal home move {}: status {} exit {}", created.sandbox_id, status.status, status.exitcode),
            ));
        }
        Ok(())
    }
}
