//! Bulk reads for a sync: the files a sync must hash and upload come out of the sandbox in
//! one `tar` exec (not one exec per file) and are spooled to a private temporary directory
//! on the server, hashed on the way; `hash_file` and `read_stream` then serve them from
//! there. Memory stays bounded (files stream to disk); the spool is removed when the sync
//! drops its guard. Only regular files are taken from the archive: a path replaced by a
//! symlink since the walk is skipped, never followed.

use std::{
    collections::HashMap,
    io::{Read, Write},
    path::PathBuf,
    sync::{Arc, Mutex},
};

use sha2::{Digest, Sha256};
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::{
    ModalBackend, WORKDIR,
    exec::{RawOutput, Stdin},
};
use crate::{
    error::{AppError, AppResult},
    {Prefetched, files::WorkspacePath},
};

/// Files of one sync, on the server's disk.
pub(super) struct Spool {
    _dir: tempfile::TempDir,
    files: HashMap<String, (PathBuf, String, u64)>,
}

/// Spools by sandbox (external id), while their syncs run.
pub(super) type Spools = Arc<Mutex<HashMap<String, Arc<Spool>>>>;

impl Spool {
    /// The spooled copy of `path`: its file, sha256 and size.
    pub(super) fn get(&self, path: &WorkspacePath) -> Option<&(PathBuf, String, u64)> {
        self.files.get(path.as_str())
    }
}

/// Removes a sandbox's spool when the sync that made it ends.
struct Release {
    spools: Spools,
    ext: String,
}

impl Drop for Release {
    fn drop(&mut self) {
        self.spools.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.ext);
    }
}

/// Reads a tar stream into `dir`, hashing each regular file.
fn unpack(reader: impl Read, dir: PathBuf) -> std::io::Result<HashMap<String, (PathBuf, String, u64)>> {
    let mut files = HashMap::new();
    let mut archive = tar::Archive::new(reader);
    for (i, entry) in archive.entries()?.enumerate() {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = entry.path()?.to_string_lossy().trim_start_matches("./").to_string();
        let target = dir.join(i.to_string());
        let mut out = std::fs::File::create(&target)?;
        let (mut hasher, mut size, mut buf) = (Sha256::new(), 0u64, vec![0u8; 256 * 1024]);
        loop {
            let n = entry.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            size += n as u64;
        }
        files.insert(name, (target, hex::encode(hasher.finalize()), size));
    }
    Ok(files)
}

/// One `tar` exec for all of `paths`, spooled and registered for `ext` until the guard
/// drops. Files tar could not read are simply missing (read one by one later).
pub(super) async fn prefetch(b: &ModalBackend, ext: &str, paths: Vec<WorkspacePath>) -> AppResult<Prefetched> {
    if paths.is_empty() {
        return Ok(Prefetched::none());
    }
    let mut list = Vec::new();
    for p in &paths {
        list.extend_from_slice(p.as_str().as_bytes());
        list.push(0);
    }
    // Names come from the list verbatim (never read as options), one level each.
    let command = ["tar", "--null", "--verbatim-files-from", "--no-recursion", "--ignore-failed-read", "-C", WORKDIR]
        .into_iter()
        .chain(["-T", "-", "-cf", "-"])
        .map(String::from)
        .collect();
    let started = b.start(ext, command, HashMap::new(), Stdin::Bytes(list)).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(16);
    let mut output = started.output;
    tokio::spawn(async move {
        while let Some(msg) = output.recv().await {
            let item = match msg {
                RawOutput::Stdout(d) => Ok(bytes::Bytes::from(d)),
                RawOutput::Stderr(_) => continue,
                // tar exits 1 or 2 when files changed or vanished: what it wrote is sound.
                RawOutput::Exited(Some(0..=2)) => return,
                RawOutput::Exited(code) => Err(std::io::Error::other(format!("tar exited with {code:?}"))),
                RawOutput::Lost(e) => Err(std::io::Error::other(e.log_detail().unwrap_or_default())),
            };
            if tx.send(item).await.is_err() {
                return;
            }
        }
    });
    let dir = tempfile::Builder::new().prefix("sandboxql-spool-").tempdir()?;
    let reader = SyncIoBridge::new(StreamReader::new(tokio_stream::wrappers::ReceiverStream::new(rx)));
    let target = dir.path().to_path_buf();
    let files = crate::work::blocking(move |_cancel| {
        unpack(reader, target).map_err(|e| {
            AppError::provider("the sandbox provider is unavailable; try again", format!("modal sync archive: {e}"))
        })
    })
    .await?;
    tracing::debug!(files = files.len(), asked = paths.len(), "spooled a sync's files in one exec");
    let spool = Arc::new(Spool { _dir: dir, files });
    b.spools.lock().unwrap_or_else(|e| e.into_inner()).insert(ext.to_string(), spool);
    Ok(Prefetched::holding(Box::new(Release { spools: b.spools.clone(), ext: ext.to_string() })))
}

/// The spooled copy of a file, if a running sync spooled it.
pub(super) fn spooled(b: &ModalBackend, ext: &str, path: &WorkspacePath) -> Option<(PathBuf, String, u64)> {
    let spools = b.spools.lock().unwrap_or_else(|e| e.into_inner());
    spools.get(ext).and_then(|s| s.get(path).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_spooled_and_hashed_links_skipped() {
        let mut archive = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_cksum();
        archive.append_data(&mut h, "dir/a.txt", &b"hello"[..]).unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        archive.append_link(&mut link, "evil", "/etc/passwd").unwrap();
        let bytes = archive.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let files = unpack(&bytes[..], dir.path().to_path_buf()).unwrap();
        assert_eq!(files.len(), 1);
        let (path, sha, size) = &files["dir/a.txt"];
        assert_eq!(*size, 5);
        assert_eq!(sha, &hex::encode(Sha256::digest(b"hello")));
        assert_eq!(std::fs::read(path).unwrap(), b"hello");
    }
}
