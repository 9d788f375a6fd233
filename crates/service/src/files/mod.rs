//! A sandbox's files: listing, tree and reads from its live workspace (asked directly,
//! read at rest while it sleeps) or from a snapshot's manifest and blobs;
//! changes to the live workspace ([`writes`]); its changes as they happen ([`changes`]).
//! Every function takes a [`VisibleSandbox`], so another account's sandbox never gets this
//! far (it is NOT_FOUND like a missing one).

pub mod changes;
pub mod listing_cache;
pub mod mime;
mod reads;
mod stored;
mod tree;
pub mod writes;

use std::sync::Arc;

use base64::Engine;
use uuid::Uuid;

use crate::lifecycle::waker::Waker;
use crate::{
    backend::{
        Backend,
        files::{FileBytes, FileEntry, FileKind, Walk, WalkOptions, WorkspacePath},
    },
    config::Limits,
    error::{AppError, AppResult},
    storage,
};
use crate::{
    files::listing_cache::{ListingCache, ListingKey},
    quotas::{Expensive, Quotas},
    sandboxes::VisibleSandbox,
    snapshots::Snapshots,
};

pub use crate::files::tree::FileNode;

/// Where files are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSource {
    /// The sandbox's live workspace.
    Workspace,
    /// A snapshot in object storage: the given one, or the newest.
    Snapshot(Option<Uuid>),
    /// A checkpoint of this sandbox.
    Checkpoint(Uuid),
}

/// Browsing and changing files of sandboxes the viewer may see.
#[derive(Clone)]
pub struct Files {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) snapshots: Snapshots,
    pub(crate) listings: Arc<ListingCache>,
    quotas: Quotas,
    pub(crate) limits: Arc<Limits>,
    pub(crate) waker: Waker,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Entries of this page.
    pub entries: Vec<FileEntry>,
    /// Entries in the whole listing.
    pub total: u64,
    /// Whether the walk stopped at the entry limit.
    pub truncated: bool,
}

/// How file content is carried as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncoding {
    /// The bytes are UTF-8 text.
    Utf8,
    /// The bytes are base64.
    Base64,
}

/// The start of a file, ready to show.
#[derive(Debug, Clone)]
pub struct FileContent {
    /// The path read.
    pub path: WorkspacePath,
    /// Full size of the file.
    pub size: u64,
    /// Content type by content.
    pub mime_type: &'static str,
    /// How `content` is encoded.
    pub encoding: ContentEncoding,
    /// The content (or its prefix).
    pub content: String,
    /// Whether `content` is only a prefix.
    pub truncated: bool,
}

impl Files {
    /// File access over `backend` (live workspaces) and `snapshots`.
    pub fn new(
        backend: Arc<dyn Backend>,
        snapshots: Snapshots,
        quotas: Quotas,
        limits: Arc<Limits>,
        waker: Waker,
    ) -> Self {
        let listings = Arc::new(ListingCache::new(
            std::time::Duration::from_secs(limits.listing_cache_ttl_secs),
            limits.listing_cache_bytes as usize,
        ));
        Self { backend, snapshots, listings, quotas, limits, waker }
    }

    fn walk_options(&self, max_depth: u32, max_entries: u64) -> WalkOptions {
        WalkOptions { max_depth, depth_cap: self.limits.max_walk_depth as u32, max_entries: max_entries as usize }
    }

    async fn walk(
        &self,
        sb: &VisibleSandbox,
        source: FileSource,
        path: &WorkspacePath,
        opts: WalkOptions,
    ) -> AppResult<Walk> {
        // A deep walk is expensive: an account runs only so many at once.
        let _slot = if opts.max_depth > 1 { Some(self.quotas.acquire(sb.account_id, Expensive::Walk)?) } else { None };
        if source == FileSource::Workspace {
            return self.workspace_walk(sb, path, opts).await;
        }
        match self.snapshot_stat(sb, source, path).await? {
            None => Err(AppError::NotFound("file")),
            Some(e) if e.kind != FileKind::Directory => {
                Err(AppError::bad_input("a component of the path is not a directory"))
            }
            Some(_) => {
                let snap = self.stored(sb, source).await?;
                self.snapshots.walk(&snap, path, opts.max_depth, opts.max_entries).await
            }
        }
    }

    /// A page of the entries under `path` (its direct children, or all descendants).
    #[allow(clippy::too_many_arguments)]
    pub async fn list(
        &self,
        sb: &VisibleSandbox,
        source: FileSource,
        path: &str,
        recursive: bool,
        first: i64,
        offset: i64,
    ) -> AppResult<Listing> {
        let max = self.limits.max_file_list_page;
        if first < 0 || first as u64 > max || offset < 0 {
            return Err(AppError::bad_input(format!("`first` must be 0 to {max} and `offset` not negative")));
        }
        let path = WorkspacePath::parse(path)?;
        let key: ListingKey = (sb.id, format!("{source:?}"), path.as_str().to_string(), recursive);
        let cached = if offset > 0 { self.listings.get(&key) } else { None };
        let walked = match cached {
            Some(w) => w,
            None => {
                let max_depth = if recursive { u32::MAX } else { 1 };
                let opts = self.walk_options(max_depth, self.limits.max_walk_entries);
                let w = Arc::new(self.walk(sb, source, &path, opts).await?);
                self.listings.put(key, w.clone());
                w
            }
        };
        let entries = walked.entries.iter().skip(offset as usize).take(first as usize).cloned().collect();
        let listing = Listing { entries, total: walked.entries.len() as u64, truncated: walked.truncated };
        // A walk the cache did not keep is freed off the runtime.
        if Arc::strong_count(&walked) == 1 {
            crate::work::drop_off_runtime(walked);
        }
        Ok(listing)
    }

    /// Metadata of one path, or None when it does not exist.
    pub async fn stat(&self, sb: &VisibleSandbox, source: FileSource, path: &str) -> AppResult<Option<FileEntry>> {
        let path = WorkspacePath::parse(path)?;
        match source {
            FileSource::Workspace => self.workspace_stat(sb, &path).await,
            stored => self.snapshot_stat(sb, stored, &path).await,
        }
    }

    async fn read(
        &self,
        sb: &VisibleSandbox,
        source: FileSource,
        path: &WorkspacePath,
        max: u64,
    ) -> AppResult<FileBytes> {
        match source {
            FileSource::Workspace => self.workspace_read(sb, path, max).await,
            stored => {
                let snap = self.stored(sb, stored).await?;
                let entry = self.snapshots.find(&snap, path).await?.ok_or(AppError::NotFound("file"))?;
                let sha = match entry.kind.as_str() {
                    "file" => entry.sha256.as_deref().ok_or(AppError::NotFound("file"))?,
                    "dir" => return Err(AppError::bad_input("path is a directory")),
                    _ => return Err(AppError::bad_input("path is not a regular file")),
                };
                let data = self.snapshots.blobs.get_prefix(&storage::blob_key(sb.account_id, sha), max).await?;
                Ok(FileBytes { truncated: entry.size > data.len() as u64, data, size: entry.size })
            }
        }
    }

    /// Up to `max_bytes` of a file as UTF-8 text when it is text, base64 otherwise.
    pub async fn content(
        &self,
        sb: &VisibleSandbox,
        source: FileSource,
        path: &str,
        max_bytes: i64,
    ) -> AppResult<FileContent> {
        let limit = self.limits.max_file_read_bytes;
        if !(0..=limit as i64).contains(&max_bytes) {
            return Err(AppError::bad_input(format!("`maxBytes` must be 0 to {limit}")));
        }
        let path = WorkspacePath::parse(path)?;
        let bytes = self.read(sb, source, &path, max_bytes as u64).await?;
        let head = &bytes.data[..bytes.data.len().min(mime::SNIFF_BYTES as usize)];
        let mime_type = mime::sniff(FileKind::File, bytes.size, head);
        let (encoding, content) = if mime::is_text(&bytes.data, bytes.size) {
            let text = match std::str::from_utf8(&bytes.data) {
                Ok(t) => t,
                // Cut inside a character: drop the partial character.
                Err(e) => std::str::from_utf8(&bytes.data[..e.valid_up_to()]).unwrap_or_default(),
            };
            (ContentEncoding::Utf8, text.to_string())
        } else {
            (ContentEncoding::Base64, base64::engine::general_purpose::STANDARD.encode(&bytes.data))
        };
        Ok(FileContent { path, size: bytes.size, mime_type, encoding, content, truncated: bytes.truncated })
    }

    /// The content type of an entry, by its first bytes (read only when asked for).
    pub async fn mime_type(
        &self,
        sb: &VisibleSandbox,
        source: FileSource,
        entry: &FileEntry,
    ) -> AppResult<&'static str> {
        if entry.kind != FileKind::File || entry.size == 0 {
            return Ok(mime::sniff(entry.kind, entry.size, &[]));
        }
        let bytes = self.read(sb, source, &entry.path, mime::SNIFF_BYTES).await?;
        Ok(mime::sniff(entry.kind, bytes.size, &bytes.data))
    }

    /// The tree under `path`, `depth` levels deep, at most `max_tree_nodes` nodes.
    pub async fn tree(&self, sb: &VisibleSandbox, source: FileSource, path: &str, depth: i64) -> AppResult<FileNode> {
        let max_depth = self.limits.max_tree_depth;
        if depth < 1 || depth as u64 > max_depth {
            return Err(AppError::bad_input(format!("`depth` must be 1 to {max_depth}")));
        }
        let path = WorkspacePath::parse(path)?;
        let root = match source {
            FileSource::Workspace => self.workspace_stat(sb, &path).await?,
            stored => self.snapshot_stat(sb, stored, &path).await?,
        }
        .ok_or(AppError::NotFound("file"))?;
        if root.kind != FileKind::Directory {
            return Ok(FileNode { entry: root, children: vec![], truncated: false });
        }
        let opts = self.walk_options(depth as u32, self.limits.max_tree_nodes);
        let walked = self.walk(sb, source, &path, opts).await?;
        Ok(crate::files::tree::build(root, walked, depth as u32))
    }
}
