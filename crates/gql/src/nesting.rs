//! A look at a document's text before the parser sees it: how deeply its brackets nest.
//!
//! The parser (pest, recursive descent) recurses once per `{`, `[` or `(` and only checks
//! its own depth limit after building the tree, so a few hundred kilobytes of `{a{a{a…`
//! would exhaust a thread's stack inside it. This scan is a loop over the bytes that
//! skips strings, block strings and comments, so it cannot be fooled by brackets inside
//! them, and refuses a document whose brackets nest deeper than the limit.

use crate::error::{AppError, reasons};

/// Refuses `text` when its brackets nest deeper than `max`.
pub fn check(text: &str, max: usize) -> Result<(), AppError> {
    let deepest = deepest(text.as_bytes(), max);
    if deepest > max {
        return Err(AppError::bad_input_because(
            reasons::QUERY_TOO_DEEP,
            format!("the document nests deeper than `limits.maxRecursiveDepth` ({max}) allows"),
        ));
    }
    Ok(())
}

/// The deepest bracket nesting of `b`, stopping once it passes `stop`.
fn deepest(b: &[u8], stop: usize) -> usize {
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped triple quote inside a block string.
                    i += if b[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > stop {
                    return deepest;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_brackets_outside_strings_and_comments() {
        assert_eq!(deepest(b"{ a { b(x: [1, {c: 2}]) } }", 100), 5);
        assert_eq!(deepest(b"{ a(s: \"{{{{{{\") }", 100), 2);
        assert_eq!(deepest(b"{ a(s: \"\\\"{{{{\") }", 100), 2, "an escaped quote does not end the string");
        assert_eq!(deepest(b"{ a(s: \"\"\"{{{ \\\"\"\" {{{\"\"\") }", 100), 2, "block strings");
        assert_eq!(deepest(b"# {{{{{{\n{ a }", 100), 1, "comments");
        assert_eq!(deepest(b"}}}}{", 100), 1, "stray closers do not go below zero");
    }

    #[test]
    fn refuses_deep_documents_without_walking_them_all() {
        let deep = "{a".repeat(1_000_000);
        assert!(check(&deep, 64).is_err());
        assert_eq!(deepest(deep.as_bytes(), 64), 65, "stops at the first bracket past the limit");
        assert!(check("{ viewer { id } }", 64).is_ok());
        assert!(check("", 64).is_ok());
        assert!(check("\"unterminated", 64).is_ok(), "left to the parser to refuse");
    }
}
