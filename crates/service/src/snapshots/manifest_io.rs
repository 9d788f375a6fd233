//! Manifests as streams: written line by line to a spool file while a sync runs, and read
//! line by line, so neither side ever holds a whole workspace's manifest in memory.
//!
//! Format 2 is JSON Lines: a header line, then one entry per line, in the walk's display
//! order. Format 1 (one JSON document, written before the second wave) is still read.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use uuid::Uuid;

use crate::snapshots::manifest::{Manifest, ManifestEntry};
use crate::{
    backend::files::MAX_PATH_BYTES,
    error::{AppError, AppResult},
    storage::Upload,
};

/// How every format-2 manifest begins.
const MAGIC: &str = r#"{"format":"sandboxql-manifest","version":2"#;
/// Longest line a format-2 manifest can have: a path and a link target of PATH_MAX each,
/// JSON-escaped, and the other fields.
const LONGEST_LINE: usize = 2 * 6 * MAX_PATH_BYTES + 1024;

/// The first line of a format-2 manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// Always `sandboxql-manifest`.
    pub format: String,
    /// Always 2.
    pub version: u32,
    /// Sandbox it was taken of.
    pub sandbox_id: Uuid,
    /// When taken.
    pub created_at: DateTime<Utc>,
}

struct Spool {
    out: std::io::BufWriter<std::fs::File>,
    hasher: Sha256,
    len: u64,
}

impl Spool {
    fn line(&mut self, value: &impl Serialize) -> AppResult<()> {
        let mut line = serde_json::to_vec(value)?;
        line.push(b'\n');
        self.out.write_all(&line)?;
        self.hasher.update(&line);
        self.len += line.len() as u64;
        Ok(())
    }
}

/// A manifest being written to a temporary file.
pub struct ManifestWriter {
    spool: Option<Spool>,
    path: tempfile::TempPath,
}

/// A finished manifest: the file, its size and its sha256.
pub struct Written {
    /// The spooled file (removed when dropped).
    pub path: tempfile::TempPath,
    /// Bytes.
    pub size: u64,
    /// Hex sha256.
    pub sha256: String,
}

impl ManifestWriter {
    /// Starts a manifest of `sandbox_id` taken at `created_at`.
    pub async fn new(sandbox_id: Uuid, created_at: DateTime<Utc>) -> AppResult<Self> {
        crate::work::blocking(move |_| {
            let (file, path) = tempfile::NamedTempFile::new()?.into_parts();
            let mut spool = Spool { out: std::io::BufWriter::new(file), hasher: Sha256::new(), len: 0 };
            let header = Header { format: "sandboxql-manifest".into(), version: 2, sandbox_id, created_at };
            spool.line(&header)?;
            Ok(Self { spool: Some(spool), path })
        })
        .await
    }

    /// Appends entries (serialised on a blocking thread).
    pub async fn write(&mut self, entries: Vec<ManifestEntry>) -> AppResult<()> {
        let mut spool = self.spool.take().ok_or_else(|| AppError::Internal(anyhow::anyhow!("manifest closed")))?;
        let spool = crate::work::blocking(move |_| {
            for e in &entries {
                spool.line(e)?;
            }
            Ok(spool)
        })
        .await?;
        self.spool = Some(spool);
        Ok(())
    }

    /// Flushes the file and returns it with its size and hash.
    pub async fn finish(mut self) -> AppResult<Written> {
        let mut spool = self.spool.take().ok_or_else(|| AppError::Internal(anyhow::anyhow!("manifest closed")))?;
        let (size, sha256) = crate::work::blocking(move |_| {
            spool.out.flush()?;
            Ok((spool.len, hex::encode(spool.hasher.finalize())))
        })
        .await?;
        Ok(Written { path: self.path, size, sha256 })
    }
}

/// Reads a manifest of either format, entry by entry.
pub struct ManifestReader {
    lines: Option<BufReader<Upload>>,
    legacy: std::vec::IntoIter<ManifestEntry>,
    line: String,
}

impl ManifestReader {
    /// Opens a manifest stream; a format-1 document is read whole (older snapshots only).
    pub async fn open(body: Upload) -> AppResult<Self> {
        let mut body = BufReader::with_capacity(64 * 1024, body);
        let head = body.fill_buf().await?;
        if head.starts_with(MAGIC.as_bytes()) {
            let mut r = Self { lines: Some(body), legacy: Vec::new().into_iter(), line: String::new() };
            r.read_line().await?; // the header
            return Ok(r);
        }
        let mut whole = Vec::new();
        body.read_to_end(&mut whole).await?;
        let manifest: Manifest = crate::work::blocking(move |_| Ok(serde_json::from_slice(&whole)?)).await?;
        Ok(Self { lines: None, legacy: manifest.entries.into_iter(), line: String::new() })
    }

    async fn read_line(&mut self) -> AppResult<bool> {
        let Some(lines) = self.lines.as_mut() else { return Ok(false) };
        self.line.clear();
        let n = lines.take(LONGEST_LINE as u64 + 1).read_line(&mut self.line).await?;
        if n > LONGEST_LINE {
            return Err(AppError::Internal(anyhow::anyhow!("manifest line longer than {LONGEST_LINE} bytes")));
        }
        Ok(n > 0)
    }

    /// The next entry, or None at the end.
    pub async fn next(&mut self) -> AppResult<Option<ManifestEntry>> {
        if self.lines.is_none() {
            return Ok(self.legacy.next());
        }
        if !self.read_line().await? {
            return Ok(None);
        }
        Ok(Some(serde_json::from_str(self.line.trim_end())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> ManifestEntry {
        ManifestEntry {
            path: path.into(),
            kind: "file".into(),
            size: 1,
            mtime_ns: 2,
            mode: 0o644,
            sha256: Some("ab".into()),
            target: None,
        }
    }

    #[tokio::test]
    async fn a_written_manifest_reads_back_entry_by_entry() {
        let mut w = ManifestWriter::new(Uuid::nil(), Utc::now()).await.unwrap();
        w.write(vec![entry("a"), entry("b\nc")]).await.unwrap();
        w.write(vec![entry("d")]).await.unwrap();
        let done = w.finish().await.unwrap();
        let bytes = std::fs::read(&done.path).unwrap();
        assert_eq!(bytes.len() as u64, done.size);
        assert_eq!(hex::encode(Sha256::digest(&bytes)), done.sha256);
        let mut r = ManifestReader::open(Box::pin(std::io::Cursor::new(bytes))).await.unwrap();
        let mut paths = vec![];
        while let Some(e) = r.next().await.unwrap() {
            paths.push(e.path);
        }
        assert_eq!(paths, vec!["a", "b\nc", "d"]);
    }

    #[tokio::test]
    async fn a_format_one_document_still_reads() {
        let m = Manifest { version: 1, sandbox_id: Uuid::nil(), created_at: Utc::now(), entries: vec![entry("x")] };
        let bytes = serde_json::to_vec(&m).unwrap();
        let mut r = ManifestReader::open(Box::pin(std::io::Cursor::new(bytes))).await.unwrap();
        assert_eq!(r.next().await.unwrap().unwrap().path, "x");
        assert!(r.next().await.unwrap().is_none());
    }
}
