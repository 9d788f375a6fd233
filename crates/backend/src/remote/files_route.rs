//! The file operations and watches of [`RoutedBackend`]: each one here or on the
//! sandbox's host, unary ones as JSON calls, contents and walks streamed.

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{
    Route, RoutedBackend,
    wire::{Call, Target},
};
use crate::{
    ExternalId, WorkspaceWatch,
    capabilities::{Files, Watch},
    error::{AppError, AppResult},
    files::{FileBytes, FileEntry, Walk, WalkChunk, WalkOptions, WorkspacePath},
    storage::Upload,
};

fn target(id: &ExternalId, path: &WorkspacePath) -> Target {
    Target { ext: id.as_str().into(), path: path.clone(), opts: None, capacity: None }
}

#[async_trait]
impl Files for RoutedBackend {
    async fn walk(&self, id: &ExternalId, path: &WorkspacePath, opts: WalkOptions) -> AppResult<Walk> {
        match self.route(id).await? {
            Route::Local => self.local.walk(id, path, opts).await,
            Route::Remote(url) => {
                self.remote.call(&url, &Call::Walk { ext: id.as_str().into(), path: path.clone(), opts }).await
            }
        }
    }

    async fn walk_stream(
        &self,
        id: &ExternalId,
        path: &WorkspacePath,
        opts: WalkOptions,
    ) -> AppResult<mpsc::Receiver<AppResult<WalkChunk>>> {
        match self.route(id).await? {
            Route::Local => self.local.walk_stream(id, path, opts).await,
            Route::Remote(url) => {
                let t = Target { opts: Some(opts), ..target(id, path) };
                self.remote.walk_stream(&url, &t).await
            }
        }
    }

    async fn hash_file(&self, id: &ExternalId, path: &WorkspacePath) -> AppResult<(String, u64)> {
        match self.route(id).await? {
            Route::Local => self.local.hash_file(id, path).await,
            Route::Remote(url) => {
                self.remote.call(&url, &Call::HashFile { ext: id.as_str().into(), path: path.clone() }).await
            }
        }
    }

    async fn stat(&self, id: &ExternalId, path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
        match self.route(id).await? {
            Route::Local => self.local.stat(id, path).await,
            Route::Remote(url) => {
                self.remote.call(&url, &Call::Stat { ext: id.as_str().into(), path: path.clone() }).await
            }
        }
    }

    async fn read_file(&self, id: &ExternalId, path: &WorkspacePath, max_bytes: u64) -> AppResult<FileBytes> {
        match self.route(id).await? {
            Route::Local => self.local.read_file(id, path, max_bytes).await,
            Route::Remote(url) => {
                let call = Call::ReadFile { ext: id.as_str().into(), path: path.clone(), max_bytes };
                self.remote.call(&url, &call).await
            }
        }
    }

    async fn write_file(&self, id: &ExternalId, path: &WorkspacePath, data: Vec<u8>) -> AppResult<FileEntry> {
        match self.route(id).await? {
            Route::Local => self.local.write_file(id, path, data).await,
            Route::Remote(url) => {
                let body: Upload = Box::pin(std::io::Cursor::new(data));
                self.remote.write_stream(&url, &target(id, path), body).await
            }
        }
    }

    async fn write_stream(&self, id: &ExternalId, path: &WorkspacePath, body: Upload) -> AppResult<FileEntry> {
        match self.route(id).await? {
            Route::Local => self.local.write_stream(id, path, body).await,
            Route::Remote(url) => self.remote.write_stream(&url, &target(id, path), body).await,
        }
    }

    async fn make_dir(&self, id: &ExternalId, path: &WorkspacePath) -> AppResult<FileEntry> {
        match self.route(id).await? {
            Route::Local => self.local.make_dir(id, path).await,
            Route::Remote(url) => {
                self.remote.call(&url, &Call::MakeDir { ext: id.as_str().into(), path: path.clone() }).await
            }
        }
    }

    async fn move_path(&self, id: &ExternalId, from: &WorkspacePath, to: &WorkspacePath) -> AppResult<FileEntry> {
        match self.route(id).await? {
            Route::Local => self.local.move_path(id, from, to).await,
            Route::Remote(url) => {
                let call = Call::MovePath { ext: id.as_str().into(), from: from.clone(), to: to.clone() };
                self.remote.call(&url, &call).await
            }
        }
    }

    async fn read_stream(&self, id: &ExternalId, path: &WorkspacePath) -> AppResult<Upload> {
        match self.route(id).await? {
            Route::Local => self.local.read_stream(id, path).await,
            Route::Remote(url) => self.remote.read_stream(&url, &target(id, path)).await,
        }
    }

    async fn set_mode(&self, id: &ExternalId, path: &WorkspacePath, mode: u32) -> AppResult<()> {
        match self.route(id).await? {
            Route::Local => self.local.set_mode(id, path, mode).await,
            Route::Remote(url) => {
                self.remote.call(&url, &Call::SetMode { ext: id.as_str().into(), path: path.clone(), mode }).await
            }
        }
    }

    async fn make_symlink(&self, id: &ExternalId, path: &WorkspacePath, link_to: &str) -> AppResult<()> {
        match self.route(id).await? {
            Route::Local => self.local.make_symlink(id, path, link_to).await,
            Route::Remote(url) => {
                let call = Call::MakeSymlink { ext: id.as_str().into(), path: path.clone(), target: link_to.into() };
                self.remote.call(&url, &call).await
            }
        }
    }

    async fn delete_path(&self, id: &ExternalId, path: &WorkspacePath, recursive: bool) -> AppResult<()> {
        match self.route(id).await? {
            Route::Local => self.local.delete_path(id, path, recursive).await,
            Route::Remote(url) => {
                let call = Call::DeletePath { ext: id.as_str().into(), path: path.clone(), recursive };
                self.remote.call(&url, &call).await
            }
        }
    }
}

#[async_trait]
impl Watch for RoutedBackend {
    async fn watch(&self, id: &ExternalId, capacity: usize) -> AppResult<WorkspaceWatch> {
        let local = self.local.watcher().ok_or_else(|| AppError::bad_input("this backend cannot watch"))?;
        match self.route(id).await? {
            Route::Local => local.watch(id, capacity).await,
            Route::Remote(url) => {
                let t = Target { capacity: Some(capacity), ..target(id, &WorkspacePath::root()) };
                self.remote.watch(&url, &t).await
            }
        }
    }
}
