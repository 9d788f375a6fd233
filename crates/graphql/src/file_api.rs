//! Mutations on a sandbox's files: write, make directories, move, delete.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use base64::Engine;

use super::{
    context::{require_sandbox, scope},
    cost,
    types::file::{FileEncoding, FileEntry},
};
use crate::{
    error::AppError,
    service::{files::FileSource, sandboxes::VisibleSandbox},
};

/// File mutations.
#[derive(Default)]
pub struct FileMutation;

fn entry(sandbox: VisibleSandbox, entry: crate::backend::files::FileEntry) -> FileEntry {
    FileEntry { sandbox: Arc::new(sandbox), source: FileSource::Workspace, entry }
}

#[Object]
impl FileMutation {
    /// Writes a file: parents are created and an existing file is replaced atomically, so
    /// a reader never sees half of it. `content` is text, or base64 with `encoding: BASE64`.
    #[graphql(complexity = "cost::QUERY + cost::bytes(content.len() as i64) + child_complexity")]
    async fn write_file(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
        path: String,
        content: String,
        #[graphql(default_with = "FileEncoding::Utf8")] encoding: FileEncoding,
    ) -> Result<FileEntry> {
        let (svc, _) = scope(ctx)?;
        let data = match encoding {
            FileEncoding::Utf8 => content.into_bytes(),
            FileEncoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(content.as_bytes())
                .map_err(|_| AppError::bad_input("`content` is not valid base64"))?,
        };
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        let written = svc.files.write(&sb, &path, data).await?;
        Ok(entry(sb, written))
    }

    /// Creates a directory and any missing parents (like `mkdir -p`).
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn make_directory(&self, ctx: &Context<'_>, sandbox_id: ID, path: String) -> Result<FileEntry> {
        let (svc, _) = scope(ctx)?;
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        let made = svc.files.make_dir(&sb, &path).await?;
        Ok(entry(sb, made))
    }

    /// Moves or renames a path; CONFLICT when something exists at `to`.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn move_path(&self, ctx: &Context<'_>, sandbox_id: ID, from: String, to: String) -> Result<FileEntry> {
        let (svc, _) = scope(ctx)?;
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        let moved = svc.files.move_path(&sb, &from, &to).await.map_err(|e| e.at_path(&from))?;
        Ok(entry(sb, moved))
    }

    /// Deletes a file, a symlink (not its target) or a directory (non-empty ones only with
    /// `recursive: true`). Returns true.
    #[graphql(complexity = "cost::QUERY + if recursive { cost::RECURSIVE_WALK } else { 0 }")]
    async fn delete_path(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
        path: String,
        #[graphql(default = false)] recursive: bool,
    ) -> Result<bool> {
        let (svc, _) = scope(ctx)?;
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        svc.files.delete_path(&sb, &path, recursive).await.map_err(|e| e.at_path(&path))?;
        Ok(true)
    }
}
