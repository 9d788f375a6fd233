//! The previous manifest as a cursor moving in walk order alongside a new walk: it gives
//! back the hash of every file whose size and mtime are unchanged, and (for checkpoints)
//! notes what was added, changed or removed since, so a checkpoint lists its changes
//! without a second pass over either side.

use std::sync::Arc;

use crate::{
    backend::order::preorder_cmp,
    entity::checkpoint::{ChangeKind, PathChange},
    error::AppResult,
    snapshots::{manifest::Manifest, manifest::ManifestEntry, manifest_io::ManifestReader, storage_error},
};

/// Where the previous entries come from.
enum Source {
    None,
    Reader(ManifestReader),
    Cached(Arc<Manifest>, usize),
}

/// The changed paths a pass saw: the first `max` in order, and how many in all.
#[derive(Debug, Default, Clone)]
pub struct ChangeLog {
    /// The changes kept.
    pub listed: Vec<PathChange>,
    /// Every change seen.
    pub total: u64,
    max: usize,
}

impl ChangeLog {
    /// A log keeping at most `max` paths.
    pub fn new(max: usize) -> Self {
        Self { listed: Vec::new(), total: 0, max }
    }

    fn note(&mut self, path: &str, kind: ChangeKind) {
        self.total += 1;
        if self.listed.len() < self.max {
            self.listed.push(PathChange { path: path.to_string(), kind });
        }
    }

    /// Notes how `after` differs from `before` (None: it is new).
    pub fn compare(&mut self, before: Option<&ManifestEntry>, after: &ManifestEntry) {
        match before {
            None => self.note(&after.path, ChangeKind::Added),
            Some(b) if b.kind != after.kind || b.sha256 != after.sha256 || b.target != after.target => {
                self.note(&after.path, ChangeKind::Modified)
            }
            Some(b) if b.mode != after.mode => self.note(&after.path, ChangeKind::Modified),
            Some(_) => {}
        }
    }

    /// Notes that `path` is gone.
    pub fn removed(&mut self, path: &str) {
        self.note(path, ChangeKind::Deleted)
    }
}

/// What the previous manifest said of one entry.
#[derive(Debug, Default, Clone)]
pub struct Looked {
    /// Its hash, when size and mtime are unchanged (no need to read it again).
    pub reuse: Option<String>,
    /// Its previous entry, if it had one.
    pub before: Option<ManifestEntry>,
}

/// The cursor.
pub struct Previous {
    source: Source,
    head: Option<ManifestEntry>,
    /// What changed, when asked to track it.
    pub changes: Option<ChangeLog>,
    /// Previous entries passed over (absent from the walk), when asked to collect them.
    passed: Option<Vec<ManifestEntry>>,
}

impl Previous {
    /// No previous manifest: every entry is new.
    pub fn none() -> Self {
        Self { source: Source::None, head: None, changes: None, passed: None }
    }

    /// A cursor over a streamed manifest.
    pub fn streamed(reader: ManifestReader) -> Self {
        Self { source: Source::Reader(reader), head: None, changes: None, passed: None }
    }

    /// A cursor over a manifest held in memory (from the cache).
    pub fn cached(m: Arc<Manifest>) -> Self {
        Self { source: Source::Cached(m, 0), head: None, changes: None, passed: None }
    }

    /// This cursor also noting changes, at most `max` listed.
    pub fn tracking(mut self, max: usize) -> Self {
        self.changes = Some(ChangeLog::new(max));
        self
    }

    /// This cursor also keeping the previous entries it passes over (a rewind makes them
    /// again), for [`Previous::take_passed`].
    pub fn collecting(mut self) -> Self {
        self.passed = Some(Vec::new());
        self
    }

    /// The previous entries passed over since the last call, in order.
    pub fn take_passed(&mut self) -> Vec<ManifestEntry> {
        self.passed.as_mut().map(std::mem::take).unwrap_or_default()
    }

    async fn next_entry(&mut self) -> AppResult<Option<ManifestEntry>> {
        match &mut self.source {
            Source::None => Ok(None),
            Source::Reader(r) => r.next().await.map_err(storage_error),
            Source::Cached(m, i) => {
                let e = m.entries.get(*i).cloned();
                *i += 1;
                Ok(e)
            }
        }
    }

    fn gone(&mut self, e: ManifestEntry) {
        if let Some(c) = self.changes.as_mut() {
            c.removed(&e.path);
        }
        if let Some(p) = self.passed.as_mut() {
            p.push(e);
        }
    }

    /// What the previous manifest says of `e`. Calls come in walk order, so the cursor
    /// only ever moves forward; entries it passes over are gone from the workspace.
    pub async fn lookup(&mut self, e: &ManifestEntry) -> AppResult<Looked> {
        loop {
            if self.head.is_none() {
                match self.next_entry().await? {
                    Some(next) => self.head = Some(next),
                    None => return Ok(Looked::default()),
                }
            }
            let Some(head) = self.head.as_ref() else { return Ok(Looked::default()) };
            match preorder_cmp(&head.path, head.is_dir(), &e.path, e.is_dir()) {
                std::cmp::Ordering::Less => {
                    if let Some(h) = self.head.take() {
                        self.gone(h);
                    }
                }
                std::cmp::Ordering::Greater => return Ok(Looked::default()),
                std::cmp::Ordering::Equal => {
                    let before = self.head.take();
                    let same = before
                        .as_ref()
                        .is_some_and(|b| b.kind == e.kind && b.size == e.size && b.mtime_ns == e.mtime_ns);
                    let reuse = if same { before.as_ref().and_then(|b| b.sha256.clone()) } else { None };
                    return Ok(Looked { reuse, before });
                }
            }
        }
    }

    /// Notes every previous entry not yet passed as gone (the walk is over). Reads the
    /// rest of the manifest only when tracking changes or collecting.
    pub async fn finish(&mut self) -> AppResult<Option<ChangeLog>> {
        if self.changes.is_some() || self.passed.is_some() {
            if let Some(h) = self.head.take() {
                self.gone(h);
            }
            while let Some(e) = self.next_entry().await? {
                self.gone(e);
            }
        }
        Ok(self.changes.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64, sha: &str) -> ManifestEntry {
        ManifestEntry {
            path: path.into(),
            kind: "file".into(),
            size,
            mtime_ns: 1,
            mode: 0o644,
            sha256: Some(sha.into()),
            target: None,
        }
    }

    #[tokio::test]
    async fn the_cursor_reuses_unchanged_hashes_and_notes_changes() {
        let before = Manifest {
            version: 2,
            sandbox_id: uuid::Uuid::nil(),
            created_at: chrono::Utc::now(),
            entries: vec![file("a", 1, "h1"), file("b", 1, "h2"), file("c", 1, "h3")],
        };
        let mut p = Previous::cached(Arc::new(before)).tracking(10);
        let a = p.lookup(&file("a", 1, "")).await.unwrap();
        assert_eq!(a.reuse.as_deref(), Some("h1"));
        p.changes.as_mut().unwrap().compare(a.before.as_ref(), &file("a", 1, "h1"));
        // b is gone; c changed size; d is new.
        let c = p.lookup(&file("c", 2, "")).await.unwrap();
        assert!(c.reuse.is_none() && c.before.is_some());
        p.changes.as_mut().unwrap().compare(c.before.as_ref(), &file("c", 2, "h9"));
        let d = p.lookup(&file("d", 1, "")).await.unwrap();
        assert!(d.before.is_none());
        p.changes.as_mut().unwrap().compare(None, &file("d", 1, "h4"));
        let log = p.finish().await.unwrap().unwrap();
        let got: Vec<(String, ChangeKind)> = log.listed.into_iter().map(|c| (c.path, c.kind)).collect();
        let want = [("b", ChangeKind::Deleted), ("c", ChangeKind::Modified), ("d", ChangeKind::Added)];
        assert_eq!(got, want.map(|(p, k)| (p.to_string(), k)));
        assert_eq!(log.total, 3);
    }
}
