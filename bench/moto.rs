//! Shared by the benchmarks that store to S3: a moto_server of their own with a bucket,
//! and deterministic incompressible file contents.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use sandboxql::storage::s3::{S3BlobStore, S3Settings};

/// Deterministic incompressible bytes.
pub fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// Sets the credentials moto accepts; call before any thread exists.
pub fn credentials() {
    // SAFETY: called first thing in main, before any thread; the S3 client reads them.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    }
}

/// A running moto_server (killed on drop) with `bucket` made.
pub struct Moto {
    child: Child,
    /// Its port.
    pub port: u16,
    /// Its URL.
    pub endpoint: String,
    /// The store over `bucket`.
    pub store: S3BlobStore,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Starts moto_server (SANDBOXQL_TEST_MOTO, or the install script's) and makes `bucket`.
pub async fn start(bucket: &str) -> anyhow::Result<Moto> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let bin =
        std::env::var("SANDBOXQL_TEST_MOTO").unwrap_or_else(|_| "/var/tmp/sandboxql-tools/moto/bin/moto_server".into());
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let endpoint = format!("http://127.0.0.1:{port}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settings = S3Settings {
        bucket: bucket.into(),
        region: "us-east-1".into(),
        endpoint: Some(endpoint.clone()),
        path_style: true,
    };
    let store = S3BlobStore::new(&settings).await;
    store.client().create_bucket().bucket(bucket).send().await?;
    Ok(Moto { child, port, endpoint, store })
}
