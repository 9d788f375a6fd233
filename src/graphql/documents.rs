//! Recently seen query documents, parsed once: clients send the same few queries over and
//! over, and parsing is the one step of execution that depends only on the text.
//!
//! Bounded by entries and by the length of a query kept; persisted queries (APQ, trusted
//! documents) build on the same cache.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::{Request, parser::types::ExecutableDocument};

use super::persisted::Persisted;
use crate::error::AppError;

/// Parsed documents by query text, and persisted ones by hash.
pub struct DocumentCache {
    docs: Mutex<HashMap<Arc<str>, ExecutableDocument>>,
    capacity: usize,
    max_query_bytes: usize,
    persisted: Persisted,
}

impl DocumentCache {
    /// A cache of up to `capacity` documents whose text is at most `max_query_bytes` long;
    /// with `trusted`, only those documents run.
    pub fn new(capacity: usize, max_query_bytes: usize, trusted: Option<HashMap<String, String>>) -> Self {
        let persisted = Persisted::new(capacity, max_query_bytes, trusted);
        Self { docs: Mutex::default(), capacity, max_query_bytes, persisted }
    }

    /// Resolves a persisted query's text (or refuses it), then gives the request its
    /// parsed document from the cache, or parses it and remembers it. A query that does
    /// not parse is left alone: execution reports the error.
    pub fn prepare(&self, request: &mut Request) -> Result<(), AppError> {
        self.persisted.resolve(request)?;
        self.parse(request);
        Ok(())
    }

    fn parse(&self, request: &mut Request) {
        if request.query.len() > self.max_query_bytes || self.capacity == 0 {
            return;
        }
        let cached = self.docs.lock().unwrap_or_else(|p| p.into_inner()).get(request.query.as_str()).cloned();
        if let Some(doc) = cached {
            request.set_parsed_query(doc);
            return;
        }
        let Ok(doc) = request.parsed_query().cloned() else { return };
        let mut docs = self.docs.lock().unwrap_or_else(|p| p.into_inner());
        if docs.len() >= self.capacity {
            docs.clear();
        }
        docs.insert(Arc::from(request.query.as_str()), doc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_parsed_once_and_bad_ones_are_left_to_execution() {
        let cache = DocumentCache::new(2, 100, None);
        let mut r = Request::new("{ a }");
        cache.prepare(&mut r).unwrap();
        assert_eq!(cache.docs.lock().unwrap().len(), 1);
        let mut again = Request::new("{ a }");
        cache.prepare(&mut again).unwrap();
        assert!(again.parsed_query().is_ok());
        let mut bad = Request::new("{ a ");
        cache.prepare(&mut bad).unwrap();
        assert_eq!(cache.docs.lock().unwrap().len(), 1);
        let mut long = Request::new(format!("{{ {} }}", "a ".repeat(100)));
        cache.prepare(&mut long).unwrap();
        assert_eq!(cache.docs.lock().unwrap().len(), 1, "long queries are not kept");
    }
}
