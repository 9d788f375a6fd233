//! One file of a sync: hash it and upload its content when the account's store lacks it.

use std::sync::Arc;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::Syncer;
use crate::{
    backend::{ExternalId, files::WorkspacePath},
    entity::{blob, new_id, now},
    error::{AppError, AppResult},
    storage,
    {snapshots::manifest::ManifestEntry, snapshots::storage_error},
};

/// What became of one walked entry.
pub(super) enum FileOutcome {
    /// In the snapshot; `uploaded` is the bytes sent when its content was new.
    Kept {
        /// The entry with its hash.
        entry: ManifestEntry,
        /// Bytes uploaded, when the content was new.
        uploaded: Option<u64>,
        /// Whether it changed while the sync read it.
        changed: bool,
    },
    /// Left out: it vanished or changed while being stored.
    Dropped,
}

/// Uploads in flight in one sync, by hash: a second file with the same new content waits
/// for the first upload instead of sending the same bytes again.
#[derive(Default)]
pub(super) struct InFlight(
    std::sync::Mutex<std::collections::HashMap<String, Arc<OnceCell<()>>>>,
    /// Bytes the account may still store under its quota (None: no quota).
    Option<std::sync::atomic::AtomicI64>,
);

impl InFlight {
    /// Uploads of one pass, with `room` bytes left under the account's quota.
    pub(super) fn with_room(room: Option<i64>) -> Self {
        Self(Default::default(), room.map(std::sync::atomic::AtomicI64::new))
    }

    /// Takes `n` bytes of the room left, before they are uploaded.
    fn reserve(&self, n: u64) -> AppResult<()> {
        let Some(room) = &self.1 else { return Ok(()) };
        if room.fetch_sub(n as i64, std::sync::atomic::Ordering::Relaxed) < n as i64 {
            return Err(AppError::conflict_because(
                crate::error::reasons::STORAGE_QUOTA_EXCEEDED,
                "the account's storage quota is used up; delete snapshots or ask an admin for more",
            ));
        }
        Ok(())
    }

    fn cell(&self, sha: &str) -> Arc<OnceCell<()>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(sha.to_string()).or_default().clone()
    }

    /// Stored and recorded: later files find it in the `blobs` table.
    fn forget(&self, sha: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(sha);
    }
}

impl Syncer {
    /// Whether the account's store holds the blob: the `blobs` table, or (for blobs stored
    /// before it existed) the store itself, which is then recorded.
    async fn blob_known(&self, account: Uuid, sha: &str, size: u64) -> AppResult<bool> {
        let row = blob::Entity::find()
            .filter(blob::Column::AccountId.eq(account))
            .filter(blob::Column::Sha256.eq(sha))
            .one(&self.db)
            .await?;
        if row.is_some() {
            return Ok(true);
        }
        let stored = self.snapshots.blobs.exists(&storage::blob_key(account, sha)).await.map_err(storage_error)?;
        if stored {
            self.remember_blob(account, sha, size).await?;
        }
        Ok(stored)
    }

    async fn remember_blob(&self, account: Uuid, sha: &str, size: u64) -> AppResult<()> {
        let t = now();
        let row = blob::ActiveModel {
            id: Set(new_id()),
            account_id: Set(account),
            sha256: Set(sha.to_string()),
            size: Set(size as i64),
            created_at: Set(t),
            updated_at: Set(t),
        };
        blob::Entity::insert(row)
            .on_conflict_do_nothing_on([blob::Column::AccountId, blob::Column::Sha256])
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Hashes a file whose previous hash cannot be reused and uploads it if it is new.
    pub(super) async fn file(
        self,
        ext: ExternalId,
        account: Uuid,
        mut e: ManifestEntry,
        in_flight: Arc<InFlight>,
    ) -> AppResult<FileOutcome> {
        let Ok(path) = WorkspacePath::parse(&e.path) else { return Ok(FileOutcome::Dropped) };
        let (sha, n) = match self.backend.hash_file(&ext, &path).await {
            Ok(h) => h,
            Err(AppError::NotFound(_)) => return Ok(FileOutcome::Dropped),
            Err(err) => return Err(err),
        };
        let changed = n != e.size;
        e.size = n;
        e.sha256 = Some(sha.clone());
        if self.blob_known(account, &sha, n).await? {
            return Ok(FileOutcome::Kept { entry: e, uploaded: None, changed });
        }
        // The first file with this content uploads it; the others wait for that. When the
        // first fails (its file changed), the next one tries with its own bytes.
        in_flight.reserve(n)?;
        let cell = in_flight.cell(&sha);
        let mut sent = None;
        let stored = cell
            .get_or_try_init(|| async {
                sent = Some(self.upload(&ext, &path, account, &sha, n).await?);
                Ok::<(), AppError>(())
            })
            .await;
        match stored {
            Ok(()) => {
                in_flight.forget(&sha);
                Ok(FileOutcome::Kept { entry: e, uploaded: sent, changed })
            }
            // The file changed between hashing and upload (or vanished): leave it out of
            // this snapshot. Any other refusal (a full store) fails the whole pass.
            Err(e) if e.reason() == Some(crate::error::reasons::CHANGED_WHILE_STORED) => Ok(FileOutcome::Dropped),
            Err(AppError::NotFound(_)) => Ok(FileOutcome::Dropped),
            Err(err) => Err(err),
        }
    }

    /// Sends the file's content as the blob `sha` and records it; returns the bytes sent.
    async fn upload(&self, ext: &ExternalId, path: &WorkspacePath, account: Uuid, sha: &str, n: u64) -> AppResult<u64> {
        let body = self.backend.read_stream(ext, path).await?;
        match self.snapshots.blobs.put_verified(&storage::blob_key(account, sha), body, n, sha).await {
            Ok(()) => {}
            Err(e @ AppError::Conflict { .. }) => return Err(e),
            Err(e) => return Err(storage_error(e)),
        }
        self.remember_blob(account, sha, n).await?;
        Ok(n)
    }
}
