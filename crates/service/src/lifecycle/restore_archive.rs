//! Restoring a snapshot in one go, for backends where each command is a round trip
//! (Modal): the server streams the snapshot as one tar archive (directories and files
//! first, symlinks last, so no file is ever written through a link the archive made)
//! into a single extracting command. Blobs stream through; nothing is held whole.

use tokio::sync::mpsc;
use tokio_util::io::SyncIoBridge;

use super::Lifecycle;
use std::sync::Arc;

use uuid::Uuid;

use crate::{
    backend::{Bulk, ExternalId, files::WorkspacePath},
    error::{AppError, AppResult},
    snapshots::{VisibleSnapshot, manifest::ManifestEntry, manifest_io::ManifestReader},
    storage::{self, BlobStore, Upload},
};

/// One archive member, handed from the manifest reader to the archive writer.
enum Member {
    Dir { path: String, mode: u32 },
    File { path: String, mode: u32, size: u64, body: Upload },
    Link { path: String, target: String },
}

/// Writes members as a tar archive into `out` (on a blocking thread).
fn write_archive(mut members: mpsc::Receiver<Member>, out: tokio::io::DuplexStream) -> AppResult<()> {
    let io = |e: std::io::Error| AppError::Internal(anyhow::anyhow!("writing the restore archive: {e}"));
    let mut builder = tar::Builder::new(SyncIoBridge::new(out));
    builder.mode(tar::HeaderMode::Deterministic);
    let mut links = Vec::new();
    while let Some(m) = members.blocking_recv() {
        let mut h = tar::Header::new_gnu();
        match m {
            Member::Dir { path, mode } => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(mode & 0o7777);
                h.set_size(0);
                builder.append_data(&mut h, format!("{path}/"), std::io::empty()).map_err(io)?;
            }
            Member::File { path, mode, size, body } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(mode & 0o7777);
                h.set_size(size);
                builder.append_data(&mut h, path, SyncIoBridge::new(body)).map_err(io)?;
            }
            Member::Link { path, target } => links.push((path, target)),
        }
    }
    for (path, target) in links {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        builder.append_link(&mut h, path, target).map_err(io)?;
    }
    let mut out = builder.into_inner().map_err(io)?;
    out.shutdown().map_err(io)
}

/// Where the entries to extract come from.
pub enum Entries {
    /// A whole manifest (a restore), but for the blobs named (damaged ones).
    Manifest(ManifestReader, std::collections::HashSet<String>),
    /// Some entries (the files a rewind writes back).
    Listed(std::vec::IntoIter<ManifestEntry>),
}

impl Entries {
    async fn next(&mut self) -> AppResult<Option<ManifestEntry>> {
        match self {
            Entries::Manifest(r, skip) => loop {
                match r.next().await? {
                    Some(e) if e.sha256.as_ref().is_some_and(|s| skip.contains(s)) => continue,
                    other => return Ok(other),
                }
            },
            Entries::Listed(l) => Ok(l.next()),
        }
    }
}

impl Lifecycle {
    /// Restores `snap` into `external_id` with one archive and one extracting command.
    pub(super) async fn restore_as_archive(
        &self,
        bulk: &dyn Bulk,
        snap: &VisibleSnapshot,
        external_id: &ExternalId,
        skip: std::collections::HashSet<String>,
    ) -> AppResult<()> {
        let manifest = Entries::Manifest(self.snapshots.reader(snap).await?, skip);
        extract(bulk, self.snapshots.blobs.clone(), snap.account_id, external_id, manifest).await
    }
}

/// Streams `entries` of `account`'s store as one archive into one extracting command.
pub async fn extract(
    bulk: &dyn Bulk,
    blobs: Arc<dyn BlobStore>,
    account: Uuid,
    external_id: &ExternalId,
    mut manifest: Entries,
) -> AppResult<()> {
    let (reader, writer) = tokio::io::duplex(256 * 1024);
    let (tx, rx) = mpsc::channel::<Member>(1);
    let feed = async move {
        while let Some(e) = manifest.next().await? {
            if WorkspacePath::parse(&e.path).is_err() {
                tracing::warn!(%account, "skipping an unrepresentable path while restoring");
                continue;
            }
            let member = match e.kind.as_str() {
                "dir" => Member::Dir { path: e.path, mode: e.mode },
                "file" => {
                    let sha =
                        e.sha256.as_deref().ok_or_else(|| AppError::Internal(anyhow::anyhow!("file without hash")))?;
                    let body = blobs.get_stream(&storage::blob_key(account, sha)).await;
                    let body = body.map_err(|err| super::restore::missing(err, &e.path))?;
                    Member::File { path: e.path, mode: e.mode, size: e.size, body }
                }
                "symlink" => match e.target {
                    Some(target) => Member::Link { path: e.path, target },
                    None => continue,
                },
                _ => continue,
            };
            if tx.send(member).await.is_err() {
                break;
            }
        }
        Ok::<(), AppError>(())
    };
    let build = crate::work::blocking(move |_cancel| write_archive(rx, writer));
    let extract = bulk.extract_archive(external_id, Box::pin(reader));
    tokio::try_join!(feed, build, extract)?;
    Ok(())
}
