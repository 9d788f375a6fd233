//! One connection to Modal: the identity and auth metadata libmodal sends on every call
//! (including the short-lived `AuthTokenGet` token, refreshed before it expires), retries
//! with backoff on transient failures, and the single mapping of gRPC statuses to
//! [`AppError`] (detail for the log only).

use std::{future::Future, time::Duration};

use tonic::{
    Code, Request, Status,
    metadata::{AsciiMetadataValue, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, ClientTlsConfig, Endpoint},
};

use super::{
    auth_token::{Held, TokenSlot},
    proto::{AuthTokenGetRequest, ClientType, modal_client_client::ModalClientClient},
};
use crate::{
    config::{Limits, ModalConfig},
    error::{AppError, AppResult},
};

/// Calls one RPC through [`ModalClient::call`] with its retries: `rpc!(client, "Name",
/// method, request)`.
macro_rules! rpc {
    ($client:expr, $name:literal, $method:ident, $req:expr) => {{
        let req = $req;
        $client.call($name, move |mut api| {
            let req = req.clone();
            async move { api.$method(req).await }
        })
    }};
}
pub(super) use rpc;

/// The generated stub with auth attached.
pub(super) type Api = ModalClientClient<InterceptedService<Channel, Auth>>;

/// Python SDK version whose behaviour this client follows (libmodal sends the same).
const CLIENT_VERSION: &str = "1.0.0";
/// The libmodal release whose protocol this client speaks, call for call (auth token,
/// command router exec, retries); sandboxql names itself in the user agent.
const LIBMODAL_VERSION: &str = "modal-go/0.9.0";

/// Adds `x-modal-token-id`, `x-modal-token-secret`, `x-modal-client-type`,
/// `x-modal-client-version`, `x-modal-libmodal-version` and, once fetched,
/// `x-modal-auth-token` to every request, as libmodal does.
#[derive(Clone)]
pub struct Auth {
    token_id: AsciiMetadataValue,
    token_secret: AsciiMetadataValue,
    client_type: AsciiMetadataValue,
    tokens: Option<TokenSlot>,
}

impl Interceptor for Auth {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let md = req.metadata_mut();
        md.insert("x-modal-token-id", self.token_id.clone());
        md.insert("x-modal-token-secret", self.token_secret.clone());
        md.insert("x-modal-client-type", self.client_type.clone());
        md.insert("x-modal-client-version", MetadataValue::from_static(CLIENT_VERSION));
        md.insert("x-modal-libmodal-version", MetadataValue::from_static(LIBMODAL_VERSION));
        if let Some(held) = self.tokens.as_ref().and_then(TokenSlot::current) {
            md.insert("x-modal-auth-token", held.value);
        }
        Ok(req)
    }
}

/// A cheap-to-clone Modal client with retry policy.
#[derive(Clone)]
pub(super) struct ModalClient {
    api: Api,
    /// The same channel without the auth token, for `AuthTokenGet` itself.
    bare: Api,
    tokens: TokenSlot,
    /// The control plane is plaintext (a local test server): so may the router be.
    pub(super) insecure: bool,
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl ModalClient {
    /// Connects lazily: the server starts even while Modal is unreachable, and calls
    /// then fail as PROVIDER_UNAVAILABLE.
    pub(super) fn connect(cfg: &ModalConfig, limits: &Limits) -> anyhow::Result<Self> {
        let (Some(id), Some(secret)) = (&cfg.modal_token_id, &cfg.modal_token_secret) else {
            anyhow::bail!("the modal backend needs MODAL_TOKEN_ID and MODAL_TOKEN_SECRET");
        };
        let mut endpoint = Endpoint::from_shared(cfg.modal_server_url.clone())?
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(limits.io.modal_call_timeout_secs))
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .user_agent(concat!("sandboxql/", env!("CARGO_PKG_VERSION")))?;
        let insecure = !cfg.modal_server_url.starts_with("https://");
        if !insecure {
            endpoint = endpoint.tls_config(ClientTlsConfig::new().with_native_roots())?;
        }
        let tokens = TokenSlot::default();
        let auth = Auth {
            token_id: id.0.parse().map_err(|_| anyhow::anyhow!("MODAL_TOKEN_ID is not valid ASCII"))?,
            token_secret: secret.0.parse().map_err(|_| anyhow::anyhow!("MODAL_TOKEN_SECRET is not valid ASCII"))?,
            client_type: (ClientType::LibmodalGo as i32).to_string().parse()?,
            tokens: Some(tokens.clone()),
        };
        let channel = endpoint.connect_lazy();
        let bare = ModalClientClient::with_interceptor(channel.clone(), Auth { tokens: None, ..auth.clone() });
        let api = ModalClientClient::with_interceptor(channel, auth).max_decoding_message_size(64 * 1024 * 1024);
        Ok(Self {
            api,
            bare,
            tokens,
            insecure,
            max_attempts: cfg.modal_max_attempts.max(1),
            base_delay: Duration::from_millis(cfg.modal_retry_base_ms),
            max_delay: Duration::from_millis(cfg.modal_retry_cap_ms.max(cfg.modal_retry_base_ms)),
        })
    }

    /// Calls `f` until it succeeds, fails permanently, or runs out of attempts.
    pub(super) async fn call<T, F, Fut>(&self, rpc: &'static str, mut f: F) -> AppResult<T>
    where
        F: FnMut(Api) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let mut delay = self.base_delay;
        let mut attempt = 1;
        loop {
            self.ensure_token().await?;
            match f(self.api.clone()).await {
                Ok(resp) => return Ok(resp.into_inner()),
                Err(status) if is_transient(&status) && attempt < self.max_attempts => {
                    tracing::warn!(rpc, attempt, code = ?status.code(), detail = status.message(), "Modal call failed; retrying");
                    self.pause(&mut delay).await;
                    attempt += 1;
                }
                Err(status) => return Err(to_app_error(rpc, &status)),
            }
        }
    }

    /// Makes sure a valid auth token is held, fetching one when none is or it is due.
    /// Past the refresh point one caller fetches while the others go on with the old,
    /// still valid token; a failed refresh keeps the old token while it lasts.
    pub(super) async fn ensure_token(&self) -> AppResult<()> {
        let now = chrono::Utc::now();
        let held = self.tokens.current();
        if held.as_ref().is_some_and(|h| !h.due(now)) {
            return Ok(());
        }
        let still_valid = held.as_ref().is_some_and(|h| h.valid(now));
        let _guard = match self.tokens.fetching.try_lock() {
            Ok(g) => g,
            Err(_) if still_valid => return Ok(()),
            Err(_) => self.tokens.fetching.lock().await,
        };
        if self.tokens.current().is_some_and(|h| !h.due(chrono::Utc::now())) {
            return Ok(());
        }
        let mut delay = self.base_delay;
        let mut attempt = 1;
        let fetched = loop {
            match self.bare.clone().auth_token_get(AuthTokenGetRequest {}).await {
                Ok(r) => break Ok(r.into_inner().token),
                Err(s) if is_transient(&s) && attempt < self.max_attempts && !still_valid => {
                    self.pause(&mut delay).await;
                    attempt += 1;
                }
                Err(s) => break Err(s),
            }
        };
        match fetched {
            Ok(token) => match Held::new(&token, chrono::Utc::now()).filter(|_| !token.is_empty()) {
                Some(h) => {
                    self.tokens.set(h);
                    Ok(())
                }
                None => Err(AppError::provider(
                    "the sandbox provider is unavailable; try again",
                    "modal AuthTokenGet: empty or malformed token",
                )),
            },
            Err(s) if still_valid => {
                tracing::warn!(code = ?s.code(), detail = s.message(), "could not refresh the Modal auth token; using the current one");
                Ok(())
            }
            Err(s) => Err(to_app_error("AuthTokenGet", &s)),
        }
    }

    /// `ClientHello` once at start-up: logs what Modal warns this client about
    /// (deprecation, resource limits). A failure is logged, not fatal: Modal may be down
    /// while the server starts.
    pub(super) async fn hello(&self) {
        match rpc!(self, "ClientHello", client_hello, ()).await {
            Ok(r) => {
                if !r.warning.is_empty() {
                    tracing::warn!(warning = %r.warning, "Modal says");
                }
                for w in r.server_warnings {
                    tracing::warn!(kind = w.r#type, warning = %w.message, "Modal warns");
                }
            }
            Err(e) => tracing::warn!(error = ?e.log_detail(), "Modal ClientHello failed"),
        }
    }

    /// Sleeps the current backoff and doubles it.
    pub(super) async fn pause(&self, delay: &mut Duration) {
        tokio::time::sleep(*delay).await;
        *delay = (*delay * 2).min(self.max_delay);
    }

    /// Attempts a stream may be re-opened without progress before giving up.
    pub(super) fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The longest backoff delay.
    pub(super) fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The first backoff delay.
    pub(super) fn base_delay(&self) -> Duration {
        self.base_delay
    }
}

/// Failures worth another attempt: the service or the network hiccuped.
pub(super) fn is_transient(status: &Status) -> bool {
    matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded)
}

/// Failures after which the official client asks the router again for an idempotent
/// read (an output stream re-opened at its offset, an exit-status wait): the transient
/// ones, and the codes a cut connection surfaces as (UNKNOWN for a broken HTTP/2 body,
/// INTERNAL, CANCELLED) — `_task_command_router_client.py`'s retryable set.
pub(super) fn is_retryable_read(status: &Status) -> bool {
    is_transient(status) || matches!(status.code(), Code::Unknown | Code::Internal | Code::Cancelled)
}

/// NOT_FOUND stays NOT_FOUND; everything else is PROVIDER_UNAVAILABLE. Modal's message
/// goes to the log only.
pub(super) fn to_app_error(rpc: &'static str, status: &Status) -> AppError {
    if status.code() == Code::NotFound {
        tracing::info!(rpc, detail = status.message(), "Modal: not found");
        return AppError::NotFound("sandbox");
    }
    if status.code() == Code::AlreadyExists {
        tracing::info!(rpc, detail = status.message(), "Modal: already exists");
        return AppError::conflict_because(crate::error::reasons::ALREADY_EXISTS, "already exists");
    }
    crate::metrics::backend_error("modal");
    AppError::provider(
        "the sandbox provider is unavailable; try again",
        format!("modal {rpc}: {:?}: {}", status.code(), status.message()),
    )
}
