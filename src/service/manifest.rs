//! Snapshot manifests: what a workspace held, file by file, pointing at content blobs.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::files::{FileEntry, FileKind, Walk, WorkspacePath};

/// One snapshot's content, stored as JSON after all its blobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version.
    pub version: u32,
    /// Sandbox it was taken of.
    pub sandbox_id: uuid::Uuid,
    /// When taken.
    pub created_at: DateTime<Utc>,
    /// Every file, directory and symlink, in display order.
    pub entries: Vec<ManifestEntry>,
}

/// One path of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Path from the workspace root.
    pub path: String,
    /// `file`, `dir` or `symlink`.
    pub kind: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch (to recognise unchanged files).
    pub mtime_ns: i64,
    /// Permission bits.
    pub mode: u32,
    /// Content hash of a file (hex sha256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Target of a symlink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl ManifestEntry {
    /// The manifest form of a walked entry (files get their hash later).
    pub fn from_entry(e: &FileEntry) -> Option<Self> {
        let kind = match e.kind {
            FileKind::File => "file",
            FileKind::Directory => "dir",
            FileKind::Symlink => "symlink",
            FileKind::Other => return None,
        };
        let mtime_ns = e.modified.timestamp_nanos_opt().unwrap_or(0);
        Some(Self {
            path: e.path.as_str().to_string(),
            kind: kind.into(),
            size: e.size,
            mtime_ns,
            mode: e.mode,
            sha256: None,
            target: e.symlink_target.clone(),
        })
    }

    /// The listing form of this entry.
    pub fn to_entry(&self) -> Option<FileEntry> {
        let kind = match self.kind.as_str() {
            "file" => FileKind::File,
            "dir" => FileKind::Directory,
            "symlink" => FileKind::Symlink,
            _ => FileKind::Other,
        };
        Some(FileEntry {
            path: WorkspacePath::parse(&self.path).ok()?,
            kind,
            size: self.size,
            modified: DateTime::from_timestamp_nanos(self.mtime_ns),
            mode: self.mode,
            symlink_target: self.target.clone(),
        })
    }
}

impl Manifest {
    /// Known hashes by path, for files whose size and mtime are unchanged.
    pub fn hashes(&self) -> HashMap<&str, (&ManifestEntry, &str)> {
        self.entries.iter().filter_map(|e| Some((e.path.as_str(), (e, e.sha256.as_deref()?)))).collect()
    }

    /// The entries under `dir` as a walk: direct children, or all descendants.
    pub fn walk(&self, dir: &WorkspacePath, recursive: bool, max_depth: u32) -> Walk {
        let base = dir.components().count();
        let mut entries: Vec<FileEntry> = self
            .entries
            .iter()
            .filter_map(ManifestEntry::to_entry)
            .filter(|e| {
                let depth = e.path.components().count();
                !e.path.is_root()
                    && dir.contains(&e.path)
                    && depth > base
                    && (recursive || depth <= base + max_depth as usize)
            })
            .collect();
        sort_preorder(&mut entries);
        Walk { entries, truncated: false }
    }
}

/// Orders entries as a walk does: pre-order, siblings directories first, then by name.
pub fn sort_preorder(entries: &mut [FileEntry]) {
    let is_dir: std::collections::HashSet<String> =
        entries.iter().filter(|e| e.kind == FileKind::Directory).map(|e| e.path.as_str().to_string()).collect();
    let key = |e: &FileEntry| -> Vec<(bool, String)> {
        let comps: Vec<&str> = e.path.components().collect();
        (0..comps.len())
            .map(|i| {
                let prefix = comps[..=i].join("/");
                let dir = if i + 1 < comps.len() { true } else { is_dir.contains(&prefix) };
                (!dir, comps[i].to_string())
            })
            .collect()
    };
    entries.sort_by_cached_key(key);
}

/// Recently read manifests by snapshot id (manifests are immutable, so never stale).
#[derive(Default)]
pub struct ManifestCache {
    map: std::sync::Mutex<HashMap<uuid::Uuid, std::sync::Arc<Manifest>>>,
}

/// Manifests kept at most.
const MANIFESTS_KEPT: usize = 16;

impl ManifestCache {
    /// A cached manifest.
    pub fn get(&self, id: uuid::Uuid) -> Option<std::sync::Arc<Manifest>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }

    /// Remembers a manifest, dropping an arbitrary one when full.
    pub fn put(&self, id: uuid::Uuid, m: std::sync::Arc<Manifest>) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MANIFESTS_KEPT
            && let Some(k) = map.keys().next().copied()
        {
            map.remove(&k);
        }
        map.insert(id, m);
    }
}
