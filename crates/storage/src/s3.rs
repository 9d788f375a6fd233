//! The S3 blob store (AWS or any S3-compatible service) through aws-sdk-s3.
//!
//! Uploads are verified before they leave: content is spooled to a temporary file while
//! it is hashed (on a blocking thread, never in memory whole), compared with the expected
//! sha256, and sent with `x-amz-checksum-sha256` so the service checks it too. Bodies
//! are replayable, so the SDK's retries with backoff (throttling, 5xx) are safe.

use aws_sdk_s3::{
    Client,
    config::{Region, retry::RetryConfig, timeout::TimeoutConfig},
    primitives::ByteStream,
};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::{BlobStore, Upload};
use crate::error::{AppError, AppResult};

/// Settings of the S3 store.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// Bucket name.
    pub bucket: String,
    /// Region.
    pub region: String,
    /// Endpoint URL of an S3-compatible service (None for AWS).
    pub endpoint: Option<String>,
    /// Path-style addressing (most self-hosted services need it).
    pub path_style: bool,
}

/// Blobs in an S3 bucket.
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    pool: Option<crate::work::CpuPool>,
}

fn unavailable(e: impl std::fmt::Display) -> AppError {
    AppError::provider("object storage is unavailable", e)
}

impl S3BlobStore {
    /// A client with credentials from the standard AWS chain (environment, profile, IMDS).
    pub async fn new(s: &S3Settings) -> Self {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(s.region.clone()))
            .load()
            .await;
        let mut b = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(s.path_style)
            .retry_config(RetryConfig::standard().with_max_attempts(4))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(std::time::Duration::from_secs(5))
                    .operation_attempt_timeout(std::time::Duration::from_secs(300))
                    .build(),
            );
        if let Some(ep) = &s.endpoint {
            b = b.endpoint_url(ep);
        }
        Self { client: Client::from_conf(b.build()), bucket: s.bucket.clone(), pool: None }
    }

    /// Hashes uploads on `pool` (lower priority than requests) instead of a plain
    /// blocking thread.
    pub fn with_pool(mut self, pool: crate::work::CpuPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The SDK client (tests and benches make buckets with it).
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn send(&self, key: &str, body: ByteStream, sha256: &[u8]) -> AppResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(sha256))
            .body(body)
            .send()
            .await
            .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    async fn list(&self, prefix: &str) -> AppResult<Vec<String>> {
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            out.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
        }
        Ok(out)
    }

    async fn put_bytes(&self, key: &str, data: Vec<u8>) -> AppResult<()> {
        let sha = Sha256::digest(&data);
        self.send(key, ByteStream::from(data), &sha).await
    }

    async fn put_verified(&self, key: &str, body: Upload, size: u64, sha256_hex: &str) -> AppResult<()> {
        let spool = tempfile::NamedTempFile::new()?;
        let sha = super::spool_verified(self.pool.as_ref(), body, spool.path().to_path_buf(), size, sha256_hex).await?;
        let stream = ByteStream::from_path(spool.path()).await.map_err(|e| AppError::Internal(e.into()))?;
        self.send(key, stream, &sha).await
    }

    async fn exists(&self, key: &str) -> AppResult<bool> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(unavailable(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    async fn delete(&self, key: &str) -> AppResult<()> {
        match self.client.delete_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(unavailable(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    async fn get_stream(&self, key: &str) -> AppResult<Upload> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(r) => Ok(Box::pin(r.body.into_async_read())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                Err(AppError::NotFound("snapshot object"))
            }
            Err(e) => Err(unavailable(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    async fn get_prefix(&self, key: &str, max: u64) -> AppResult<Vec<u8>> {
        let mut req = self.client.get_object().bucket(&self.bucket).key(key);
        if max < u64::MAX {
            if max == 0 {
                return Ok(Vec::new());
            }
            req = req.range(format!("bytes=0-{}", max - 1));
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Err(AppError::NotFound("snapshot object"));
            }
            Err(e) => return Err(unavailable(aws_sdk_s3::error::DisplayErrorContext(e))),
        };
        let bytes = resp.body.collect().await.map_err(unavailable)?;
        Ok(bytes.into_bytes().to_vec())
    }
}
