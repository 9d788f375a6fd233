//! Recent directory walks, so paging through a large listing walks the tree once.
//!
//! The first page (`offset: 0`) always walks afresh and caches the result; later pages of
//! the same listing reuse it for a few seconds. A write through the API drops the
//! sandbox's cached listings at once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use uuid::Uuid;

use crate::backend::files::Walk;

/// Identifies one listing: sandbox, source, directory, recursion.
pub type ListingKey = (Uuid, String, String, bool);

/// Rough bytes a walk takes in memory.
fn weight(walk: &Walk) -> usize {
    walk.entries.iter().map(|e| 96 + e.path.as_str().len() + e.symlink_target.as_ref().map_or(0, String::len)).sum()
}

/// A cached walk: when it was taken, its weight in bytes, the walk.
type Cached = (Instant, usize, Arc<Walk>);

/// The cache itself, shared by all requests of an instance, bounded in bytes.
pub struct ListingCache {
    walks: Mutex<HashMap<ListingKey, Cached>>,
    ttl: Duration,
    capacity_bytes: usize,
}

impl ListingCache {
    /// A cache keeping walks for `ttl` each, at most `capacity_bytes` of them.
    pub fn new(ttl: Duration, capacity_bytes: usize) -> Self {
        Self { walks: Mutex::default(), ttl, capacity_bytes }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ListingKey, Cached>> {
        self.walks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh cached walk, if any.
    pub fn get(&self, key: &ListingKey) -> Option<Arc<Walk>> {
        let ttl = self.ttl;
        self.lock().get(key).filter(|(at, _, _)| at.elapsed() < ttl).map(|(_, _, w)| w.clone())
    }

    /// Remembers a walk, dropping expired ones and then the oldest until it fits. A walk
    /// larger than the whole cache is not kept.
    pub fn put(&self, key: ListingKey, walk: Arc<Walk>) {
        let w = weight(&walk);
        // What leaves the cache is freed after the lock, off the runtime (see drop_off_runtime).
        let mut gone: Vec<Arc<Walk>> = Vec::new();
        {
            let mut map = self.lock();
            let ttl = self.ttl;
            let expired: Vec<ListingKey> =
                map.iter().filter(|(_, (at, _, _))| at.elapsed() >= ttl).map(|(k, _)| k.clone()).collect();
            gone.extend(expired.iter().filter_map(|k| map.remove(k)).map(|(_, _, old)| old));
            if w > self.capacity_bytes {
                gone.push(walk);
            } else {
                let mut used: usize = map.values().map(|(_, w, _)| *w).sum();
                while used + w > self.capacity_bytes {
                    let Some(oldest) = map.iter().min_by_key(|(_, (at, _, _))| *at).map(|(k, _)| k.clone()) else {
                        break;
                    };
                    if let Some((_, size, old)) = map.remove(&oldest) {
                        used -= size;
                        gone.push(old);
                    }
                }
                if let Some((_, _, old)) = map.insert(key, (Instant::now(), w, walk)) {
                    gone.push(old);
                }
            }
        }
        if !gone.is_empty() {
            crate::work::drop_off_runtime(gone);
        }
    }

    /// Forgets every listing of a sandbox (after a write).
    pub fn invalidate(&self, sandbox_id: Uuid) {
        let gone: Vec<Cached> = {
            let mut map = self.lock();
            let keys: Vec<ListingKey> = map.keys().filter(|k| k.0 == sandbox_id).cloned().collect();
            keys.iter().filter_map(|k| map.remove(k)).collect()
        };
        if !gone.is_empty() {
            crate::work::drop_off_runtime(gone);
        }
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
        let used: usize = c.lock().values().map(|(_, w, _)| *w).sum();
        assert!(used <= 10_000 && c.get(&key(19)).is_some() && c.get(&key(0)).is_none());
        c.put(key(99), walk(1000));
        assert!(c.get(&key(99)).is_none(), "a walk bigger than the cache is not kept");
    }
}
