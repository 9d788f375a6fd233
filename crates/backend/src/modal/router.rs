//! The task command router of one Modal task (container): where execs start and stream,
//! as the official client drives it. Its URL and a JWT come from
//! `SandboxGetCommandRouterAccess` for a V2 sandbox (or with `SandboxCreateV2`'s answer,
//! good for the first connection) and `TaskGetCommandRouterAccess` for a V1 one; calls
//! carry only `authorization: Bearer <jwt>`; an UNAUTHENTICATED answer refreshes the JWT
//! once and retries; transient failures are retried with a short backoff.

use std::{
    future::Future,
    sync::{Arc, RwLock},
    time::Duration,
};

use tonic::{
    Code, Request, Status,
    metadata::AsciiMetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, ClientTlsConfig, Endpoint},
};

use super::{
    auth_token::jwt_expiry,
    client::{ModalClient, is_transient, rpc, to_app_error},
    proto::{
        CommandRouterAccess, SandboxGetCommandRouterAccessRequest, TaskGetCommandRouterAccessRequest,
        sandbox_get_command_router_access_request::Target,
    },
    router_proto::task_command_router_client::TaskCommandRouterClient,
};
use crate::error::{AppError, AppResult};

/// Attempts of one router call on transient failures (libmodal: 10).
const ROUTER_ATTEMPTS: u32 = 10;

/// Adds the router JWT to every call, and nothing else.
#[derive(Clone)]
pub(super) struct Bearer(Arc<RwLock<AsciiMetadataValue>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let v = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        req.metadata_mut().insert("authorization", v);
        Ok(req)
    }
}

/// The generated router stub with its JWT attached.
pub(super) type RouterApi = TaskCommandRouterClient<InterceptedService<Channel, Bearer>>;

/// A connection to one task's command router.
pub(super) struct Router {
    /// The task it serves.
    pub task_id: String,
    api: RouterApi,
    jwt: Arc<RwLock<AsciiMetadataValue>>,
    url: String,
    client: ModalClient,
    /// Access comes from `SandboxGetCommandRouterAccess` (a V2 sandbox's task).
    v2: bool,
    refresh: tokio::sync::Mutex<()>,
}

/// Fresh access to task `task_id`'s router, by the call its sandbox's version takes.
async fn fetch_access(client: &ModalClient, task_id: &str, v2: bool) -> AppResult<CommandRouterAccess> {
    if v2 {
        let req = SandboxGetCommandRouterAccessRequest { target: Some(Target::TaskId(task_id.to_string())) };
        let r = rpc!(client, "SandboxGetCommandRouterAccess", sandbox_get_command_router_access, req.clone()).await?;
        Ok(CommandRouterAccess { jwt: r.jwt, url: r.url })
    } else {
        let req = TaskGetCommandRouterAccessRequest { task_id: task_id.to_string() };
        let r = rpc!(client, "TaskGetCommandRouterAccess", task_get_command_router_access, req.clone()).await?;
        Ok(CommandRouterAccess { jwt: r.jwt, url: r.url })
    }
}

fn bearer(jwt: &str) -> AppResult<AsciiMetadataValue> {
    format!("Bearer {jwt}").parse().map_err(|_| {
        AppError::provider("the sandbox provider is unavailable; try again", "modal router JWT is not ASCII")
    })
}

fn unavailable(detail: String) -> AppError {
    AppError::provider("the sandbox provider is unavailable; try again", detail)
}

impl Router {
    /// Connects to task `task_id`'s router with `initial` access (a V2 create's answer) or
    /// access asked for now. The router is reached over TLS; plaintext only when the
    /// control plane itself is plaintext (a local test server), as the official client
    /// allows for localhost.
    pub(super) async fn connect(
        client: &ModalClient,
        task_id: &str,
        v2: bool,
        initial: Option<CommandRouterAccess>,
    ) -> AppResult<Self> {
        let access = match initial {
            Some(a) => a,
            None => fetch_access(client, task_id, v2).await?,
        };
        let secure = access.url.starts_with("https://");
        let local_plaintext = client.insecure && access.url.starts_with("http://");
        if !(secure || local_plaintext) {
            return Err(unavailable(format!("modal router URL {:?} is not https", access.url)));
        }
        let mut endpoint = Endpoint::from_shared(access.url.clone())
            .map_err(|e| unavailable(format!("modal router URL {:?}: {e}", access.url)))?
            .connect_timeout(Duration::from_secs(10))
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10))
            .tcp_nodelay(true);
        if secure {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_native_roots())
                .map_err(|e| unavailable(format!("modal router TLS: {e}")))?;
        }
        let jwt = Arc::new(RwLock::new(bearer(&access.jwt)?));
        let api = TaskCommandRouterClient::with_interceptor(endpoint.connect_lazy(), Bearer(jwt.clone()))
            .max_decoding_message_size(64 * 1024 * 1024);
        Ok(Self {
            task_id: task_id.to_string(),
            api,
            jwt,
            url: access.url,
            client: client.clone(),
            v2,
            refresh: tokio::sync::Mutex::new(()),
        })
    }

    /// Fetches a new JWT unless the current one has more than 30 s left (another caller
    /// refreshed it meanwhile).
    async fn refresh_jwt(&self) -> AppResult<()> {
        let _one = self.refresh.lock().await;
        let current = self.jwt.read().unwrap_or_else(|e| e.into_inner()).to_str().unwrap_or("").to_string();
        let left = jwt_expiry(current.trim_start_matches("Bearer ")).map(|e| (e - chrono::Utc::now()).num_seconds());
        if left.is_some_and(|s| s > 30) {
            return Ok(());
        }
        let access = fetch_access(&self.client, &self.task_id, self.v2).await?;
        if access.url != self.url {
            tracing::warn!(task = %self.task_id, "Modal moved this task's command router; keeping the old URL");
        }
        *self.jwt.write().unwrap_or_else(|e| e.into_inner()) = bearer(&access.jwt)?;
        Ok(())
    }

    /// Calls `f` with retries on transient failures and one JWT refresh on
    /// UNAUTHENTICATED. Returns the raw status so streaming callers can tell a drop.
    pub(super) async fn call_raw<T, F, Fut>(&self, rpc: &'static str, f: F) -> Result<T, (Status, AppError)>
    where
        F: FnMut(RouterApi) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        self.call_attempts(rpc, ROUTER_ATTEMPTS, f).await
    }

    /// [`Router::call_raw`] with at most `attempts` tries on transient failures (1: the
    /// caller has its own retry policy, as the exit-status wait does).
    pub(super) async fn call_attempts<T, F, Fut>(
        &self,
        rpc: &'static str,
        attempts: u32,
        mut f: F,
    ) -> Result<T, (Status, AppError)>
    where
        F: FnMut(RouterApi) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let (mut attempt, mut refreshed) = (1, false);
        let mut delay = Duration::from_millis(10);
        loop {
            match f(self.api.clone()).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(s) if s.code() == Code::Unauthenticated && !refreshed => {
                    refreshed = true;
                    if let Err(e) = self.refresh_jwt().await {
                        return Err((s, e));
                    }
                }
                Err(s) if is_transient(&s) && attempt < attempts => {
                    tracing::debug!(rpc, attempt, code = ?s.code(), "Modal router call failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                    attempt += 1;
                }
                Err(s) => {
                    let e = to_app_error(rpc, &s);
                    return Err((s, e));
                }
            }
        }
    }

    /// [`Router::call_raw`] for callers that need only the error.
    pub(super) async fn call<T, F, Fut>(&self, rpc: &'static str, f: F) -> AppResult<T>
    where
        F: FnMut(RouterApi) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        self.call_raw(rpc, f).await.map_err(|(_, e)| e)
    }

    /// The control-plane client (for backoff settings).
    pub(super) fn client(&self) -> &ModalClient {
        &self.client
    }
}
