//! The filesystem blob store: objects are files under `{data_dir}/blobs`, written to a
//! temporary name and renamed into place, so a crash never leaves half an object.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncReadExt;

use super::{BlobStore, Upload};
use crate::error::{AppError, AppResult};

/// Blobs as files.
pub struct FsBlobStore {
    root: PathBuf,
    pool: Option<crate::work::CpuPool>,
    keep_free: u64,
}

impl FsBlobStore {
    /// A store rooted at `{data_dir}/blobs`.
    pub fn new(data_dir: &Path) -> Self {
        let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        Self { root: data_dir.join("blobs"), pool: None, keep_free: 0 }
    }

    /// Refuses a write that would leave less than `bytes` free on the store's filesystem
    /// (it shares the data dir with the database: `--min-free-disk`), so automatic work
    /// such as a checkpoint of a full sandbox disk cannot fill the host.
    pub fn keeping_free(mut self, bytes: u64) -> Self {
        self.keep_free = bytes;
        self
    }

    fn room_for(&self, size: u64) -> AppResult<()> {
        if self.keep_free == 0 {
            return Ok(());
        }
        let at = if self.root.exists() { self.root.as_path() } else { self.root.parent().unwrap_or(&self.root) };
        let s = rustix::fs::statvfs(at).map_err(|e| AppError::Internal(anyhow::anyhow!("statvfs: {e}")))?;
        let free = s.f_bavail.saturating_mul(s.f_frsize);
        if free < size.saturating_add(self.keep_free) {
            return Err(AppError::conflict_because(
                crate::error::reasons::OUT_OF_SPACE,
                "the server's file store is full: it keeps its last --min-free-disk free",
            ));
        }
        Ok(())
    }

    /// Hashes uploads on `pool` (lower priority than requests) instead of a plain
    /// blocking thread.
    pub fn with_pool(mut self, pool: crate::work::CpuPool) -> Self {
        self.pool = Some(pool);
        self
    }

    fn path(&self, key: &str) -> AppResult<PathBuf> {
        if key.split('/').any(|p| p.is_empty() || p == "." || p == "..") || key.starts_with('/') {
            return Err(AppError::Internal(anyhow::anyhow!("invalid storage key {key:?}")));
        }
        Ok(self.root.join(key))
    }

    async fn tmp_for(&self, path: &Path) -> AppResult<PathBuf> {
        let dir = path.parent().ok_or_else(|| AppError::Internal(anyhow::anyhow!("key without parent")))?;
        tokio::fs::create_dir_all(dir).await?;
        Ok(dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple())))
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn list(&self, prefix: &str) -> AppResult<Vec<String>> {
        let dir = self.root.join(prefix.trim_end_matches('/'));
        let mut out = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            let mut rd = match tokio::fs::read_dir(&d).await {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            while let Some(e) = rd.next_entry().await? {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(".tmp-") {
                    continue;
                }
                if e.file_type().await?.is_dir() {
                    stack.push(e.path());
                } else if let Ok(rel) = e.path().strip_prefix(&self.root) {
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    async fn put_bytes(&self, key: &str, data: Vec<u8>) -> AppResult<()> {
        self.room_for(data.len() as u64)?;
        let path = self.path(key)?;
        let tmp = self.tmp_for(&path).await?;
        tokio::fs::write(&tmp, data).await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(())
    }

    async fn put_verified(&self, key: &str, body: Upload, size: u64, sha256_hex: &str) -> AppResult<()> {
        self.room_for(size)?;
        let path = self.path(key)?;
        let tmp = self.tmp_for(&path).await?;
        if let Err(e) = super::spool_verified(self.pool.as_ref(), body, tmp.clone(), size, sha256_hex).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        tokio::fs::rename(&tmp, &path).await?;
        Ok(())
    }

    async fn exists(&self, key: &str) -> AppResult<bool> {
        Ok(tokio::fs::try_exists(self.path(key)?).await?)
    }

    async fn delete(&self, key: &str) -> AppResult<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn clear_prefix(&self, prefix: &str) -> AppResult<()> {
        let dir = self.path(prefix.trim_end_matches('/'))?;
        match tokio::fs::remove_dir_all(dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn get_stream(&self, key: &str) -> AppResult<Upload> {
        match tokio::fs::File::open(self.path(key)?).await {
            Ok(f) => Ok(Box::pin(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AppError::NotFound("snapshot object")),
            Err(e) => Err(e.into()),
        }
    }

    async fn get_prefix(&self, key: &str, max: u64) -> AppResult<Vec<u8>> {
        let path = self.path(key)?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound("snapshot object")),
            Err(e) => return Err(e.into()),
        };
        let mut data = Vec::new();
        file.take(max).read_to_end(&mut data).await?;
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_that_would_eat_the_reserve_is_refused_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path()).keeping_free(u64::MAX / 2);
        let e = store.put_bytes("a/b", b"data".to_vec()).await.unwrap_err();
        assert_eq!((e.code(), e.reason()), ("CONFLICT", Some(crate::error::reasons::OUT_OF_SPACE)));
        assert!(!store.exists("a/b").await.unwrap());
        let roomy = FsBlobStore::new(dir.path()).keeping_free(1);
        roomy.put_bytes("a/b", b"data".to_vec()).await.unwrap();
        assert_eq!(roomy.get("a/b").await.unwrap(), b"data");
    }
}
