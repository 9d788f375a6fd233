//! A real S3-compatible server for tests: moto_server (PyPI `moto[server]`, installed by
//! scripts/install-test-deps.sh), one per test, on a free port.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use sandboxql::{
    config::{Config, StorageKind},
    storage::s3::{S3BlobStore, S3Settings},
};

/// Bucket the tests use.
pub const BUCKET: &str = "sandboxql-test";

/// A running moto server, killed on drop.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Its port.
    pub port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_bin() -> String {
    std::env::var("SANDBOXQL_TEST_MOTO").unwrap_or_else(|_| "/var/tmp/sandboxql-tools/moto/bin/moto_server".into())
}

/// Credentials moto accepts, through the standard AWS environment variables the server
/// reads. Each nextest test is its own process and sets them before any server starts.
pub fn set_fake_credentials() {
    // SAFETY: called at the start of a test, before the server or any thread that reads
    // the environment exists; every test process sets the same values.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::remove_var("AWS_PROFILE");
    }
}

/// Starts moto on a free port and creates the test bucket.
pub async fn start_moto() -> Moto {
    set_fake_credentials();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bin = moto_bin();
    assert!(
        std::path::Path::new(&bin).exists(),
        "moto_server not installed at {bin}; run scripts/install-test-deps.sh"
    );
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}"), port };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let store = S3BlobStore::new(&settings(&moto.endpoint)).await;
    store.client().create_bucket().bucket(BUCKET).send().await.expect("create bucket");
    moto
}

/// Store settings pointing at `endpoint`.
pub fn settings(endpoint: &str) -> S3Settings {
    S3Settings { bucket: BUCKET.into(), region: "us-east-1".into(), endpoint: Some(endpoint.into()), path_style: true }
}

/// Points a server config at an S3 endpoint.
pub fn use_s3(c: &mut Config, endpoint: &str) {
    c.storage.storage = StorageKind::S3;
    c.storage.s3_bucket = Some(BUCKET.into());
    c.storage.s3_endpoint = Some(endpoint.into());
    c.storage.s3_path_style = true;
}
