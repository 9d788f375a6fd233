//! Every query document goes through here before validation and execution: its text is
//! looked up (persisted queries), bounded in size and bracket depth, parsed and measured
//! ([`shape`](super::shape)) off the async runtime, and the verdict remembered.
//!
//! Clients send the same few documents over and over, so a document is parsed and
//! measured once per instance: a refused one is remembered as refused, and repeating it
//! costs a lookup. Parsing and measuring run on their own small thread pool, so a big or
//! hostile document never holds up a runtime thread; a caller that goes away (client gone,
//! request timed out) lets its job stop.

use std::sync::Arc;

use async_graphql::{Request, parser::types::ExecutableDocument};

use super::{nesting, persisted::Persisted, shape};
use crate::{
    cache::Bounded,
    error::{AppError, reasons},
    work::CpuPool,
};

/// Why a document was refused, kept so a repeat is refused the same way at once.
#[derive(Debug, Clone)]
struct Refusal {
    reason: &'static str,
    message: String,
}

impl Refusal {
    fn to_error(&self) -> AppError {
        AppError::bad_input_because(self.reason, self.message.clone())
    }

    fn of(e: AppError) -> Self {
        let reason = e.reason().unwrap_or(reasons::SYNTAX_ERROR);
        Refusal { reason, message: e.public_message() }
    }
}

/// A parsed and measured document, or why it may not run.
type Verdict = Arc<Result<(ExecutableDocument, shape::Shape), Refusal>>;

/// What a document must stay within, from `Limits`.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    /// Longest document text, in bytes.
    pub max_bytes: usize,
    /// Deepest bracket nesting of the text.
    pub max_nesting: usize,
    /// The shape's bounds.
    pub shape: shape::Bounds,
    /// Documents remembered.
    pub cache_entries: usize,
    /// Longest text remembered.
    pub cache_max_bytes: usize,
    /// Errors one response carries at most.
    pub max_errors: usize,
}

impl DocumentLimits {
    /// The limits of the configuration.
    pub fn from_limits(l: &crate::config::Limits) -> Self {
        Self {
            max_bytes: l.requests.max_document_bytes,
            max_nesting: l.max_recursive_depth,
            shape: shape::Bounds {
                max_nodes: l.requests.max_expanded_nodes,
                max_depth: u32::try_from(l.max_query_depth).unwrap_or(u32::MAX),
                max_nesting: u32::try_from(l.max_recursive_depth).unwrap_or(u32::MAX),
                max_arguments: l.requests.max_arguments,
                max_variables: l.requests.max_variables,
            },
            cache_entries: l.query_cache_entries as usize,
            cache_max_bytes: l.query_cache_max_bytes as usize,
            max_errors: l.requests.max_response_errors.max(1),
        }
    }
}

/// Documents by text, parsed and measured once, and persisted ones by hash.
pub struct DocumentCache {
    docs: Bounded<Arc<str>, Verdict>,
    limits: DocumentLimits,
    persisted: Persisted,
    pool: CpuPool,
}

/// Parses and measures a document's text: the work [`DocumentCache`] does off the runtime.
fn judge(text: &str, limits: &DocumentLimits) -> Result<(ExecutableDocument, shape::Shape), Refusal> {
    nesting::check(text, limits.max_nesting).map_err(Refusal::of)?;
    let doc = async_graphql::parser::parse_query(text)
        .map_err(|e| Refusal { reason: reasons::SYNTAX_ERROR, message: syntax_message(&e) })?;
    let shape = shape::measure(&doc, &limits.shape).map_err(Refusal::of)?;
    Ok((doc, shape))
}

/// A parser error in one line: where, and what was expected (pest's multi-line picture
/// of the source is left out).
fn syntax_message(e: &async_graphql::parser::Error) -> String {
    use async_graphql::parser::Error;
    let at = e.positions().next().map(|p| format!(" at line {}, column {}", p.line, p.column)).unwrap_or_default();
    let what = match e {
        Error::Syntax { message, .. } => message
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("= "))
            .map(str::to_string)
            .unwrap_or_else(|| "unexpected input".to_string()),
        other => other.to_string(),
    };
    format!("syntax error{at}: {what}")
}

impl DocumentCache {
    /// A cache within `limits` (with `trusted`, only those documents run), parsing on
    /// `pool`.
    pub fn new(
        limits: DocumentLimits,
        trusted: Option<std::collections::HashMap<String, String>>,
        pool: CpuPool,
    ) -> Self {
        let persisted = Persisted::new(limits.cache_entries, limits.cache_max_bytes, trusted);
        let docs = Bounded::by_count(limits.cache_entries, None);
        Self { docs, limits, persisted, pool }
    }

    /// The limits documents are held to.
    pub fn limits(&self) -> &DocumentLimits {
        &self.limits
    }

    /// Resolves a persisted query's text (or refuses it), then gives the request its
    /// parsed document, or refuses a document that does not parse or is outside the
    /// bounds. Work is done once per distinct text. Returns the document's shape.
    pub async fn prepare(&self, request: &mut Request) -> Result<shape::Shape, AppError> {
        self.persisted.resolve(request)?;
        let max = self.limits.max_bytes;
        if request.query.len() > max {
            return Err(AppError::bad_input_because(
                reasons::DOCUMENT_TOO_LARGE,
                format!("the document is longer than {max} bytes (limits.maxDocumentBytes)"),
            ));
        }
        let verdict = match self.docs.get(request.query.as_str()) {
            Some(v) => v,
            None => {
                let text: Arc<str> = Arc::from(request.query.as_str());
                let (job_text, limits) = (text.clone(), self.limits);
                let verdict: Verdict = Arc::new(self.pool.run(move |_| Ok(judge(&job_text, &limits))).await?);
                if text.len() <= self.limits.cache_max_bytes && self.limits.cache_entries > 0 {
                    self.docs.insert(text, verdict.clone());
                }
                verdict
            }
        };
        match verdict.as_ref() {
            Ok((doc, shape)) => {
                request.set_parsed_query(doc.clone());
                Ok(*shape)
            }
            Err(refusal) => Err(refusal.to_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> DocumentLimits {
        DocumentLimits::from_limits(&crate::config::Limits::from_env().unwrap())
    }

    fn prepared(cache: &DocumentCache, q: &str) -> Result<shape::Shape, AppError> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(cache.prepare(&mut Request::new(q)))
    }

    #[test]
    fn documents_are_judged_once_and_refusals_remembered() {
        let cache = DocumentCache::new(limits(), None, CpuPool::new(1, 0));
        prepared(&cache, "{ a }").unwrap();
        assert_eq!(cache.docs.len(), 1);
        prepared(&cache, "{ a }").unwrap();
        assert_eq!(cache.docs.len(), 1);
        let e = prepared(&cache, "{ a ").unwrap_err();
        assert_eq!(e.reason(), Some(reasons::SYNTAX_ERROR));
        assert!(e.public_message().starts_with("syntax error at line 1, column 5: expected"), "{}", e.public_message());
        assert!(!e.public_message().contains('\n'));
        assert_eq!(cache.docs.len(), 2, "the refusal is remembered");
        let long = format!("{{ a }} # {}", "x".repeat(20_000));
        prepared(&cache, &long).unwrap();
        assert_eq!(cache.docs.len(), 2, "long documents are not kept");
    }

    #[test]
    fn oversized_and_deep_documents_are_refused_before_parsing() {
        let cache = DocumentCache::new(limits(), None, CpuPool::new(1, 0));
        let big = format!("{{ a }} #{}", "x".repeat(limits().max_bytes));
        assert_eq!(prepared(&cache, &big).unwrap_err().reason(), Some(reasons::DOCUMENT_TOO_LARGE));
        let deep = "{a".repeat(100_000);
        assert_eq!(prepared(&cache, &deep).unwrap_err().reason(), Some(reasons::QUERY_TOO_DEEP));
    }
}
