//! The one bounded cache of the server, over `quick_cache` (CLOCK-Pro eviction, sharded,
//! bounded by entries or by weight): parsed documents, APQ texts, resolved tokens, rate
//! buckets, directory walks and snapshot manifests all live in one of these, so every
//! cache has the same eviction policy and memory bounded by configuration, never by data.
//!
//! Entries may carry a deadline (a TTL for the cache, or one per entry): an expired entry
//! is never returned and goes on its next lookup. Values pushed out by an insertion are
//! handed back to the caller, who may drop big ones off the async runtime.

use std::{
    hash::Hash,
    time::{Duration, Instant},
};

use quick_cache::{DefaultHashBuilder, Equivalent, Lifecycle, Weighter, sync::Cache};

/// A value with its weight and the moment it stops being valid.
#[derive(Clone)]
struct Entry<V> {
    value: V,
    weight: u64,
    until: Option<Instant>,
}

#[derive(Clone)]
struct ByWeight;

impl<K, V> Weighter<K, Entry<V>> for ByWeight {
    fn weight(&self, _key: &K, entry: &Entry<V>) -> u64 {
        entry.weight
    }
}

/// Collects what an insertion evicts, for the caller to drop where it likes.
#[derive(Clone, Default)]
struct Collect;

impl<K, V> Lifecycle<K, Entry<V>> for Collect {
    type RequestState = Vec<V>;

    fn on_evict(&self, state: &mut Vec<V>, _key: K, entry: Entry<V>) {
        state.push(entry.value);
    }
}

/// A bounded map of recent values.
pub struct Bounded<K, V> {
    inner: Cache<K, Entry<V>, ByWeight, DefaultHashBuilder, Collect>,
    ttl: Option<Duration>,
}

impl<K: Eq + Hash + Clone, V: Clone> Bounded<K, V> {
    /// At most `entries` values, each kept at most `ttl` (None: until evicted).
    pub fn by_count(entries: usize, ttl: Option<Duration>) -> Self {
        let n = entries.max(1);
        Self { inner: Cache::with(n, n as u64, ByWeight, DefaultHashBuilder::default(), Collect), ttl }
    }

    /// Values whose weights (see [`insert_weighted`](Self::insert_weighted)) add up to at
    /// most `capacity`, about `estimated_items` of them, each kept at most `ttl`.
    pub fn by_weight(capacity: u64, estimated_items: usize, ttl: Option<Duration>) -> Self {
        let inner =
            Cache::with(estimated_items.max(1), capacity.max(1), ByWeight, DefaultHashBuilder::default(), Collect);
        Self { inner, ttl }
    }

    /// The value of `key`, if present and not expired.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let entry = self.inner.get(key)?;
        if entry.until.is_some_and(|u| Instant::now() >= u) {
            self.inner.remove(key);
            return None;
        }
        Some(entry.value)
    }

    /// Remembers `value` (weight 1) for the cache's TTL; returns what it pushed out.
    pub fn insert(&self, key: K, value: V) -> Vec<V> {
        self.insert_entry(key, value, 1, None)
    }

    /// Remembers `value` of `weight` (a value heavier than the whole cache is not kept).
    pub fn insert_weighted(&self, key: K, value: V, weight: u64) -> Vec<V> {
        self.insert_entry(key, value, weight, None)
    }

    /// Remembers `value` until `until` at the latest (and the cache's TTL).
    pub fn insert_until(&self, key: K, value: V, until: Instant) -> Vec<V> {
        self.insert_entry(key, value, 1, Some(until))
    }

    fn insert_entry(&self, key: K, value: V, weight: u64, until: Option<Instant>) -> Vec<V> {
        let by_ttl = self.ttl.map(|t| Instant::now() + t);
        let until = match (until, by_ttl) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut evicted = Vec::new();
        self.inner.insert_with_lifecycle(key, Entry { value, weight: weight.max(1), until }, &mut evicted);
        evicted
    }

    /// Forgets `key`.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.inner.remove(key).map(|(_, e)| e.value)
    }

    /// Keeps only the entries `keep` says yes to.
    pub fn retain(&self, keep: impl Fn(&K, &V) -> bool) {
        self.inner.retain(|k, e| keep(k, &e.value));
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.inner.clear();
    }

    /// Entries held now (expired ones included until they are looked up or evicted).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// The total weight held now.
    pub fn weight(&self) -> u64 {
        self.inner.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_count_and_by_weight_and_expired_entries_are_not_returned() {
        let c: Bounded<u32, u32> = Bounded::by_count(10, None);
        for i in 0..1000 {
            c.insert(i, i);
        }
        assert!(c.len() <= 10, "{}", c.len());
        let w: Bounded<u32, Vec<u8>> = Bounded::by_weight(1000, 10, None);
        let mut out = 0;
        for i in 0..100 {
            out += w.insert_weighted(i, vec![0; 100], 100).len();
        }
        assert!(w.weight() <= 1000 && out >= 90, "{} {out}", w.weight());
        assert!(w.get(&99).is_some(), "the newest is kept");
        assert!(w.insert_weighted(999, vec![], 5000).len() <= 1, "too heavy is not kept");
        assert!(w.get(&999).is_none());
        let t: Bounded<&str, u8> = Bounded::by_count(10, Some(Duration::from_millis(30)));
        t.insert("a", 1);
        t.insert_until("b", 2, Instant::now());
        assert_eq!(t.get("a"), Some(1));
        assert_eq!(t.get("b"), None, "its own deadline passed");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(t.get("a"), None, "the cache's ttl passed");
    }
}
