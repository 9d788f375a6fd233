//! Changing a sandbox's files: write, make directories, move, delete. Only running
//! sandboxes take writes; every write drops the sandbox's cached listings.

use uuid::Uuid;

use super::{Services, files::external_id, sandboxes};
use crate::{
    auth::Viewer,
    backend::files::{FileEntry, WorkspacePath},
    entity::sandbox,
    error::{AppError, AppResult},
};

/// Checks the sandbox can take writes and returns it with its backend id.
async fn writable(svc: &Services, viewer: &Viewer, sandbox_id: Uuid) -> AppResult<sandbox::Model> {
    let sb = sandboxes::require(svc, viewer, sandbox_id).await?;
    if sb.status != crate::entity::enums::SandboxStatus::Running {
        return Err(AppError::conflict("the sandbox is not running; its files are read-only"));
    }
    external_id(&sb)?;
    svc.listings.invalidate(sb.id);
    Ok(sb)
}

/// Writes a file (atomic replace, parents created).
pub async fn write(
    svc: &Services,
    viewer: &Viewer,
    sandbox_id: Uuid,
    path: &str,
    data: Vec<u8>,
) -> AppResult<FileEntry> {
    let limit = svc.settings.max_file_write_bytes;
    if data.len() as u64 > limit {
        return Err(AppError::bad_input(format!("content is larger than {limit} bytes")));
    }
    let path = WorkspacePath::parse(path)?;
    let sb = writable(svc, viewer, sandbox_id).await?;
    svc.backend.write_file(external_id(&sb)?, &path, data).await
}

/// Creates a directory and its parents.
pub async fn make_dir(svc: &Services, viewer: &Viewer, sandbox_id: Uuid, path: &str) -> AppResult<FileEntry> {
    let path = WorkspacePath::parse(path)?;
    let sb = writable(svc, viewer, sandbox_id).await?;
    svc.backend.make_dir(external_id(&sb)?, &path).await
}

/// Moves a path; CONFLICT when the destination exists.
pub async fn move_path(
    svc: &Services,
    viewer: &Viewer,
    sandbox_id: Uuid,
    from: &str,
    to: &str,
) -> AppResult<FileEntry> {
    let (from, to) = (WorkspacePath::parse(from)?, WorkspacePath::parse(to)?);
    let sb = writable(svc, viewer, sandbox_id).await?;
    svc.backend.move_path(external_id(&sb)?, &from, &to).await
}

/// Deletes a path; a non-empty directory needs `recursive`.
pub async fn delete_path(
    svc: &Services,
    viewer: &Viewer,
    sandbox_id: Uuid,
    path: &str,
    recursive: bool,
) -> AppResult<()> {
    let path = WorkspacePath::parse(path)?;
    let sb = writable(svc, viewer, sandbox_id).await?;
    svc.backend.delete_path(external_id(&sb)?, &path, recursive).await
}
