//! File explorer types: entries, listings, content and trees.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    backend::files::{FileEntry as Entry, FileKind},
    service::{
        files::{self, ContentEncoding, FileSource as Source},
        sandboxes::VisibleSandbox,
    },
    {
        context::{parse_opt_id, scope},
        cost,
    },
};

/// Where files are read from.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum FileSource {
    /// The sandbox's live workspace.
    #[default]
    Workspace,
    /// A snapshot in object storage (the newest, or the one named by `snapshotId`).
    Snapshot,
    /// A checkpoint of the sandbox (named by `checkpointId`).
    Checkpoint,
}

/// How `FileContent.content` is encoded.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum FileEncoding {
    /// UTF-8 text.
    #[graphql(name = "UTF8")]
    Utf8,
    /// Base64 of the bytes.
    #[graphql(name = "BASE64")]
    Base64,
}

impl From<ContentEncoding> for FileEncoding {
    fn from(e: ContentEncoding) -> Self {
        match e {
            ContentEncoding::Utf8 => FileEncoding::Utf8,
            ContentEncoding::Base64 => FileEncoding::Base64,
        }
    }
}

/// The service's source from the GraphQL arguments.
pub fn source(source: FileSource, snapshot_id: Option<&ID>, checkpoint_id: Option<&ID>) -> Result<Source> {
    Ok(match source {
        FileSource::Workspace => Source::Workspace,
        FileSource::Snapshot => Source::Snapshot(parse_opt_id(snapshot_id, "snapshotId")?),
        FileSource::Checkpoint => match parse_opt_id(checkpoint_id, "checkpointId")? {
            Some(id) => Source::Checkpoint(id),
            None => return Err(crate::error::AppError::bad_input("`source: CHECKPOINT` needs a `checkpointId`").into()),
        },
    })
}

/// A file, directory or symlink of a sandbox.
pub struct FileEntry {
    /// The sandbox it belongs to (already checked visible).
    pub sandbox: Arc<VisibleSandbox>,
    /// Where it was read from.
    pub source: Source,
    /// The entry.
    pub entry: Entry,
}

#[Object]
impl FileEntry {
    /// Path from the workspace root (`""` is the root).
    async fn path(&self) -> &str {
        self.entry.path.as_str()
    }
    /// Last path component.
    async fn name(&self) -> &str {
        self.entry.name()
    }
    /// Size in bytes (of the link itself for symlinks), as `stat` reports it.
    async fn size(&self) -> u64 {
        self.entry.size
    }
    /// Last modification.
    async fn modified_at(&self) -> DateTime<Utc> {
        self.entry.modified
    }
    /// Whether it is a directory.
    async fn is_directory(&self) -> bool {
        self.entry.kind == FileKind::Directory
    }
    /// Whether it is a symbolic link (listings never follow links).
    async fn is_symlink(&self) -> bool {
        self.entry.kind == FileKind::Symlink
    }
    /// Where a symlink points, as written in the link.
    async fn symlink_target(&self) -> Option<&str> {
        self.entry.symlink_target.as_deref()
    }
    /// Permission bits, e.g. 420 for 0644.
    async fn mode(&self) -> u32 {
        self.entry.mode
    }
    /// How git sees it in the live workspace: its change, MODIFIED for a directory holding
    /// one, null when unchanged (or in a snapshot, a sandbox not running, or a workspace
    /// that is not a repository). One `git status` per sandbox per request.
    #[graphql(complexity = "cost::QUERY / 10")]
    async fn git_state(&self, ctx: &Context<'_>) -> Result<Option<super::git::GitFileState>> {
        if !matches!(self.source, Source::Workspace) {
            return Ok(None);
        }
        let loader = ctx.data_unchecked::<async_graphql::dataloader::DataLoader<crate::loaders::GitMarksLoader>>();
        let marks = loader
            .load_one(self.sandbox.visible_id())
            .await
            .map_err(|e| crate::error::AppError::Internal(anyhow::anyhow!(e)))?;
        Ok(marks.and_then(|m| m.of_path(self.entry.path.as_str())).map(Into::into))
    }
    /// Content type by content, as `file --mime-type` would say (reads the first bytes).
    #[graphql(complexity = "cost::SNIFF")]
    async fn mime_type(&self, ctx: &Context<'_>) -> Result<&'static str> {
        let (svc, _) = scope(ctx)?;
        Ok(svc.files.mime_type(&self.sandbox, self.source, &self.entry).await?)
    }
}

/// A page of entries under a directory.
#[derive(SimpleObject)]
pub struct FileList {
    /// Entries of this page: directories first, then by name (pre-order when recursive).
    pub entries: Vec<FileEntry>,
    /// Entries in the whole listing.
    pub total_count: u64,
    /// Where they were read from.
    pub source: FileSource,
    /// Whether the listing stopped at the server's entry limit.
    pub truncated: bool,
}

/// The start of a file.
#[derive(SimpleObject)]
pub struct FileContent {
    /// The path read.
    pub path: String,
    /// Full size of the file.
    pub size: u64,
    /// Content type by content.
    pub mime_type: String,
    /// UTF8 for text, BASE64 otherwise.
    pub encoding: FileEncoding,
    /// The content, or its first `maxBytes`.
    pub content: String,
    /// Whether `content` is only a prefix.
    pub truncated: bool,
}

/// A node of a directory tree.
pub struct FileNode {
    /// The node's entry.
    pub entry: FileEntry,
    /// Children in display order.
    pub children: Vec<FileNode>,
    /// Whether some descendants were left out (depth or node limit).
    pub truncated: bool,
}

#[Object]
impl FileNode {
    /// The entry.
    async fn entry(&self) -> &FileEntry {
        &self.entry
    }
    /// Path from the workspace root.
    async fn path(&self) -> &str {
        self.entry.entry.path.as_str()
    }
    /// Last path component.
    async fn name(&self) -> &str {
        self.entry.entry.name()
    }
    /// Whether it is a directory.
    async fn is_directory(&self) -> bool {
        self.entry.entry.kind == FileKind::Directory
    }
    /// Children, directories first, then by name.
    async fn children(&self) -> &[FileNode] {
        &self.children
    }
    /// Whether some descendants are not included (depth or node limit reached).
    async fn truncated(&self) -> bool {
        self.truncated
    }
}

impl FileNode {
    /// Wraps a service tree.
    pub fn new(sandbox: &Arc<VisibleSandbox>, source: Source, node: files::FileNode) -> Self {
        let children = node.children.into_iter().map(|c| FileNode::new(sandbox, source, c)).collect();
        FileNode {
            entry: FileEntry { sandbox: sandbox.clone(), source, entry: node.entry },
            children,
            truncated: node.truncated,
        }
    }
}
