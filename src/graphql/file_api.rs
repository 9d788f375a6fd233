//! Mutations on a sandbox's files: write, make directories, move, delete.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use base64::Engine;

use super::{
    context::{parse_id, scope},
    types::file::{FileEncoding, FileEntry},
};
use crate::{
    error::AppError,
    service::{file_writes as files, files::FileSource, sandboxes},
};

/// File mutations.
#[derive(Default)]
pub struct FileMutation;

async fn entry(
    ctx: &Context<'_>,
    sandbox_id: uuid::Uuid,
    entry: crate::backend::files::FileEntry,
) -> Result<FileEntry> {
    let (svc, viewer) = scope(ctx)?;
    let sandbox = sandboxes::require(svc, viewer, sandbox_id).await?;
    Ok(FileEntry { sandbox: Arc::new(sandbox), source: FileSource::Workspace, entry })
}

#[Object]
impl FileMutation {
    /// Writes a file: parents are created and an existing file is replaced atomically, so
    /// a reader never sees half of it. `content` is text, or base64 with `encoding: BASE64`.
    async fn write_file(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
        path: String,
        content: String,
        #[graphql(default_with = "FileEncoding::Utf8")] encoding: FileEncoding,
    ) -> Result<FileEntry> {
        let (svc, viewer) = scope(ctx)?;
        let id = parse_id(&sandbox_id, "sandboxId")?;
        let data = match encoding {
            FileEncoding::Utf8 => content.into_bytes(),
            FileEncoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(content.as_bytes())
                .map_err(|_| AppError::bad_input("`content` is not valid base64"))?,
        };
        let written = files::write(svc, viewer, id, &path, data).await?;
        entry(ctx, id, written).await
    }

    /// Creates a directory and any missing parents (like `mkdir -p`).
    async fn make_directory(&self, ctx: &Context<'_>, sandbox_id: ID, path: String) -> Result<FileEntry> {
        let (svc, viewer) = scope(ctx)?;
        let id = parse_id(&sandbox_id, "sandboxId")?;
        let made = files::make_dir(svc, viewer, id, &path).await?;
        entry(ctx, id, made).await
    }

    /// Moves or renames a path; CONFLICT when something exists at `to`.
    async fn move_path(&self, ctx: &Context<'_>, sandbox_id: ID, from: String, to: String) -> Result<FileEntry> {
        let (svc, viewer) = scope(ctx)?;
        let id = parse_id(&sandbox_id, "sandboxId")?;
        let moved = files::move_path(svc, viewer, id, &from, &to).await?;
        entry(ctx, id, moved).await
    }

    /// Deletes a file, a symlink (not its target) or a directory (non-empty ones only with
    /// `recursive: true`). Returns true.
    async fn delete_path(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
        path: String,
        #[graphql(default = false)] recursive: bool,
    ) -> Result<bool> {
        let (svc, viewer) = scope(ctx)?;
        files::delete_path(svc, viewer, parse_id(&sandbox_id, "sandboxId")?, &path, recursive).await?;
        Ok(true)
    }
}
