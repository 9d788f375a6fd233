#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! Object storage for snapshots: content-addressed blobs and manifests, on the local
//! filesystem (the embedded default) or any S3-compatible service.
//!
//! Only the server talks to storage; no storage credential ever enters a sandbox.

/// The layers below, under the names the code uses.
pub(crate) use sandboxql_core::{error, work};

pub mod fs;
pub mod s3;

use std::pin::Pin;

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::error::{AppError, AppResult};

/// A byte stream to upload.
pub type Upload = Pin<Box<dyn AsyncRead + Send>>;

/// Where snapshot blobs and manifests live. Keys are `/`-separated and made by the
/// server only (never from client input).
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Every key under `prefix`.
    async fn list(&self, prefix: &str) -> AppResult<Vec<String>>;

    /// Stores a small object (a manifest) atomically.
    async fn put_bytes(&self, key: &str, data: Vec<u8>) -> AppResult<()>;

    /// Streams an object whose sha256 is known; the store checks the bytes against it and
    /// refuses (CONFLICT) when they differ, e.g. because the file changed while read.
    async fn put_verified(&self, key: &str, body: Upload, size: u64, sha256_hex: &str) -> AppResult<()>;

    /// Up to `max` bytes from the start of an object.
    async fn get_prefix(&self, key: &str, max: u64) -> AppResult<Vec<u8>>;

    /// A whole small object (manifests).
    async fn get(&self, key: &str) -> AppResult<Vec<u8>> {
        self.get_prefix(key, u64::MAX).await
    }

    /// An object as a stream, for restoring files of any size without buffering them.
    async fn get_stream(&self, key: &str) -> AppResult<Upload>;

    /// Whether an object exists (blobs stored before the `blobs` table knew them).
    async fn exists(&self, key: &str) -> AppResult<bool>;

    /// Deletes an object (a reclaimed blob, an expired manifest); deleting a missing one
    /// succeeds.
    async fn delete(&self, key: &str) -> AppResult<()>;

    /// Removes what is left of `prefix` once its objects are deleted (a filesystem's
    /// directories, unfinished uploads), so an erased account leaves no name behind. A
    /// store without such leftovers (S3) has nothing to do.
    async fn clear_prefix(&self, _prefix: &str) -> AppResult<()> {
        Ok(())
    }
}

/// Prefix of everything an account stores (blobs, manifests, checkpoints).
pub fn account_prefix(account: uuid::Uuid) -> String {
    format!("accounts/{account}/")
}

/// Copies `body` into the file at `dest` on a blocking thread (hashing is CPU work that
/// must not stall the async runtime), and checks it is exactly `size` bytes with the
/// given sha256: CONFLICT otherwise (the file changed while it was read). Returns the raw
/// digest.
/// Runs on `pool` (the lower-priority CPU pool) when one is given.
pub async fn spool_verified(
    pool: Option<&crate::work::CpuPool>,
    body: Upload,
    dest: std::path::PathBuf,
    size: u64,
    sha256_hex: &str,
) -> AppResult<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let want = sha256_hex.to_string();
    let bridge = tokio_util::io::SyncIoBridge::new(body);
    let job = move |cancel: &std::sync::atomic::AtomicBool| {
        use std::io::{Read, Write};
        let mut reader = bridge;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&dest)?);
        let (mut h, mut buf, mut n) = (Sha256::new(), vec![0u8; 256 * 1024], 0u64);
        loop {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(AppError::Internal(anyhow::anyhow!("upload abandoned")));
            }
            let read = reader.read(&mut buf)?;
            if read == 0 {
                break;
            }
            h.update(&buf[..read]);
            out.write_all(&buf[..read])?;
            n += read as u64;
            if n > size {
                break;
            }
        }
        out.flush()?;
        let digest: [u8; 32] = h.finalize().into();
        if n != size || hex::encode(digest) != want {
            return Err(AppError::conflict_because(
                crate::error::reasons::CHANGED_WHILE_STORED,
                "the file changed while it was being stored",
            ));
        }
        Ok(digest)
    };
    match pool {
        Some(pool) => pool.run(job).await,
        None => crate::work::blocking(job).await,
    }
}

/// Key of a blob: content-addressed per account.
pub fn blob_key(account: uuid::Uuid, sha256_hex: &str) -> String {
    format!("accounts/{account}/blobs/{sha256_hex}")
}

/// Key of a checkpoint's manifest or session transcript (`what`: `files` or `session`).
pub fn checkpoint_key(account: uuid::Uuid, sandbox: uuid::Uuid, checkpoint: uuid::Uuid, what: &str) -> String {
    format!("accounts/{account}/sandboxes/{sandbox}/checkpoints/{checkpoint}.{what}")
}

/// Prefix of an account's blobs.
pub fn blob_prefix(account: uuid::Uuid) -> String {
    format!("accounts/{account}/blobs/")
}

/// Key of a snapshot manifest. The design names it `{unix_ts}.json`; the snapshot id is
/// appended so two syncs within one second never overwrite each other.
pub fn manifest_key(account: uuid::Uuid, sandbox: uuid::Uuid, unix_ts: i64, snapshot: uuid::Uuid) -> String {
    format!("accounts/{account}/sandboxes/{sandbox}/snapshots/{unix_ts}-{snapshot}.json")
}
