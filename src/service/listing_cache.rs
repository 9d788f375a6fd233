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

/// How long later pages may reuse a walk.
const TTL: Duration = Duration::from_secs(15);
/// Walks kept at most.
const CAPACITY: usize = 32;

/// Identifies one listing: sandbox, source, directory, recursion.
pub type ListingKey = (Uuid, String, String, bool);

/// The cache itself, shared by all requests of an instance.
#[derive(Default)]
pub struct ListingCache {
    walks: Mutex<HashMap<ListingKey, (Instant, Arc<Walk>)>>,
}

impl ListingCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ListingKey, (Instant, Arc<Walk>)>> {
        self.walks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh cached walk, if any.
    pub fn get(&self, key: &ListingKey) -> Option<Arc<Walk>> {
        self.lock().get(key).filter(|(at, _)| at.elapsed() < TTL).map(|(_, w)| w.clone())
    }

    /// Remembers a walk, evicting the oldest when full.
    pub fn put(&self, key: ListingKey, walk: Arc<Walk>) {
        let mut map = self.lock();
        map.retain(|_, (at, _)| at.elapsed() < TTL);
        if map.len() >= CAPACITY
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
