//! Snapshot manifests: what a workspace held, file by file, pointing at content blobs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    backend::files::{FileEntry, FileKind, Walk, WorkspacePath},
    cache::Bounded,
};

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

impl ManifestEntry {
    /// Whether this entry is a directory (for ordering).
    pub fn is_dir(&self) -> bool {
        self.kind == "dir"
    }

    /// Rough bytes this entry takes in memory (for caches bounded in bytes).
    pub fn weight(&self) -> usize {
        128 + self.path.len() + self.target.as_ref().map_or(0, String::len)
    }
}

impl Manifest {
    /// The entries under `dir` as a walk: its children down to `max_depth` levels, at most
    /// `max_entries` of them.
    pub fn walk(&self, dir: &WorkspacePath, max_depth: u32, max_entries: usize) -> Walk {
        let mut under = UnderDir::new(dir, max_depth, max_entries);
        for e in &self.entries {
            if !under.take(e) {
                break;
            }
        }
        under.finish()
    }

    /// Rough bytes this manifest takes in memory.
    pub fn weight(&self) -> usize {
        self.entries.iter().map(ManifestEntry::weight).sum::<usize>() + 256
    }
}

/// Recently read manifests by snapshot id (manifests are immutable, so never stale),
/// bounded in bytes.
pub struct ManifestCache {
    map: Bounded<uuid::Uuid, std::sync::Arc<Manifest>>,
    capacity_bytes: usize,
}

impl ManifestCache {
    /// A cache of at most `capacity_bytes` of manifests.
    pub fn new(capacity_bytes: usize) -> Self {
        Self { map: Bounded::by_weight(capacity_bytes as u64, 16, None), capacity_bytes }
    }

    /// A cached manifest.
    pub fn get(&self, id: uuid::Uuid) -> Option<std::sync::Arc<Manifest>> {
        self.map.get(&id)
    }

    /// Entries a manifest may have and still be cached (each weighs at least 160 bytes).
    pub fn capacity_entries(&self) -> usize {
        self.capacity_bytes / 4 / 160
    }

    /// Whether a manifest of `weight` bytes may be cached at all.
    pub fn fits(&self, weight: usize) -> bool {
        weight <= self.capacity_bytes / 4
    }

    /// Remembers a manifest (one over a quarter of the cache is not kept).
    pub fn put(&self, id: uuid::Uuid, m: std::sync::Arc<Manifest>) {
        let weight = m.weight();
        if self.fits(weight) {
            let gone = self.map.insert_weighted(id, m, weight as u64);
            if !gone.is_empty() {
                crate::work::drop_off_runtime(gone);
            }
        }
    }
}

/// The entries under one directory of a manifest, collected as the manifest is read in
/// walk order (a cached manifest or one streamed from the blob store alike). Entries
/// under a directory are contiguous in that order, so reading stops once past them.
pub struct UnderDir<'a> {
    dir: &'a WorkspacePath,
    base: usize,
    max_depth: usize,
    max_entries: usize,
    inside: bool,
    walk: Walk,
}

impl<'a> UnderDir<'a> {
    /// Collects `dir`'s entries down to `max_depth` levels, at most `max_entries`.
    pub fn new(dir: &'a WorkspacePath, max_depth: u32, max_entries: usize) -> Self {
        let base = dir.components().count();
        Self { dir, base, max_depth: max_depth as usize, max_entries, inside: false, walk: Walk::default() }
    }

    /// Takes the next manifest entry; false when no later entry can belong (the walk is
    /// full, or the entries under `dir` are behind).
    pub fn take(&mut self, e: &ManifestEntry) -> bool {
        let Some(fe) = e.to_entry() else { return true };
        if fe.path == *self.dir || !self.dir.contains(&fe.path) {
            return !self.inside;
        }
        self.inside = true;
        if fe.path.components().count() - self.base > self.max_depth {
            return true;
        }
        if self.walk.entries.len() >= self.max_entries {
            self.walk.truncated = true;
            return false;
        }
        self.walk.entries.push(fe);
        true
    }

    /// The walk collected.
    pub fn finish(self) -> Walk {
        self.walk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> ManifestEntry {
        ManifestEntry {
            path: path.into(),
            kind: "file".into(),
            size: 1,
            mtime_ns: 1,
            mode: 0o644,
            sha256: None,
            target: None,
        }
    }

    fn dir(path: &str) -> ManifestEntry {
        ManifestEntry { kind: "dir".into(), ..file(path) }
    }

    fn manifest(entries: Vec<ManifestEntry>) -> Manifest {
        Manifest { version: 1, sandbox_id: uuid::Uuid::nil(), created_at: DateTime::default(), entries }
    }

    #[test]
    fn a_manifest_walk_lists_children_or_descendants() {
        let m = manifest(vec![dir("a"), dir("a/b"), file("a/b/2"), file("a/1"), file("top")]);
        let a = WorkspacePath::parse("a").unwrap();
        let kids: Vec<String> = m.walk(&a, 1, 100).entries.iter().map(|e| e.path.as_str().to_string()).collect();
        assert_eq!(kids, vec!["a/b", "a/1"]);
        assert_eq!(m.walk(&a, u32::MAX, 100).entries.len(), 3);
        assert_eq!(m.walk(&WorkspacePath::root(), u32::MAX, 100).entries.len(), 5);
        let cut = m.walk(&WorkspacePath::root(), u32::MAX, 2);
        assert!(cut.truncated && cut.entries.len() == 2);
    }

    #[test]
    fn the_cache_is_bounded_in_bytes() {
        let one = std::sync::Arc::new(manifest((0..10).map(|i| file(&format!("f{i}"))).collect()));
        let c = ManifestCache::new(one.weight() * 4);
        for _ in 0..10 {
            c.put(uuid::Uuid::now_v7(), one.clone());
        }
        assert!(c.map.weight() as usize <= one.weight() * 4 && c.map.len() <= 4 && !c.map.is_empty());
        let big = std::sync::Arc::new(manifest((0..100).map(|i| file(&format!("f{i}"))).collect()));
        let id = uuid::Uuid::now_v7();
        c.put(id, big);
        assert!(c.get(id).is_none(), "too big to cache");
    }
}
