//! Persisted queries. Apollo's automatic persisted queries (APQ): a client sends only the
//! SHA-256 of a query it sent before (`extensions.persistedQuery.sha256Hash`), saving the
//! text on every request; an unknown hash answers `PERSISTED_QUERY_NOT_FOUND` and the
//! client sends hash and text once more. Trusted documents (`--trusted-documents FILE`):
//! only the documents listed run, by hash or by identical text; anything else answers
//! `UNTRUSTED_DOCUMENT`, so a locked-down deployment executes nothing it did not ship.

use std::collections::HashMap;

use async_graphql::{Request, Value};
use sha2::{Digest, Sha256};

use crate::{cache::Bounded, error::AppError};

/// Lowercase hex SHA-256 of a document's text.
pub fn hash(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

/// The hash a request names, if it names one.
fn named_hash(request: &Request) -> Option<String> {
    let Some(Value::Object(pq)) = request.extensions.get("persistedQuery") else { return None };
    match pq.get("sha256Hash") {
        Some(Value::String(h)) => Some(h.to_ascii_lowercase()),
        _ => None,
    }
}

/// Reads a trusted-documents file: `{"<sha256>": "<query>", …}` (graphql-codegen's
/// persisted documents) or Apollo's manifest `{"operations": [{"id", "body"}, …]}`. Every
/// key must be the SHA-256 of its text, so a typo cannot trust a different document.
pub fn load_trusted(text: &str) -> anyhow::Result<HashMap<String, String>> {
    let v: serde_json::Value = serde_json::from_str(text)?;
    let pairs: Vec<(String, String)> = match v.get("operations").and_then(|o| o.as_array()) {
        Some(ops) => ops
            .iter()
            .map(|o| Ok((o["id"].as_str().unwrap_or("").to_string(), o["body"].as_str().unwrap_or("").to_string())))
            .collect::<anyhow::Result<_>>()?,
        None => v
            .as_object()
            .ok_or_else(|| anyhow::anyhow!("expected an object of hash → document"))?
            .iter()
            .map(|(k, d)| (k.clone(), d.as_str().unwrap_or("").to_string()))
            .collect(),
    };
    let mut out = HashMap::new();
    for (id, body) in pairs {
        anyhow::ensure!(!body.is_empty(), "trusted document {id} has no text");
        anyhow::ensure!(id.eq_ignore_ascii_case(&hash(&body)), "trusted document {id} is not the SHA-256 of its text");
        out.insert(id.to_ascii_lowercase(), body);
    }
    Ok(out)
}

/// What the server knows of documents by hash.
pub struct Persisted {
    apq: Bounded<String, std::sync::Arc<str>>,
    max_query_bytes: usize,
    trusted: Option<HashMap<String, String>>,
}

impl Persisted {
    /// Up to `capacity` APQ documents of at most `max_query_bytes`; with `trusted`, only
    /// those run.
    pub fn new(capacity: usize, max_query_bytes: usize, trusted: Option<HashMap<String, String>>) -> Self {
        Self { apq: Bounded::by_count(capacity, None), max_query_bytes, trusted }
    }

    /// Fills in the request's text from its hash, remembers a new hash, or refuses.
    pub fn resolve(&self, request: &mut Request) -> Result<(), AppError> {
        let named = named_hash(request);
        if let Some(trusted) = &self.trusted {
            let key = match (&named, request.query.is_empty()) {
                (Some(h), _) => h.clone(),
                (None, false) => hash(&request.query),
                (None, true) => return Err(AppError::UntrustedDocument),
            };
            let body = trusted.get(&key).ok_or(AppError::UntrustedDocument)?;
            if !request.query.is_empty() && request.query != *body {
                return Err(AppError::UntrustedDocument);
            }
            request.query = body.clone();
            return Ok(());
        }
        let Some(h) = named else { return Ok(()) };
        if request.query.is_empty() {
            request.query = self.apq.get(&h).ok_or(AppError::PersistedQueryNotFound)?.to_string();
            return Ok(());
        }
        if hash(&request.query) != h {
            return Err(AppError::bad_input("persistedQuery.sha256Hash is not the SHA-256 of the query"));
        }
        if request.query.len() <= self.max_query_bytes {
            self.apq.insert(h, request.query.as_str().into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_hash(query: &str, h: &str) -> Request {
        let mut r = Request::new(query);
        let pq = serde_json::json!({"version": 1, "sha256Hash": h});
        r.extensions.insert("persistedQuery".into(), Value::from_json(pq).unwrap());
        r
    }

    #[test]
    fn apq_registers_then_serves_by_hash() {
        let p = Persisted::new(10, 1000, None);
        let q = "{ viewer { id } }";
        let mut by_hash = with_hash("", &hash(q));
        assert!(matches!(p.resolve(&mut by_hash), Err(AppError::PersistedQueryNotFound)));
        assert!(p.resolve(&mut with_hash(q, &hash(q))).is_ok());
        let mut again = with_hash("", &hash(q));
        p.resolve(&mut again).unwrap();
        assert_eq!(again.query, q);
        assert!(p.resolve(&mut with_hash(q, &hash("other"))).is_err(), "a wrong hash is refused");
    }

    #[test]
    fn trusted_mode_runs_listed_documents_only() {
        let q = "{ viewer { id } }";
        let list = load_trusted(&serde_json::json!({ hash(q): q }).to_string()).unwrap();
        let p = Persisted::new(10, 1000, Some(list));
        let mut by_hash = with_hash("", &hash(q));
        p.resolve(&mut by_hash).unwrap();
        assert_eq!(by_hash.query, q);
        assert!(p.resolve(&mut Request::new(q)).is_ok(), "the listed text itself");
        assert!(matches!(
            p.resolve(&mut Request::new("{ __schema { types { name } } }")),
            Err(AppError::UntrustedDocument)
        ));
        assert!(load_trusted(r#"{"abc": "{ a }"}"#).is_err(), "keys must be the hash of their text");
    }
}
