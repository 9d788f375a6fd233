//! The test's webhook receiver (tests/fixtures/webhook-receiver.py): a real HTTP server
//! that verifies each delivery with the Standard Webhooks reference library and logs it.

use std::{
    io::BufRead,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::Value;

/// Where the reference library lives (scripts/install-test-deps.sh).
const PYTHON: &str = "/var/tmp/sandboxql-tools/webhooks/bin/python";

/// A receiver process on a fixed port (so it can go down and come back).
pub struct Receiver {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Receiver {
    /// A receiver for `port`, not started.
    pub fn on(port: u16) -> Self {
        assert!(
            std::path::Path::new(PYTHON).exists(),
            "standardwebhooks is not installed: run scripts/install-test-deps.sh"
        );
        Self { child: None, port, dir: tempfile::tempdir().unwrap() }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("deliveries.log")
    }

    /// Tells it the endpoint's secret.
    pub fn secret(&self, secret: &str) {
        std::fs::write(self.dir.path().join("secret"), secret).unwrap();
    }

    /// Starts it answering as `mode` (`ok`, `fail-first`, `redirect`).
    pub fn start(&mut self, mode: &str) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/webhook-receiver.py");
        let (log, secret) = (self.log(), self.dir.path().join("secret"));
        let mut child = Command::new(PYTHON)
            .arg(script)
            .args([self.port.to_string(), log.display().to_string(), secret.display().to_string(), mode.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim().parse::<u16>().ok(), Some(self.port), "the receiver listens");
        self.child = Some(child);
    }

    /// Stops it (connections are refused from then on).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every request logged so far.
    pub fn seen(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// The verified payloads it took (2xx), in arrival order.
    pub fn taken(&self) -> Vec<Value> {
        self.seen()
            .into_iter()
            .filter(|e| e["verified"] == true && e["status"] == 204)
            .map(|e| e["payload"].clone())
            .collect()
    }

    /// Waits until `done` holds of what it took.
    pub async fn until(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..600 {
            let taken = self.taken();
            if done(&taken) {
                return taken;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what}: never arrived; seen {:?}", self.seen());
    }
}
