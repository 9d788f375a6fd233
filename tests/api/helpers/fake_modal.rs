//! An in-process fake of Modal's gRPC API, built from the same `.proto` as the client,
//! on port 0. It checks the auth metadata and the request fields the real service
//! needs, keeps sandboxes as directories and runs execs for real (see
//! `fake_modal_exec`), records every call for assertions, and injects faults on demand.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use sandboxql::backend::modal::proto::{
    ContainerExecRequest, SandboxCreateRequest, SandboxTag, modal_client_server::ModalClientServer,
};
use tonic::{Request, Status};

use super::fake_modal_exec::FakeExec;

pub const TOKEN_ID: &str = "ak-test-token-id";
pub const TOKEN_SECRET: &str = "as-test-token-secret";

/// A sandbox of the fake.
pub struct FakeSandbox {
    pub dir: PathBuf,
    pub tags: Vec<SandboxTag>,
    pub terminated: bool,
    pub task_id: String,
    pub execs: Vec<Arc<FakeExec>>,
}

/// Everything the fake knows and did.
#[derive(Default)]
pub struct State {
    pub calls: Vec<String>,
    pub creates: Vec<SandboxCreateRequest>,
    pub execs_requested: Vec<ContainerExecRequest>,
    pub secrets: HashMap<String, HashMap<String, String>>,
    pub images: HashSet<String>,
    pub volumes: HashMap<String, String>,
    pub sandboxes: HashMap<String, FakeSandbox>,
    pub execs: HashMap<String, Arc<FakeExec>>,
    /// Method → how many next calls fail with UNAVAILABLE.
    pub fail_next: HashMap<String, u32>,
    /// Methods that always fail with UNAVAILABLE.
    pub fail_always: HashSet<String>,
    /// End every output stream with UNAVAILABLE after this many batches.
    pub drop_output_after: Option<usize>,
    /// Output streams dropped so far.
    pub output_drops: u32,
    /// Create sandboxes but answer UNAVAILABLE, as when a reply is lost.
    pub ghost_creates: bool,
    pub(super) next_id: u64,
}

/// The fake server; clone it to reach its state from a test.
#[derive(Clone)]
pub struct FakeModal {
    pub state: Arc<Mutex<State>>,
    pub root: Arc<tempfile::TempDir>,
    pub addr: SocketAddr,
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
        let fake = FakeModal { state: Arc::default(), root: Arc::new(root), addr };
        let svc = ModalClientServer::new(fake.clone());
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        tokio::spawn(tonic::transport::Server::builder().add_service(svc).serve_with_incoming(incoming));
        fake
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

    /// Auth metadata as the SDKs send it, then the fault plan.
    pub(super) fn enter<T>(&self, method: &str, req: &Request<T>) -> Result<(), Status> {
        let md = req.metadata();
        let get = |k: &str| md.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        if get("x-modal-token-id") != TOKEN_ID || get("x-modal-token-secret") != TOKEN_SECRET {
            return Err(Status::unauthenticated("bad token"));
        }
        if get("x-modal-client-type").parse::<i32>().is_err() || get("x-modal-client-version").is_empty() {
            return Err(Status::failed_precondition("client type and version metadata required"));
        }
        let mut st = self.st();
        st.calls.push(method.to_string());
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
