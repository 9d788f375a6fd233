//! Files of a sandbox: the validated path type and what listings and reads return.
//!
//! Every path that reaches a backend is a [`WorkspacePath`]: relative, without `..`,
//! NUL or backslashes. Backends still resolve it so that symlinks cannot lead out of the
//! workspace; this type only makes the obviously bad unrepresentable.

use chrono::{DateTime, Utc};

use crate::error::{AppError, AppResult};

/// Longest path accepted, in bytes (Linux PATH_MAX).
pub const MAX_PATH_BYTES: usize = 4096;
/// Longest single name, in bytes (Linux NAME_MAX).
pub const MAX_NAME_BYTES: usize = 255;

/// A path relative to the workspace root, normalised (`a//./b/` → `a/b`); empty is the root.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkspacePath(String);

/// Paths from another instance (the internal channel) are checked like a client's.
impl TryFrom<String> for WorkspacePath {
    type Error = AppError;
    fn try_from(raw: String) -> AppResult<Self> {
        Self::parse(&raw)
    }
}

impl From<WorkspacePath> for String {
    fn from(p: WorkspacePath) -> String {
        p.0
    }
}

impl WorkspacePath {
    /// Validates a client-supplied path; every refusal is BAD_USER_INPUT with the reason.
    pub fn parse(raw: &str) -> AppResult<Self> {
        if raw.len() > MAX_PATH_BYTES {
            return Err(AppError::bad_input(format!("path is longer than {MAX_PATH_BYTES} bytes")));
        }
        if raw.contains('\0') {
            return Err(AppError::bad_input("path must not contain NUL"));
        }
        if raw.contains('\\') {
            return Err(AppError::bad_input("path must use / as separator, not \\"));
        }
        if raw.starts_with('/') {
            return Err(AppError::bad_input("path must be relative to the workspace root, not absolute"));
        }
        let mut parts = Vec::new();
        for part in raw.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(AppError::bad_input("path must not contain `..`")),
                p if p.len() > MAX_NAME_BYTES => {
                    return Err(AppError::bad_input(format!("a path component is longer than {MAX_NAME_BYTES} bytes")));
                }
                p => parts.push(p),
            }
        }
        Ok(Self(parts.join("/")))
    }

    /// The workspace root.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The normalised path (`""` for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Components from the root.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|p| !p.is_empty())
    }

    /// The parent and the last name; None for the root.
    pub fn split_last(&self) -> Option<(WorkspacePath, &str)> {
        if self.is_root() {
            return None;
        }
        match self.0.rsplit_once('/') {
            Some((parent, name)) => Some((WorkspacePath(parent.to_string()), name)),
            None => Some((WorkspacePath::root(), self.0.as_str())),
        }
    }

    /// A child of this path (the name must be one valid component).
    pub fn join(&self, name: &str) -> WorkspacePath {
        if self.is_root() { WorkspacePath(name.to_string()) } else { WorkspacePath(format!("{}/{name}", self.0)) }
    }

    /// Whether `other` is this path or inside it.
    pub fn contains(&self, other: &WorkspacePath) -> bool {
        self.is_root() || other.0 == self.0 || other.0.starts_with(&format!("{}/", self.0))
    }
}

/// What kind of file system object an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (never followed by listings).
    Symlink,
    /// A socket, fifo or device.
    Other,
}

/// One entry of a listing, as `ls -l` / `stat` would describe it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// Path from the workspace root.
    pub path: WorkspacePath,
    /// What it is.
    pub kind: FileKind,
    /// Size in bytes (of the link itself for symlinks).
    pub size: u64,
    /// Last modification.
    pub modified: DateTime<Utc>,
    /// Permission bits (`0o755`…).
    pub mode: u32,
    /// Where a symlink points, as written in the link.
    pub symlink_target: Option<String>,
}

impl FileEntry {
    /// The last path component (empty for the root).
    pub fn name(&self) -> &str {
        self.path.as_str().rsplit('/').next().unwrap_or("")
    }
}

/// How far a walk goes.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct WalkOptions {
    /// Levels below the start directory the caller wants (1 = its direct children only).
    pub max_depth: u32,
    /// Levels the server descends at most whatever the caller wants; directories below
    /// are skipped and counted, never fatal.
    pub depth_cap: u32,
    /// Stop after this many entries and say so.
    pub max_entries: usize,
}

/// Entries under a directory in display order: pre-order, and within each directory
/// subdirectories first, then by name. The start directory itself is not included.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Walk {
    /// The entries.
    pub entries: Vec<FileEntry>,
    /// Whether the walk is incomplete: `max_entries` cut it short or entries were skipped.
    pub truncated: bool,
    /// Entries left out because they lie below the depth cap or their path is too long.
    pub skipped: u64,
}

/// A piece of a streamed walk.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum WalkChunk {
    /// The next entries, in display order.
    Entries(Vec<FileEntry>),
    /// The walk is over.
    Done {
        /// It stopped at `max_entries`: the stream is not the whole tree.
        truncated: bool,
        /// Entries skipped below the depth cap or over PATH_MAX.
        skipped: u64,
    },
}

/// Hashes everything `reader` yields (on a blocking thread): hex sha256 and size. Stops
/// early when `cancel` is set.
pub fn hash_reader(mut reader: impl std::io::Read, cancel: &std::sync::atomic::AtomicBool) -> AppResult<(String, u64)> {
    use sha2::{Digest, Sha256};
    let (mut h, mut buf, mut n) = (Sha256::new(), vec![0u8; 256 * 1024], 0u64);
    loop {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(AppError::Internal(anyhow::anyhow!("hashing abandoned")));
        }
        let read = reader.read(&mut buf)?;
        if read == 0 {
            return Ok((hex::encode(h.finalize()), n));
        }
        h.update(&buf[..read]);
        n += read as u64;
    }
}

/// The start of a file's content.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FileBytes {
    /// Up to the requested number of bytes.
    #[serde(with = "crate::remote::wire::b64")]
    pub data: Vec<u8>,
    /// The file's full size.
    pub size: u64,
    /// Whether `data` is shorter than the file.
    pub truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised() {
        for (raw, want) in [("", ""), (".", ""), ("a//b/./c/", "a/b/c"), ("./x", "x"), ("a b/ü", "a b/ü")] {
            assert_eq!(WorkspacePath::parse(raw).unwrap().as_str(), want, "{raw:?}");
        }
    }

    #[test]
    fn escaping_paths_are_refused() {
        for raw in ["..", "a/../b", "/etc/passwd", "a\\b", "a\0b", "../x", "x/.."] {
            let e = WorkspacePath::parse(raw).unwrap_err();
            assert_eq!(e.code(), crate::error::codes::BAD_USER_INPUT, "{raw:?}");
        }
    }

    #[test]
    fn overlong_paths_and_names_are_refused() {
        assert!(WorkspacePath::parse(&"a/".repeat(MAX_PATH_BYTES)).is_err());
        assert!(WorkspacePath::parse(&"n".repeat(MAX_NAME_BYTES + 1)).is_err());
        assert!(WorkspacePath::parse(&"n".repeat(MAX_NAME_BYTES)).is_ok());
    }

    #[test]
    fn containment_is_by_component_not_by_prefix() {
        let ab = WorkspacePath::parse("a/b").unwrap();
        assert!(ab.contains(&WorkspacePath::parse("a/b/c").unwrap()));
        assert!(ab.contains(&ab));
        assert!(!ab.contains(&WorkspacePath::parse("a/bc").unwrap()));
        assert!(WorkspacePath::root().contains(&ab));
    }

    #[test]
    fn split_and_join_are_inverse() {
        let p = WorkspacePath::parse("x/y/z").unwrap();
        let (parent, name) = p.split_last().unwrap();
        assert_eq!((parent.as_str(), name), ("x/y", "z"));
        assert_eq!(parent.join(name), p);
        assert!(WorkspacePath::root().split_last().is_none());
        assert_eq!(WorkspacePath::root().join("n").as_str(), "n");
    }
}
