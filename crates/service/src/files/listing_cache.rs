//! Recent directory walks, so paging through a large listing walks the tree once.
//!
//! The first page (`offset: 0`) always walks afresh and caches the result; later pages of
//! the same listing reuse it for a few seconds. A write through the API drops the
//! sandbox's cached listings at once.

use std::{sync::Arc, time::Duration};

use uuid::Uuid;

use crate::{backend::files::Walk, cache::Bounded};

/// Identifies one listing: sandbox, source, directory, recursion.
pub type ListingKey = (Uuid, String, String, bool);

/// Rough bytes a walk takes in memory.
fn weight(walk: &Walk) -> usize {
    walk.entries.iter().map(|e| 96 + e.path.as_str().len() + e.symlink_target.as_ref().map_or(0, String::len)).sum()
}

/// The cache itself, shared by all requests of an instance, bounded in bytes, each walk
/// kept for the TTL.
pub struct ListingCache {
    walks: Bounded<ListingKey, Arc<Walk>>,
    capacity_bytes: usize,
}

impl ListingCache {
    /// A cache keeping walks for `ttl` each, at most `capacity_bytes` of them.
    pub fn new(ttl: Duration, capacity_bytes: usize) -> Self {
        Self { walks: Bounded::by_weight(capacity_bytes as u64, 16, Some(ttl)), capacity_bytes }
    }

    /// A fresh cached walk, if any.
    pub fn get(&self, key: &ListingKey) -> Option<Arc<Walk>> {
        self.walks.get(key)
    }

    /// Remembers a walk (one larger than half the cache is not kept). What it pushes out
    /// is freed off the runtime (see `drop_off_runtime`: a big walk takes a while to free).
    pub fn put(&self, key: ListingKey, walk: Arc<Walk>) {
        let w = weight(&walk);
        if w > self.capacity_bytes / 2 {
            crate::work::drop_off_runtime(vec![walk]);
            return;
        }
        let gone = self.walks.insert_weighted(key, walk, w as u64);
        if !gone.is_empty() {
            crate::work::drop_off_runtime(gone);
        }
    }

    /// Forgets every listing of a sandbox (after a write).
    pub fn invalidate(&self, sandbox_id: Uuid) {
        self.walks.retain(|k, _| k.0 != sandbox_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::files::{FileEntry, FileKind, WorkspacePath};

    fn walk(n: usize) -> Arc<Walk> {
        let e = |i: usize| FileEntry {
            path: WorkspacePath::parse(&format!("f{i}")).unwrap(),
            kind: FileKind::File,
            size: 0,
            modified: chrono::DateTime::default(),
            mode: 0,
            symlink_target: None,
        };
        Arc::new(Walk { entries: (0..n).map(e).collect(), ..Walk::default() })
    }

    #[test]
    fn the_cache_stays_within_its_bytes() {
        let c = ListingCache::new(Duration::from_secs(60), 10_000);
        let key = |i: u8| (Uuid::nil(), "w".to_string(), i.to_string(), true);
        for i in 0..20 {
            c.put(key(i), walk(30));
        }
        assert!(c.walks.weight() <= 10_000 && c.get(&key(19)).is_some(), "{}", c.walks.weight());
        assert!(c.get(&key(0)).is_none(), "the oldest went");
        c.put(key(99), walk(1000));
        assert!(c.get(&key(99)).is_none(), "a walk bigger than the cache is not kept");
    }
}
