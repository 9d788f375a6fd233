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
    /// Its own files: `tmp/`, `root/`, and links `workspace` and `home` to the volume
    /// directories mounted at /mnt/workspace and /mnt/home.
    pub dir: PathBuf,
    /// (host directory, mount path) of each volume mount.
    pub mounts: Vec<(PathBuf, String)>,
    /// Made by `SandboxCreateV2` (spoken to with the V2 calls only), else by `SandboxCreate`.
    pub v2: bool,
    /// Where execs start unless they say.
    pub workdir: String,
    pub tags: Vec<SandboxTag>,
    pub name: Option<String>,
    pub terminated: bool,
    /// How it ended (a `GenericStatus`), once terminated.
    pub end_status: i32,
    /// Its entrypoint's exit code, when that ended it.
    pub exitcode: i32,
    /// When it was made (unix seconds; listings page by it).
    pub created_at: f64,
    pub task_id: String,
    pub execs: Vec<Arc<FakeExec>>,
    /// Where its open ports are reached (see `fake_modal_tunnel`), and their listeners.
    pub tunnels: Vec<sandboxql::backend::modal::proto::TunnelData>,
    pub tunnel_tasks: Vec<tokio::task::AbortHandle>,
}

/// Everything the fake knows and did.
#[derive(Default)]
pub struct State {
    pub calls: Vec<String>,
    pub creates: Vec<SandboxCreateRequest>,
    pub execs_requested: Vec<TaskExecStartRequest>,
    /// (task, policy) of each `TaskSetNetworkAccess`.
    pub network_changes: Vec<(String, sandboxql::backend::modal::proto::NetworkAccess)>,
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
    /// A volume's VolumeFS version as created (0: made without one, which clients treat
    /// as v1).
    pub volume_versions: HashMap<String, i32>,
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
    /// Every n-th router call fails UNAVAILABLE, as a dropped call.
    pub drop_router_every: Option<usize>,
    /// Router calls so far (for `drop_router_every`).
    pub router_calls: usize,
    /// Fake time: each `TaskExecWait` call of a running command ends DEADLINE_EXCEEDED
    /// after this many milliseconds, standing for its 60 s deadline.
    pub wait_call_ms: Option<u64>,
    /// Sandboxes by the `x-idempotency-key` of the create that made them: a retried
    /// create gets the same sandbox, as on Modal.
    pub created_by_key: HashMap<String, (String, String)>,
    /// Answer creates without their tunnels, as when they are not ready yet.
    pub tunnels_late: bool,
    /// Connections accepted by the sandboxes' tunnels.
    pub tunnel_connections: usize,
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
    /// The command router's own address, behind a proxy that `restart_router` cuts.
    pub router: Arc<tokio::sync::Mutex<super::proxy::Proxy>>,
    pub router_addr: SocketAddr,
    /// Signs the tunnels' certificates; sandboxql trusts it by `--modal-tunnel-ca`.
    pub ca: Arc<super::tls::TestCa>,
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
        // The router listens apart from the control plane, as on Modal (a URL of its own).
        let router_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake router");
        let proxy = super::proxy::Proxy::start(router_listener.local_addr().expect("addr")).await;
        let router_addr = proxy.addr;
        let router = Arc::new(tokio::sync::Mutex::new(proxy));
        let ca = Arc::new(super::tls::TestCa::new());
        let fake = FakeModal { state: Arc::new(Mutex::new(state)), root, addr, blobs, router, router_addr, ca };
        let svc = ModalClientServer::new(fake.clone());
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        tokio::spawn(tonic::transport::Server::builder().add_service(svc).serve_with_incoming(incoming));
        let router = TaskCommandRouterServer::new(fake.clone());
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(router_listener);
        tokio::spawn(tonic::transport::Server::builder().add_service(router).serve_with_incoming(incoming));
        fake
    }

    /// Restarts the command router: every connection to it is cut, it is away for
    /// `down`, then back at the same URL with its execs (their processes and output
    /// live on in the task).
    pub async fn restart_router(&self, down: std::time::Duration) {
        let mut proxy = self.router.lock().await;
        proxy.cut();
        tokio::time::sleep(down).await;
        proxy.restore().await;
    }

    /// The router's URL, as access calls answer it.
    pub fn router_url(&self) -> String {
        format!("http://{}", self.router_addr)
    }

    /// Ends a sandbox as Modal would on its own (idle timeout, lifetime, eviction): its
    /// processes die and `SandboxWait` reports `status`.
    pub fn end_sandbox(&self, id: &str, status: i32) {
        let mut st = self.st();
        let sb = st.sandboxes.get_mut(id).expect("fake sandbox");
        sb.terminated = true;
        sb.end_status = status;
        for t in &sb.tunnel_tasks {
            t.abort();
        }
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

    /// Metadata as Modal's clients send it: token id and secret on every call; libmodal
    /// (client type 8 or 9, version 1.0.0, with its own version header) sends the auth
    /// token on every call but `AuthTokenGet`; the official Python client (type 1,
    /// version 1.6.4) only on the V2 sandbox calls. A token sent must be one issued and
    /// unexpired. Then the fault plan.
    pub(super) fn enter<T>(&self, method: &str, req: &Request<T>) -> Result<(), Status> {
        let md = req.metadata();
        let get = |k: &str| md.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        if get("x-modal-token-id") != TOKEN_ID || get("x-modal-token-secret") != TOKEN_SECRET {
            return Err(Status::unauthenticated("bad token"));
        }
        let libmodal = ["8", "9"].contains(&get("x-modal-client-type").as_str())
            && get("x-modal-client-version") == "1.0.0"
            && !get("x-modal-libmodal-version").is_empty();
        let python = get("x-modal-client-type") == "1" && get("x-modal-client-version") == "1.6.4";
        if !(libmodal || python) {
            return Err(Status::failed_precondition("an official client's type and version required"));
        }
        let mut st = self.st();
        st.calls.push(method.to_string());
        let v2_sandbox_call = method.ends_with("V2") || method == "SandboxGetCommandRouterAccess";
        let token = get("x-modal-auth-token");
        if method != "AuthTokenGet" && (libmodal || v2_sandbox_call || !token.is_empty()) {
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
        st.router_calls += 1;
        if st.drop_router_every.is_some_and(|n| st.router_calls.is_multiple_of(n)) {
            return Err(Status::unavailable("injected: the call was dropped"));
        }
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

/// The environment an exec request carries in its inline secret sources.
pub fn exec_env(req: &TaskExecStartRequest) -> HashMap<String, String> {
    use sandboxql::backend::modal::proto::secret_source::Source;
    let mut env = HashMap::new();
    for s in &req.secret_sources {
        if let Some(Source::Env(map)) = &s.source {
            env.extend(map.contents.clone());
        }
    }
    env
}
