//! Reads the usage out of an Anthropic response as it streams past, without holding it:
//! for server-sent events only the `message_start` and `message_delta` lines are parsed
//! (other lines are skipped as they go, whatever their length); a JSON answer is kept up
//! to a bound and its `usage` read at the end.

use serde_json::Value;

use crate::service::billing::pricing::Tokens;

/// What a response said it used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// The answering model.
    pub model: Option<String>,
    /// Token counts (cumulative, as the API reports them).
    pub tokens: Tokens,
    /// Whether any usage figure was seen at all.
    pub any: bool,
}

/// Incremental usage reader of one response body.
pub struct UsageTap {
    sse: bool,
    line: Vec<u8>,
    skipping: bool,
    json: Vec<u8>,
    json_cap: usize,
    /// What has been seen so far.
    pub seen: Seen,
}

fn num(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

impl Seen {
    /// Takes the figures of a `usage` object (later ones override: they are cumulative).
    fn usage(&mut self, u: &Value) {
        if !u.is_object() {
            return;
        }
        self.any = true;
        let t = &mut self.tokens;
        t.input = num(u, "input_tokens").unwrap_or(t.input);
        t.output = num(u, "output_tokens").unwrap_or(t.output);
        t.cache_creation = num(u, "cache_creation_input_tokens").unwrap_or(t.cache_creation);
        t.cache_read = num(u, "cache_read_input_tokens").unwrap_or(t.cache_read);
    }

    fn model(&mut self, m: &Value) {
        if let Some(m) = m.as_str() {
            self.model = Some(m.chars().take(200).collect());
        }
    }
}

impl UsageTap {
    /// A tap for a body of the given content type; JSON bodies, and lines of event
    /// streams, are kept up to `json_cap` (longer lines, big content deltas, are skipped).
    pub fn new(content_type: &str, json_cap: usize) -> Self {
        let sse = content_type.starts_with("text/event-stream");
        Self { sse, line: Vec::new(), skipping: false, json: Vec::new(), json_cap, seen: Seen::default() }
    }

    /// Feeds the next chunk of the body.
    pub fn feed(&mut self, chunk: &[u8]) {
        if !self.sse {
            if self.json.len() + chunk.len() <= self.json_cap {
                self.json.extend_from_slice(chunk);
            } else {
                self.json_cap = 0;
                self.json = Vec::new();
            }
            return;
        }
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            self.take(&rest[..pos]);
            self.finish_line();
            rest = &rest[pos + 1..];
        }
        self.take(rest);
    }

    fn take(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        if self.line.len() + bytes.len() > self.json_cap {
            self.skipping = true;
            self.line.clear();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn finish_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.skipping = false;
        let Some(data) = line.strip_prefix(b"data:") else { return };
        // Cheap test first: only two event types carry usage.
        let wanted = |needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
        if !wanted(b"\"message_start\"") && !wanted(b"\"message_delta\"") {
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(data) else { return };
        match v["type"].as_str() {
            Some("message_start") => {
                self.seen.model(&v["message"]["model"]);
                self.seen.usage(&v["message"]["usage"]);
            }
            Some("message_delta") => self.seen.usage(&v["usage"]),
            _ => {}
        }
    }

    /// The body ended: reads a JSON answer's usage.
    pub fn finish(mut self) -> Seen {
        if self.sse {
            self.finish_line();
        } else if let Ok(v) = serde_json::from_slice::<Value>(&self.json) {
            self.seen.model(&v["model"]);
            self.seen.usage(&v["usage"]);
        }
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSE: &str = "event: message_start\n\
data: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":3,\"cache_read_input_tokens\":40,\"output_tokens\":1}}}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"hi \\\"message_delta\\\"\"}}\n\n\
event: message_delta\n\
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":27}}\n\n";

    fn expected() -> Seen {
        Seen {
            model: Some("claude-x".into()),
            tokens: Tokens { input: 12, output: 27, cache_creation: 3, cache_read: 40 },
            any: true,
        }
    }

    #[test]
    fn sse_usage_is_read_whatever_the_chunking() {
        for size in [1, 2, 7, 64, SSE.len()] {
            let mut tap = UsageTap::new("text/event-stream; charset=utf-8", 1 << 20);
            for chunk in SSE.as_bytes().chunks(size) {
                tap.feed(chunk);
            }
            assert_eq!(tap.finish(), expected(), "chunks of {size}");
        }
    }

    #[test]
    fn json_usage_is_read_at_the_end_and_oversized_bodies_are_dropped() {
        let body = r#"{"model":"claude-x","usage":{"input_tokens":12,"output_tokens":27,"cache_creation_input_tokens":3,"cache_read_input_tokens":40}}"#;
        let mut tap = UsageTap::new("application/json", 1 << 20);
        tap.feed(body.as_bytes());
        assert_eq!(tap.finish(), expected());
        let mut small = UsageTap::new("application/json", 10);
        small.feed(body.as_bytes());
        assert!(!small.finish().any);
    }

    #[test]
    fn huge_lines_are_skipped_not_kept() {
        let mut tap = UsageTap::new("text/event-stream", 64 * 1024);
        tap.feed(b"data: ");
        for _ in 0..1000 {
            tap.feed(&[b'x'; 1024]);
        }
        assert!(tap.line.len() <= 64 * 1024);
        tap.feed(b"\n");
        tap.feed(SSE.as_bytes());
        assert_eq!(tap.finish(), expected());
    }
}
