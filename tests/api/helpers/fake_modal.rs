//! An in-process fake of Modal's gRPC API and of the task command router, built from the
//! same `.proto` files as the client, on port 0. It checks the metadata libmodal sends
//! (identity, and a short-lived auth token it issues with a configurable lifetime), the
//! router's bearer JWT and the request fields the real service needs; keeps sandboxes as
//! directories on per-sandbox volumes and runs execs for real (see `fake_modal_exec`);
//! serves volume files through signed-URL-like HTTP links; records every call; and
//! injects faults on demand (outages, lost answers, output drops, sandboxes ending).

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use sandboxql::backend::modal::{
    proto::{SandboxCreateRequest, SandboxTag, modal_client_server::ModalClientServer},
    router_proto::{TaskExecStartRequest, task_command_router_server::TaskCommandRouterServer},
};
use tonic::{Request, Status};

use super::fake_modal_exec::FakeExec;

pub const TOKEN_ID: &str = "ak-test-token-id";
pub const TOKEN_SECRET: &str = "as-test-token-secret";

/// A sandbox of the fake.
pub struct FakeSandbox {
    pub dir: PathBuf,
    pub tags: Vec<SandboxTag>,
    pub name: Option<String>,
    pub terminated: bool,
    /// How it ended (a `GenericStatus`), once terminated.
    pub end_status: i32,
    pub task_id: String,
    pub execs: Vec<Arc<FakeExec>>,
}

/// Everything the fake knows and did.
#[derive(Default)]
pub struct State {
    pub calls: Vec<String>,
    pub creates: Vec<SandboxCreateRequest>,
    pub execs_requested: Vec<TaskExecStartRequest>,
    /// Processes actually started (a retried start with a known exec id starts none).
    pub spawned: usize,
    /// Lifetime of the auth tokens it issues, in seconds.
    pub auth_ttl_secs: i64,
    /// Auth tokens issued, with their expiry (unix seconds).
    pub auth_tokens: Vec<(String, i64)>,
    /// Router JWTs issued.
    pub router_jwts: HashSet<String>,
    /// Method → how many next calls are carried out but answered UNAVAILABLE, as when
    /// the reply is lost.
    pub lose_answer: HashMap<String, u32>,
    /// Volumes deleted.
    pub volume_deletes: Vec<String>,
    /// Calls that arrived without a valid auth token (must stay empty).
    pub unauthenticated: Vec<String>,
    pub secrets: HashMap<String, HashMap<String, String>>,
    pub images: HashSet<String>,
    pub volumes: HashMap<String, String>,
    pub sandboxes: HashMap<String, FakeSandbox>,
    pub execs: HashMap<String, Arc<FakeExec>>,
    /// Method → how many next calls fail with UNAVAILABLE.
    pub fail_next: HashMap<String, u32>,
    /// Methods that always fail with UNAVAILABLE.
    pub fail_always: HashSet<String>,
    /// End every output stream with UNAVAILABLE after this many messages.
    pub drop_output_after: Option<usize>,
    /// Output streams dropped so far.
    pub output_drops: u32,
    /// Create sandboxes but answer UNAVAILABLE, as when a reply is lost.
    pub ghost_creates: bool,
    /// Fake time: each `TaskExecWait` call of a running command ends DEADLINE_EXCEEDED
    /// after this many milliseconds, standing for its 60 s deadline.
    pub wait_call_ms: Option<u64>,
    pub(super) next_id: u64,
}

/// The fake server; clone it to reach its state from a test.
#[derive(Clone)]
pub struct FakeModal {
    pub state: Arc<Mutex<State>>,
    pub root: Arc<tempfile::TempDir>,
    pub addr: SocketAddr,
    /// Where volume file links point (the fake's blob server).
    pub blobs: SocketAddr,
}

impl FakeModal {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake modal");
        let addr = listener.local_addr().expect("addr");
        // Volumes on tmpfs when there is one: creating files is ~20× faster than on the
        // overlay disk, which matters for the 10,000-file tree.
        let root = if std::path::Path::new("/dev/shm").is_dir() {
            tempfile::tempdir_in("/dev/shm").expect("tmp")
        } else {
            tempfile::tempdir().expect("tmp")
        };
        let root = Arc::new(root);
        let blobs = super::fake_modal_volume::serve_blobs(root.path().join("volumes")).await;
        let state = State { auth_ttl_secs: 3600, ..Default::default() };
        let fake = FakeModal { state: Arc::new(Mutex::new(state)), root, addr, blobs };
        let svc = ModalClientServer::new(fake.clone());
        let router = TaskCommandRouterServer::new(fake.clone());
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        tokio::spawn(
            tonic::transport::Server::builder().add_service(svc).add_service(router).serve_with_incoming(incoming),
        );
        fake
    }

    /// Ends a sandbox as Modal would on its own (idle timeout, lifetime, eviction): its
    /// processes die and `SandboxWait` reports `status`.
    pub fn end_sandbox(&self, id: &str, status: i32) {
        let mut st = self.st();
        let sb = st.sandboxes.get_mut(id).expect("fake sandbox");
        sb.terminated = true;
        sb.end_status = status;
        for e in &sb.execs {
            if let Some(pid) = e.pid {
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Number of calls of one method so far.
    pub fn count(&self, method: &str) -> usize {
        self.st().calls.iter().filter(|c| c.as_str() == method).count()
    }

    pub(super) fn id(&self, prefix: &str) -> String {
        let mut st = self.st();
        st.next_id += 1;
        format!("{prefix}-{}", st.next_id)
    }

    /// Metadata as libmodal sends it (identity, and the auth token on every call but
    /// `AuthTokenGet`), then the fault plan.
    pub(super) fn enter<T>(&self, method: &str, req: &Request<T>) -> Result<(), Status> {
        let md = req.metadata();
        let get = |k: &str| md.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        if get("x-modal-token-id") != TOKEN_ID || get("x-modal-token-secret") != TOKEN_SECRET {
            return Err(Status::unauthenticated("bad token"));
        }
        if !["8", "9"].contains(&get("x-modal-client-type").as_str())
            || get("x-modal-client-version") != "1.0.0"
            || get("x-modal-libmodal-version").is_empty()
        {
            return Err(Status::failed_precondition("libmodal client type, version and libmodal version required"));
        }
        let mut st = self.st();
        st.calls.push(method.to_string());
        if method != "AuthTokenGet" {
            let token = get("x-modal-auth-token");
            let now = chrono::Utc::now().timestamp();
            if !st.auth_tokens.iter().any(|(t, exp)| *t == token && *exp > now) {
                st.unauthenticated.push(method.to_string());
                return Err(Status::unauthenticated("missing or expired auth token"));
            }
        }
        if st.fail_always.contains(method) {
            return Err(Status::unavailable("injected outage"));
        }
        if let Some(n) = st.fail_next.get_mut(method).filter(|n| **n > 0) {
            *n -= 1;
            return Err(Status::unavailable("injected transient failure"));
        }
        Ok(())
    }

    /// After a call was carried out: whether its answer is to be lost.
    pub(super) fn lose_answer(&self, method: &str) -> Result<(), Status> {
        let mut st = self.st();
        if let Some(n) = st.lose_answer.get_mut(method).filter(|n| **n > 0) {
            *n -= 1;
            return Err(Status::unavailable("injected: done, but the answer was lost"));
        }
        Ok(())
    }

    /// The router's check: a bearer JWT it issued, and none of the control plane's
    /// credentials (libmodal sends the router nothing else).
    pub(super) fn enter_router<T>(&self, method: &str, req: &Request<T>) -> Result<(), Status> {
        let md = req.metadata();
        if md.get("x-modal-token-secret").is_some() || md.get("x-modal-auth-token").is_some() {
            return Err(Status::invalid_argument("control-plane credentials sent to the router"));
        }
        let auth = md.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        let mut st = self.st();
        st.calls.push(method.to_string());
        if !auth.strip_prefix("Bearer ").is_some_and(|j| st.router_jwts.contains(j)) {
            return Err(Status::unauthenticated("bad router JWT"));
        }
        if st.fail_always.contains(method) {
            return Err(Status::unavailable("injected outage"));
        }
        if let Some(n) = st.fail_next.get_mut(method).filter(|n| **n > 0) {
            *n -= 1;
            return Err(Status::unavailable("injected transient failure"));
        }
        Ok(())
    }

    pub(super) fn exec(&self, id: &str) -> Result<Arc<FakeExec>, Status> {
        self.st().execs.get(id).cloned().ok_or_else(|| Status::not_found("no such exec"))
    }
}
