//! Snapshot manifests: what a workspace held, file by file, pointing at content blobs.

use std::collections::{HashMap, HashSet};

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
        Walk { entries, truncated: false, skipped: 0 }
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

/// Gives every file whose size and mtime match the previous manifest its known hash, and
/// returns the indexes of the files that must be hashed.
pub fn reuse_hashes(entries: &mut [ManifestEntry], previous: Option<&Manifest>) -> Vec<usize> {
    let known = previous.map(Manifest::hashes).unwrap_or_default();
    let mut to_hash = Vec::new();
    for (i, e) in entries.iter_mut().enumerate().filter(|(_, e)| e.kind == "file") {
        match known.get(e.path.as_str()) {
            Some((prev, sha)) if prev.size == e.size && prev.mtime_ns == e.mtime_ns => e.sha256 = Some(sha.to_string()),
            _ => to_hash.push(i),
        }
    }
    to_hash
}

/// The blobs to upload: each hash not yet stored, once, with a path and size to read it
/// from.
pub fn new_blobs(entries: &[ManifestEntry], mut stored: impl FnMut(&str) -> bool) -> Vec<(String, String, u64)> {
    let mut seen = HashSet::new();
    let mut wanted = Vec::new();
    for e in entries.iter().filter(|e| e.kind == "file") {
        if let Some(sha) = &e.sha256
            && !stored(sha)
            && seen.insert(sha.as_str())
        {
            wanted.push((sha.clone(), e.path.clone(), e.size));
        }
    }
    wanted
}

/// Recently read manifests by snapshot id (manifests are immutable, so never stale).
pub struct ManifestCache {
    map: std::sync::Mutex<HashMap<uuid::Uuid, std::sync::Arc<Manifest>>>,
    capacity: usize,
}

impl ManifestCache {
    /// A cache of at most `capacity` manifests.
    pub fn new(capacity: usize) -> Self {
        Self { map: std::sync::Mutex::default(), capacity }
    }

    /// A cached manifest.
    pub fn get(&self, id: uuid::Uuid) -> Option<std::sync::Arc<Manifest>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }

    /// Remembers a manifest, dropping an arbitrary one when full.
    pub fn put(&self, id: uuid::Uuid, m: std::sync::Arc<Manifest>) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if self.capacity == 0 {
            return;
        }
        if map.len() >= self.capacity
            && let Some(k) = map.keys().next().copied()
        {
            map.remove(&k);
        }
        map.insert(id, m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64, mtime_ns: i64, sha: Option<&str>) -> ManifestEntry {
        ManifestEntry {
            path: path.into(),
            kind: "file".into(),
            size,
            mtime_ns,
            mode: 0o644,
            sha256: sha.map(str::to_string),
            target: None,
        }
    }

    fn dir(path: &str) -> ManifestEntry {
        ManifestEntry { kind: "dir".into(), ..file(path, 0, 0, None) }
    }

    fn manifest(entries: Vec<ManifestEntry>) -> Manifest {
        Manifest { version: 1, sandbox_id: uuid::Uuid::nil(), created_at: DateTime::default(), entries }
    }

    #[test]
    fn unchanged_files_keep_their_hash_and_changed_ones_are_hashed() {
        let prev =
            manifest(vec![file("a", 1, 10, Some("ha")), file("b", 2, 20, Some("hb")), file("c", 3, 30, Some("hc"))]);
        let mut now = vec![
            dir("d"),
            file("a", 1, 10, None),
            file("b", 2, 21, None),
            file("c", 4, 30, None),
            file("new", 1, 1, None),
        ];
        let to_hash = reuse_hashes(&mut now, Some(&prev));
        assert_eq!(to_hash, vec![2, 3, 4]);
        assert_eq!(now[1].sha256.as_deref(), Some("ha"));
        assert!(now[2].sha256.is_none() && now[0].sha256.is_none());
    }

    #[test]
    fn without_a_previous_manifest_every_file_is_hashed() {
        let mut now = vec![file("a", 1, 1, None), dir("d"), file("d/b", 1, 1, None)];
        assert_eq!(reuse_hashes(&mut now, None), vec![0, 2]);
    }

    #[test]
    fn each_new_blob_is_uploaded_once() {
        let entries = vec![
            file("a", 1, 1, Some("h1")),
            file("b", 1, 1, Some("h1")),
            file("c", 2, 1, Some("h2")),
            file("d", 3, 1, Some("h3")),
        ];
        let wanted = new_blobs(&entries, |sha| sha == "h2");
        let shas: Vec<&str> = wanted.iter().map(|(s, _, _)| s.as_str()).collect();
        assert_eq!(shas, vec!["h1", "h3"]);
        assert_eq!(wanted[0].1, "a");
    }

    #[test]
    fn preorder_puts_directories_first_then_names() {
        let mut entries: Vec<FileEntry> =
            [file("z", 1, 0, None), dir("b"), file("b/x", 1, 0, None), dir("a"), dir("b/c"), file("b/c/y", 1, 0, None)]
                .iter()
                .filter_map(ManifestEntry::to_entry)
                .collect();
        sort_preorder(&mut entries);
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, vec!["a", "b", "b/c", "b/c/y", "b/x", "z"]);
    }

    #[test]
    fn a_manifest_walk_lists_children_or_descendants() {
        let m = manifest(vec![
            dir("a"),
            file("a/1", 1, 0, None),
            dir("a/b"),
            file("a/b/2", 1, 0, None),
            file("top", 1, 0, None),
        ]);
        let a = WorkspacePath::parse("a").unwrap();
        let kids: Vec<String> = m.walk(&a, false, 1).entries.iter().map(|e| e.path.as_str().to_string()).collect();
        assert_eq!(kids, vec!["a/b", "a/1"]);
        assert_eq!(m.walk(&a, true, u32::MAX).entries.len(), 3);
        assert_eq!(m.walk(&WorkspacePath::root(), true, u32::MAX).entries.len(), 5);
    }

    #[test]
    fn the_cache_keeps_at_most_its_capacity() {
        let c = ManifestCache::new(2);
        for _ in 0..5 {
            c.put(uuid::Uuid::now_v7(), std::sync::Arc::new(manifest(vec![])));
        }
        assert_eq!(c.map.lock().unwrap().len(), 2);
    }
}
