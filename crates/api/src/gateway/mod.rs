//! The Anthropic gateway: the only way a sandbox reaches the Messages API. Claude inside a
//! sandbox gets a per-run token as its API key and the gateway as its base URL; the
//! gateway checks the token (its run must be RUNNING), checks the account's budget,
//! swaps in the operator's key, forwards to the upstream and streams the answer back
//! untouched, charging its usage to the run's account. The operator's key never enters a
//! sandbox.
//!
//! It listens on its own TCP port (`--gateway-listen`; Modal sandboxes reach it at
//! `--gateway-public-url`) and on a Unix socket that local jails get bind-mounted and
//! reach through `sandboxql relay`.

pub mod broker;
mod egress;
pub mod egress_rules;
mod proxy;
pub mod tap;

use std::{net::SocketAddr, os::unix::fs::PermissionsExt, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{Router, routing::any};
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;

use crate::{
    config::{GatewayConfig, Limits, Secret},
    http::serve::{ConnectionLimits, serve},
    service::billing::meter::Meter,
};

/// What every gateway request needs.
#[derive(Clone)]
pub struct GatewayState {
    meter: Meter,
    client: reqwest::Client,
    upstream: Arc<str>,
    api_key: Option<Secret>,
    auth_token: Option<Secret>,
    max_request_bytes: u64,
    max_json_bytes: u64,
    /// The credential broker (None: not started, as in tests of the gateway alone).
    broker: Option<broker::BrokerState>,
}

impl GatewayState {
    /// The state for `cfg`, charging through `meter`.
    pub fn new(cfg: &GatewayConfig, limits: &Limits, meter: Meter) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(600))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .context("building the gateway's HTTP client")?;
        Ok(Self {
            meter,
            client,
            upstream: cfg.anthropic_base_url.trim_end_matches('/').into(),
            api_key: cfg.anthropic_api_key.clone(),
            auth_token: cfg.anthropic_auth_token.clone(),
            max_request_bytes: limits.gateway_max_request_bytes,
            max_json_bytes: limits.gateway_max_json_bytes,
            broker: None,
        })
    }

    /// This gateway also serving the credential broker.
    pub fn with_broker(mut self, broker: broker::BrokerState) -> Self {
        self.broker = Some(broker);
        self
    }
}

/// The gateway's routes: `/v1/…` forwarded upstream, `/broker/…` to the hosts of
/// sandboxes' credentials, everything else 404.
pub fn router(state: GatewayState) -> Router {
    Router::new()
        .route("/v1/{*rest}", any(proxy::forward))
        .route("/broker/{token}/{kind}/{host}", any(broker::forward_root))
        .route("/broker/{token}/{kind}/{host}/{*rest}", any(broker::forward))
        .with_state(state)
}

/// Headers that belong to one connection (and the proxy's), not to the message: never
/// passed on either way.
const HOP_BY_HOP: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A request body streamed on upstream, failing once more than `max` bytes came (the
/// upstream then sees a broken request, never a cut one that looks whole).
fn limited(body: axum::body::Body, max: u64) -> reqwest::Body {
    use futures::StreamExt;
    let mut sent = 0u64;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        sent += chunk.len() as u64;
        if sent > max {
            return Err(std::io::Error::other(format!("request body over {max} bytes")));
        }
        Ok::<_, std::io::Error>(chunk)
    });
    reqwest::Body::wrap_stream(stream)
}

/// The gateway's listeners, bound before anything that needs their addresses.
pub struct GatewayListeners {
    tcp: TcpListener,
    unix: UnixListener,
    egress: Option<(UnixListener, egress::EgressProxy)>,
    /// Address of the TCP listener.
    pub addr: SocketAddr,
    /// Path of the Unix socket local jails get.
    pub socket: PathBuf,
    /// Path of the egress proxy's socket, when `--sandbox-egress` allows any host.
    pub egress_socket: Option<PathBuf>,
    dir: PathBuf,
}

fn bind_socket(path: &std::path::Path) -> anyhow::Result<UnixListener> {
    let unix = UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    // Jailed processes run as an unprivileged uid; the run token (gateway) and the
    // allow-list (egress) are the access checks.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(unix)
}

impl GatewayListeners {
    /// Binds the TCP listener and a Unix socket in a fresh private directory (a socket
    /// path must stay under ~100 bytes, so not under a possibly long data dir).
    pub async fn bind(cfg: &GatewayConfig, limits: &Limits) -> anyhow::Result<Self> {
        let rules = egress_rules::parse_rules(&cfg.sandbox_egress)?;
        let tcp = TcpListener::bind(cfg.gateway_listen)
            .await
            .with_context(|| format!("binding the gateway to {}", cfg.gateway_listen))?;
        let addr = tcp.local_addr()?;
        let dir = std::env::temp_dir().join(format!("sandboxql-gw-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711))?;
        let socket = dir.join("gateway.sock");
        let unix = bind_socket(&socket)?;
        let (egress, egress_socket) = if rules.is_empty() {
            (None, None)
        } else {
            let path = dir.join("egress.sock");
            let proxy = egress::EgressProxy::new(
                rules,
                limits.egress_max_connections as usize,
                limits.egress_max_head_bytes as usize,
            );
            (Some((bind_socket(&path)?, proxy)), Some(path))
        };
        Ok(Self { tcp, unix, egress, addr, socket, egress_socket, dir })
    }

    /// The gateway's base URL for processes on this host.
    pub fn local_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves both listeners until `shutdown` (the TCP one within `connections`), then
    /// removes the socket directory.
    pub fn spawn(self, state: GatewayState, connections: ConnectionLimits, shutdown: CancellationToken) {
        let app = router(state);
        let (tcp, unix, dir) = (self.tcp, self.unix, self.dir);
        if let Some((listener, proxy)) = self.egress {
            tokio::spawn(proxy.serve(listener, shutdown.clone()));
        }
        tokio::spawn(serve(tcp, app.clone(), connections, shutdown.clone()));
        tokio::spawn(async move {
            let served = axum::serve(unix, app).with_graceful_shutdown(shutdown.cancelled_owned());
            if let Err(e) = served.await {
                tracing::error!(error = %e, "gateway socket failed");
            }
            let _ = std::fs::remove_dir_all(&dir);
        });
    }
}
