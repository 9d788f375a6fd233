//! Changing a sandbox's files: write, make directories, move, delete. Only running
//! sandboxes take writes; every write drops the sandbox's cached listings.

use super::{files::Files, sandboxes::VisibleSandbox};
use crate::{
    backend::files::{FileEntry, WorkspacePath},
    entity::enums::SandboxStatus,
    error::{AppError, AppResult},
};

impl Files {
    /// Checks the sandbox can take writes and returns its backend id.
    fn writable<'a>(&self, sb: &'a VisibleSandbox) -> AppResult<&'a str> {
        if sb.status != SandboxStatus::Running {
            return Err(AppError::conflict("the sandbox is not running; its files are read-only"));
        }
        let ext = sb.external_id()?;
        self.listings.invalidate(sb.id);
        Ok(ext)
    }

    /// Writes a file (atomic replace, parents created).
    pub async fn write(&self, sb: &VisibleSandbox, path: &str, data: Vec<u8>) -> AppResult<FileEntry> {
        let limit = self.limits.max_file_write_bytes;
        if data.len() as u64 > limit {
            return Err(AppError::bad_input(format!("content is larger than {limit} bytes")));
        }
        let path = WorkspacePath::parse(path)?;
        self.backend.write_file(self.writable(sb)?, &path, data).await
    }

    /// Creates a directory and its parents.
    pub async fn make_dir(&self, sb: &VisibleSandbox, path: &str) -> AppResult<FileEntry> {
        let path = WorkspacePath::parse(path)?;
        self.backend.make_dir(self.writable(sb)?, &path).await
    }

    /// Moves a path; CONFLICT when the destination exists.
    pub async fn move_path(&self, sb: &VisibleSandbox, from: &str, to: &str) -> AppResult<FileEntry> {
        let (from, to) = (WorkspacePath::parse(from)?, WorkspacePath::parse(to)?);
        self.backend.move_path(self.writable(sb)?, &from, &to).await
    }

    /// Deletes a path; a non-empty directory needs `recursive`.
    pub async fn delete_path(&self, sb: &VisibleSandbox, path: &str, recursive: bool) -> AppResult<()> {
        let path = WorkspacePath::parse(path)?;
        self.backend.delete_path(self.writable(sb)?, &path, recursive).await
    }
}
