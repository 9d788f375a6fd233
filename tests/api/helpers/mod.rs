//! Starting a real server per test and talking to it like a client would.

pub mod abuse;
#[path = "../../common/abuse_documents.rs"]
pub mod abuse_documents;
pub mod backend_double;
#[path = "../../common/config.rs"]
pub mod config;
pub mod db;
pub mod fake_anthropic;
pub mod fake_modal;
pub mod fake_modal_api;
pub mod fake_modal_exec;
pub mod fake_modal_router;
pub mod fake_modal_sandbox;
pub mod fake_modal_tunnel;
pub mod fake_modal_volume;
pub mod jwks;
pub mod node;
pub mod process;
pub mod proxy;
pub mod remote;
pub mod runs;
pub mod s3;
pub mod tls;
pub mod ws;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use sandboxql::{
    backend::Backend,
    config::Config,
    entity::enums::Role,
    service::{Services, accounts},
    startup::Application,
};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

pub use db::DbKind;

/// With `TEST_LOG=1`, the servers' tracing output goes to the test's output (shown for
/// failing tests, or always with `--nocapture`); `RUST_LOG` picks the level.
pub fn init_test_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("TEST_LOG").is_none() {
        return;
    }
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    });
}

/// Path of the stand-in `claude` script.
pub fn standin_claude() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/claude-standin.py").to_string()
}

/// A running server with its own database and data dir.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where its Anthropic gateway listens.
    pub gateway_addr: SocketAddr,
    /// Where previews are served.
    pub preview_addr: SocketAddr,
    /// Token of the bootstrap admin.
    pub admin_token: String,
    /// Direct access to its database and backend.
    pub services: Services,
    /// The configuration it was started with (restart uses it again).
    pub config: Config,
    /// The data dir, removed when the test ends.
    pub data_dir: Arc<tempfile::TempDir>,
    /// HTTP client.
    pub http: reqwest::Client,
    server: JoinHandle<()>,
}

impl TestApp {
    /// A server on a fresh database of the given kind.
    pub async fn spawn(kind: DbKind) -> Self {
        Self::spawn_with(kind, |_| {}, None).await
    }

    /// A server whose config `tweak` may change, optionally with an injected backend.
    pub async fn spawn_with(kind: DbKind, tweak: impl FnOnce(&mut Config), backend: Option<Arc<dyn Backend>>) -> Self {
        Self::spawn_in(kind, tweak, backend, tempfile::tempdir().expect("tempdir")).await
    }

    /// A server whose data dir is on tmpfs (`/dev/shm`) when there is one: for tests that
    /// build a million files or 100,000 directories, which a disk-backed VM filesystem
    /// makes ten times slower.
    pub async fn spawn_on_tmpfs(kind: DbKind, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).expect("tempdir");
        Self::spawn_in(kind, tweak, None, dir).await
    }

    async fn spawn_in(
        kind: DbKind,
        tweak: impl FnOnce(&mut Config),
        backend: Option<Arc<dyn Backend>>,
        dir: tempfile::TempDir,
    ) -> Self {
        init_test_log();
        let data_dir = Arc::new(dir);
        let mut config = config::config_for(data_dir.path().to_path_buf());
        config.runs.claude_bin = standin_claude();
        if kind == DbKind::Postgres {
            config.store.database_url = Some(db::fresh_postgres().await);
        }
        tweak(&mut config);
        let mut app = Self::start(config, data_dir, backend).await;
        if app.admin_token.is_empty() {
            panic!("fresh database should bootstrap an admin");
        }
        app.http = reqwest::Client::new();
        app
    }

    async fn start(config: Config, data_dir: Arc<tempfile::TempDir>, backend: Option<Arc<dyn Backend>>) -> Self {
        let app = Application::build_with_backend(config.clone(), backend).await.expect("build app");
        let addr = app.local_addr().expect("addr");
        let gateway_addr = app.gateway_addr;
        let preview_addr = app.preview_addr;
        let services = app.services.clone();
        let admin_token = app.bootstrap_token.clone().unwrap_or_default();
        let server = tokio::spawn(async move {
            let _ = app.run_until_stopped().await;
        });
        Self {
            addr,
            gateway_addr,
            preview_addr,
            admin_token,
            services,
            config,
            data_dir,
            http: reqwest::Client::new(),
            server,
        }
    }

    /// Another server instance on the same database and data dir (a second replica).
    pub async fn another_instance(&self) -> TestApp {
        self.another_instance_with(self.config.clone()).await
    }

    /// Another server instance with its own configuration.
    pub async fn another_instance_with(&self, config: Config) -> TestApp {
        let mut app = Self::start(config, self.data_dir.clone(), None).await;
        app.admin_token = self.admin_token.clone();
        app
    }

    /// Stops this server and starts a new one on the same database and data dir.
    pub async fn restart(self) -> TestApp {
        let config = self.config.clone();
        self.restart_with(config).await
    }

    /// [`Self::restart`] under changed settings (same database and data dir).
    pub async fn restart_with(self, config: Config) -> TestApp {
        self.server.abort();
        // A real server's processes die with it (the jail's --die-with-parent); this one
        // shares the test's process, so its warm Claudes are stopped by hand.
        self.services.runs.manager.warm.discard_all(&self.services.db);
        let mut app = Self::start(config, self.data_dir.clone(), None).await;
        assert!(app.admin_token.is_empty(), "a restart must not bootstrap a second admin");
        app.admin_token = self.admin_token.clone();
        app
    }

    /// The GraphQL endpoint.
    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// The data directory of the server.
    pub fn data_path(&self) -> PathBuf {
        self.data_dir.path().to_path_buf()
    }

    /// Creates an ordinary account and returns (account id, token).
    pub async fn new_user(&self, name: &str) -> (String, String) {
        let issued = accounts::create_account(&self.services.db, name, Role::User, 100).await.expect("account");
        (issued.account_id.to_string(), issued.token)
    }

    /// POSTs a GraphQL request with an optional token; returns (HTTP status, JSON body).
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut req = self.http.post(self.url()).json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("json body"))
    }

    /// A GraphQL request that must succeed; returns `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(token), query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors ({status}): {body}");
        body["data"].clone()
    }

    /// A GraphQL request that must fail; returns the first error's code and message.
    pub async fn err(&self, token: Option<&str>, query: &str, variables: Value) -> (String, String) {
        let (_, body) = self.post(token, query, variables).await;
        let e = &body["errors"][0];
        assert!(e.is_object(), "expected an error, got {body}");
        (
            e["extensions"]["code"].as_str().unwrap_or("<none>").to_string(),
            e["message"].as_str().unwrap_or("").to_string(),
        )
    }

    /// Asserts that `token` is refused (UNAUTHENTICATED) within `secs` seconds: resolved
    /// tokens are remembered briefly, so a revocation takes effect within that time.
    pub async fn refused_within(&self, token: &str, secs: u64) {
        let start = std::time::Instant::now();
        loop {
            let (_, body) = self.post(Some(token), "{ viewer { id } }", json!({})).await;
            if body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" {
                return;
            }
            assert!(start.elapsed().as_secs() < secs, "{token} still accepted after {secs} s: {body}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Creates a sandbox through the API and returns its id.
    pub async fn create_sandbox(&self, token: &str, name: &str) -> String {
        let data = self
            .ok(token, "mutation($n: String) { createSandbox(input: {name: $n}) { id status } }", json!({"n": name}))
            .await;
        assert_eq!(data["createSandbox"]["status"], "RUNNING");
        data["createSandbox"]["id"].as_str().expect("id").to_string()
    }

    /// Writes `content` to `path` in the sandbox's workspace through the API.
    pub async fn write_file(&self, token: &str, sb: &str, path: &str, content: &str) {
        let q =
            "mutation($s: ID!, $p: String!, $c: String!) { writeFile(sandboxId: $s, path: $p, content: $c) { size } }";
        self.ok(token, q, json!({"s": sb, "p": path, "c": content})).await;
    }

    /// Starts `argv` in the sandbox as a background process through the API; its id.
    pub async fn start_process(&self, token: &str, sb: &str, argv: &[&str]) -> String {
        let q =
            "mutation($s: ID!, $argv: [String!]!) { startProcess(input: {sandboxId: $s, argv: $argv}) { id status } }";
        let p = self.ok(token, q, json!({"s": sb, "argv": argv})).await["startProcess"].clone();
        assert_eq!(p["status"], "RUNNING", "{p}");
        p["id"].as_str().expect("id").to_string()
    }

    /// Runs a raw SQL query returning one integer (counts for "nothing changed" checks).
    pub async fn count(&self, sql: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let db = &self.services.db;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
            .await
            .expect("query")
            .expect("row");
        row.try_get_by_index::<i64>(0).expect("integer")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        // Bounded sandboxes' disks are mounted inside the data dir: the last user of it
        // unmounts them so the directory can go (and no loop device is left behind).
        if Arc::strong_count(&self.data_dir) == 1 {
            let prefix = self.data_dir.path().display().to_string();
            let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
            for m in table.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with(&prefix)) {
                let _ = std::process::Command::new("umount").args(["-l", m]).status();
            }
            remove_sandbox_cgroups(&self.data_dir.path().join("sandboxes"));
        }
    }
}

/// Removes the (empty) cgroups of the sandboxes under `sandboxes`, which a test leaves
/// behind when it does not delete its sandboxes (a server keeps them until delete).
fn remove_sandbox_cgroups(sandboxes: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(sandboxes) else { return };
    let ids: Vec<String> = entries
        .flatten()
        .filter_map(|e| uuid::Uuid::parse_str(&e.file_name().to_string_lossy()).ok())
        .map(|id| id.to_string())
        .collect();
    if ids.is_empty() {
        return;
    }
    let mut stack = vec![(std::path::PathBuf::from("/sys/fs/cgroup"), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
            if e.file_name() == "sandboxql-sandboxes" {
                for id in &ids {
                    let _ = std::fs::remove_dir(e.path().join(id));
                }
            } else if depth < 4 {
                stack.push((e.path(), depth + 1));
            }
        }
    }
}
