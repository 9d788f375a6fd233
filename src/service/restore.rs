//! Restoring a snapshot into a new sandbox's workspace: directories, files (content,
//! mode) and symlinks, byte for byte.

use uuid::Uuid;

use super::{Services, sync};
use crate::{
    auth::Viewer,
    backend::files::WorkspacePath,
    entity::snapshot,
    error::{AppError, AppResult},
    storage,
};

/// A snapshot the viewer may restore from, or NOT_FOUND.
pub async fn visible_snapshot(svc: &Services, viewer: &Viewer, id: Uuid) -> AppResult<snapshot::Model> {
    use sea_orm::EntityTrait;
    let row = snapshot::Entity::find_by_id(id).one(&svc.db).await?;
    row.filter(|s| viewer.can_see(s.account_id)).ok_or(AppError::NotFound("snapshot"))
}

/// Writes every entry of the snapshot into the workspace of `external_id`.
pub async fn restore(svc: &Services, snap: &snapshot::Model, external_id: &str) -> AppResult<()> {
    let manifest = sync::read_manifest(svc, snap).await?;
    let mut dirs = Vec::new();
    for e in &manifest.entries {
        let path = WorkspacePath::parse(&e.path)?;
        match e.kind.as_str() {
            "dir" => {
                svc.backend.make_dir(external_id, &path).await?;
                dirs.push((path, e.mode));
            }
            "file" => {
                let sha =
                    e.sha256.as_deref().ok_or_else(|| AppError::Internal(anyhow::anyhow!("file without hash")))?;
                let body = svc.blobs.get_stream(&storage::blob_key(snap.account_id, sha)).await?;
                svc.backend.write_stream(external_id, &path, body).await?;
                svc.backend.set_mode(external_id, &path, e.mode).await?;
            }
            "symlink" => {
                if let Some(target) = &e.target {
                    svc.backend.make_symlink(external_id, &path, target).await?;
                }
            }
            _ => {}
        }
    }
    // Directory modes last, so a read-only directory does not block its own contents.
    for (path, mode) in dirs.into_iter().rev() {
        svc.backend.set_mode(external_id, &path, mode).await?;
    }
    Ok(())
}
