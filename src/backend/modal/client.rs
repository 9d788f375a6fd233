//! One connection to Modal: the auth metadata the official SDKs send on every call,
//! retries with backoff on transient failures, and the single mapping of gRPC statuses to
//! [`AppError`] (detail for the log only).

use std::{future::Future, time::Duration};

use tonic::{
    Code, Request, Status,
    metadata::{AsciiMetadataValue, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, ClientTlsConfig, Endpoint},
};

use super::proto::{ClientType, modal_client_client::ModalClientClient};
use crate::{
    config::ModalConfig,
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

/// Python SDK version whose behaviour this client follows (the Go SDK sends the same).
const CLIENT_VERSION: &str = "1.0.0";
/// Longest a single call may take; exec output streams are re-opened well before this.
const CALL_TIMEOUT: Duration = Duration::from_secs(90);

/// Adds `x-modal-token-id`, `x-modal-token-secret`, `x-modal-client-type` and
/// `x-modal-client-version` to every request, as `modal` and `libmodal` do.
#[derive(Clone)]
pub struct Auth {
    token_id: AsciiMetadataValue,
    token_secret: AsciiMetadataValue,
    client_type: AsciiMetadataValue,
}

impl Interceptor for Auth {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let md = req.metadata_mut();
        md.insert("x-modal-token-id", self.token_id.clone());
        md.insert("x-modal-token-secret", self.token_secret.clone());
        md.insert("x-modal-client-type", self.client_type.clone());
        md.insert("x-modal-client-version", MetadataValue::from_static(CLIENT_VERSION));
        Ok(req)
    }
}

/// A cheap-to-clone Modal client with retry policy.
#[derive(Clone)]
pub(super) struct ModalClient {
    api: Api,
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl ModalClient {
    /// Connects lazily: the server starts even while Modal is unreachable, and calls
    /// then fail as PROVIDER_UNAVAILABLE.
    pub(super) fn connect(cfg: &ModalConfig) -> anyhow::Result<Self> {
        let (Some(id), Some(secret)) = (&cfg.modal_token_id, &cfg.modal_token_secret) else {
            anyhow::bail!("the modal backend needs MODAL_TOKEN_ID and MODAL_TOKEN_SECRET");
        };
        let mut endpoint = Endpoint::from_shared(cfg.modal_server_url.clone())?
            .connect_timeout(Duration::from_secs(10))
            .timeout(CALL_TIMEOUT)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10))
            .tcp_nodelay(true);
        if cfg.modal_server_url.starts_with("https://") {
            endpoint = endpoint.tls_config(ClientTlsConfig::new().with_native_roots())?;
        }
        let auth = Auth {
            token_id: id.0.parse().map_err(|_| anyhow::anyhow!("MODAL_TOKEN_ID is not valid ASCII"))?,
            token_secret: secret.0.parse().map_err(|_| anyhow::anyhow!("MODAL_TOKEN_SECRET is not valid ASCII"))?,
            client_type: (ClientType::Client as i32).to_string().parse()?,
        };
        let api = ModalClientClient::with_interceptor(endpoint.connect_lazy(), auth)
            .max_decoding_message_size(64 * 1024 * 1024);
        Ok(Self {
            api,
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

    /// Sleeps the current backoff and doubles it.
    pub(super) async fn pause(&self, delay: &mut Duration) {
        tokio::time::sleep(*delay).await;
        *delay = (*delay * 2).min(self.max_delay);
    }

    /// Attempts a stream may be re-opened without progress before giving up.
    pub(super) fn max_attempts(&self) -> u32 {
        self.max_attempts
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

/// NOT_FOUND stays NOT_FOUND; everything else is PROVIDER_UNAVAILABLE. Modal's message
/// goes to the log only.
pub(super) fn to_app_error(rpc: &'static str, status: &Status) -> AppError {
    if status.code() == Code::NotFound {
        tracing::info!(rpc, detail = status.message(), "Modal: not found");
        return AppError::NotFound("sandbox");
    }
    AppError::provider(
        "the sandbox provider is unavailable; try again",
        format!("modal {rpc}: {:?}: {}", status.code(), status.message()),
    )
}
