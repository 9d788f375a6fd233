//! Object storage for snapshots: content-addressed blobs and manifests, on the local
//! filesystem (the embedded default) or any S3-compatible service.
//!
//! Only the server talks to storage; no storage credential ever enters a sandbox.

pub mod fs;
pub mod s3;

use std::pin::Pin;

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::error::AppResult;

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
}

/// Key of a blob: content-addressed per account.
pub fn blob_key(account: uuid::Uuid, sha256_hex: &str) -> String {
    format!("accounts/{account}/blobs/{sha256_hex}")
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
