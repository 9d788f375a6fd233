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

/// The cache itself, shared by all requests of an instance.
pub struct ListingCache {
    walks: Mutex<HashMap<ListingKey, (Instant, Arc<Walk>)>>,
    ttl: Duration,
    capacity: usize,
}

impl ListingCache {
    /// A cache keeping up to `capacity` walks for `ttl` each.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { walks: Mutex::default(), ttl, capacity }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ListingKey, (Instant, Arc<Walk>)>> {
        self.walks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh cached walk, if any.
    pub fn get(&self, key: &ListingKey) -> Option<Arc<Walk>> {
        let ttl = self.ttl;
        self.lock().get(key).filter(|(at, _)| at.elapsed() < ttl).map(|(_, w)| w.clone())
    }

    /// Remembers a walk, evicting the oldest when full.
    pub fn put(&self, key: ListingKey, walk: Arc<Walk>) {
        let mut map = self.lock();
        let ttl = self.ttl;
        map.retain(|_, (at, _)| at.elapsed() < ttl);
        if self.capacity == 0 {
            return;
        }
        if map.len() >= self.capacity
            && let Some(oldest) = map.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(key, (Instant::now(), walk));
    }

    /// Forgets every listing of a sandbox (after a write).
    pub fn invalidate(&self, sandbox_id: Uuid) {
        self.lock().retain(|k, _| k.0 != sandbox_id);
    }
}
