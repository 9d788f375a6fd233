//! Content types by content, close to what `file --mime-type` says.

use crate::backend::files::FileKind;

/// Bytes of a file looked at to decide its type.
pub const SNIFF_BYTES: u64 = 8192;

/// The MIME type of an entry, from its kind, size and first bytes.
pub fn sniff(kind: FileKind, size: u64, head: &[u8]) -> &'static str {
    match kind {
        FileKind::Directory => return "inode/directory",
        FileKind::Symlink => return "inode/symlink",
        FileKind::Other => return "inode/x-special",
        FileKind::File if size == 0 => return "inode/x-empty",
        FileKind::File => {}
    }
    // Scripts first: `infer` calls every `#!` file a shell script.
    if head.starts_with(b"#!") && is_text(head, size) {
        let line = head.split(|b| *b == b'\n').next().unwrap_or(head);
        let line = String::from_utf8_lossy(line);
        if line.contains("python") {
            return "text/x-script.python";
        }
        if line.ends_with("sh") || line.contains("bash") || line.contains("/sh ") {
            return "text/x-shellscript";
        }
    }
    if let Some(t) = infer::get(head) {
        return t.mime_type();
    }
    if !is_text(head, size) {
        return "application/octet-stream";
    }
    let start = head.iter().position(|b| !b.is_ascii_whitespace()).map(|i| &head[i..]).unwrap_or(head);
    let lower: Vec<u8> = start.iter().take(64).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
        return "text/html";
    }
    if (start.starts_with(b"{") || start.starts_with(b"["))
        && size == head.len() as u64
        && serde_json::from_slice::<serde_json::Value>(head).is_ok()
    {
        return "application/json";
    }
    "text/plain"
}

/// Text is valid UTF-8 (a character cut at the end of a prefix is fine) without NUL or
/// most control characters.
pub fn is_text(head: &[u8], size: u64) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A prefix may end inside a character.
        Err(e) => e.error_len().is_none() && size > head.len() as u64,
    };
    valid && !head.iter().any(|&b| b == 0 || (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c | 0x1b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_content() {
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d];
        assert_eq!(sniff(FileKind::File, 100, &png), "image/png");
        assert_eq!(sniff(FileKind::File, 5, b"hello"), "text/plain");
        assert_eq!(sniff(FileKind::File, 9, b"{\"a\": 1}\n"), "application/json");
        assert_eq!(sniff(FileKind::File, 20, b"#!/usr/bin/env python\n"), "text/x-script.python");
        assert_eq!(sniff(FileKind::File, 3, &[0, 1, 2]), "application/octet-stream");
        assert_eq!(sniff(FileKind::File, 0, b""), "inode/x-empty");
        assert_eq!(sniff(FileKind::Directory, 0, b""), "inode/directory");
    }

    #[test]
    fn a_prefix_cut_inside_a_character_is_still_text() {
        let s = "héllo".as_bytes();
        assert!(is_text(&s[..2], 6));
        assert!(!is_text(&s[..2], 2));
    }
}
