//! Each sandbox's two volumes, so each is mounted once per container (Modal's rule; the
//! official client refuses one volume at two paths): `sandboxql-<id>` holds the workspace
//! under `workspace/` (mounted at /mnt/workspace with that sub_path) and
//! `sandboxql-<id>-home` holds Claude's HOME (mounted at /mnt/home), so both outlive every
//! Modal sandbox that mounts them and no sandbox shares a volume's file cap. New volumes
//! are VolumeFS v2; a volume's version decides how it is listed at rest, as in the
//! official client (`_is_v1` in `modal/volume.py`): `VolumeListFiles` for v1 (and
//! volumes made without a version, as sandboxql made them before), `VolumeListFiles2` for
//! v2. Reads use `VolumeGetFile2` for both, as the official client does.

use uuid::Uuid;

use super::{
    client::rpc,
    proto::{
        FileEntry, ObjectCreationType, VolumeDeleteRequest, VolumeFsVersion, VolumeGetOrCreateRequest,
        VolumeListFiles2Request, VolumeListFilesRequest,
    },
    provision::{Provisioner, name_of},
};
use crate::error::{AppError, AppResult};

/// A Modal volume and how it is listed.
#[derive(Clone, Debug)]
pub(super) struct Volume {
    /// Modal's id (`vo-…`).
    pub id: String,
    /// VolumeFS v2: listed with `VolumeListFiles2`; otherwise `VolumeListFiles`.
    pub v2: bool,
}

/// Which of a sandbox's volumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Which {
    /// The workspace (and, in sandboxes made before the split, the old `home/`).
    Workspace,
    /// Claude's HOME.
    Home,
}

/// The name of one of sandbox `id`'s volumes: stable, so a wake finds what it needs.
pub(super) fn volume_name(id: Uuid, which: Which) -> String {
    match which {
        Which::Workspace => name_of(id),
        Which::Home => format!("{}-home", name_of(id)),
    }
}

impl Provisioner {
    /// One of the sandbox's volumes, created (as v2) when `create`, else NOT_FOUND if
    /// missing.
    pub(super) async fn volume(&self, sandbox_id: Uuid, which: Which, create: bool) -> AppResult<Volume> {
        let name = volume_name(sandbox_id, which);
        let mut volumes = self.volumes.lock().await;
        if let Some(v) = volumes.get(&name) {
            return Ok(v.clone());
        }
        let (kind, version) = match create {
            true => (ObjectCreationType::CreateIfMissing, VolumeFsVersion::V2),
            false => (ObjectCreationType::Unspecified, VolumeFsVersion::Unspecified),
        };
        let req = VolumeGetOrCreateRequest {
            deployment_name: name.clone(),
            environment_name: self.environment.clone(),
            object_creation_type: kind as i32,
            app_id: String::new(),
            version: version as i32,
        };
        let resp = rpc!(self.client, "VolumeGetOrCreate", volume_get_or_create, req.clone()).await?;
        // The official client reads `metadata.version`; the top-level field is older.
        let version = resp.metadata.as_ref().map_or(resp.version, |m| m.version);
        let v = Volume { id: resp.volume_id, v2: version == VolumeFsVersion::V2 as i32 };
        volumes.insert(name, v.clone());
        Ok(v)
    }

    /// Deletes both of the sandbox's volumes, for good (missing ones are fine).
    pub(super) async fn delete_volumes(&self, sandbox_id: Uuid) -> AppResult<()> {
        for which in [Which::Home, Which::Workspace] {
            let v = match self.volume(sandbox_id, which, false).await {
                Ok(v) => v,
                Err(AppError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let req = VolumeDeleteRequest { volume_id: v.id };
            match rpc!(self.client, "VolumeDelete", volume_delete, req.clone()).await {
                Ok(()) | Err(AppError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
            self.volumes.lock().await.remove(&volume_name(sandbox_id, which));
        }
        Ok(())
    }

    /// Lists `path` in `volume` with the call its version takes, page by page, until
    /// `each` returns false.
    pub(super) async fn list(
        &self,
        volume: &Volume,
        path: String,
        recursive: bool,
        max_entries: Option<u32>,
        mut each: impl FnMut(&[FileEntry]) -> bool,
    ) -> AppResult<()> {
        let volume_id = volume.id.clone();
        if volume.v2 {
            let req = VolumeListFiles2Request { volume_id, path, recursive, max_entries };
            let mut pages = rpc!(self.client, "VolumeListFiles2", volume_list_files2, req.clone()).await?;
            while let Some(p) =
                pages.message().await.map_err(|s| super::client::to_app_error("VolumeListFiles2", &s))?
            {
                if !each(&p.entries) {
                    break;
                }
            }
        } else {
            let req = VolumeListFilesRequest { volume_id, path, recursive, max_entries };
            let mut pages = rpc!(self.client, "VolumeListFiles", volume_list_files, req.clone()).await?;
            while let Some(p) = pages.message().await.map_err(|s| super::client::to_app_error("VolumeListFiles", &s))? {
                if !each(&p.entries) {
                    break;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_volumes_have_stable_distinct_names_modal_accepts() {
        let id = Uuid::nil();
        let (ws, home) = (volume_name(id, Which::Workspace), volume_name(id, Which::Home));
        assert_eq!(ws, format!("sandboxql-{}", id.simple()));
        assert_eq!(home, format!("{ws}-home"));
        assert!(home.len() <= 64, "Modal object names are at most 64 characters");
    }
}
