//! Previews of Modal sandboxes: the ports every sandbox opens when it is made
//! (`--modal-preview-ports`, sent as `Sandbox.create(encrypted_ports=…)` sends
//! `open_ports`), found as `Sandbox.tunnels()` finds them (the create's answer when it
//! holds them all, else `SandboxGetTunnels[V2]`), and dialled over TLS to the tunnel's
//! host. The tunnel's address never leaves the server: users reach the port through the
//! preview listener, whose credentials are checked first.

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio_rustls::{
    TlsConnector,
    rustls::{
        ClientConfig, RootCertStore,
        pki_types::{CertificateDer, ServerName, pem::PemObject},
    },
};

use super::{
    ModalBackend,
    client::rpc,
    ids,
    proto::{PortSpec, PortSpecs, SandboxGetTunnelsRequest, TunnelData, generic_result::GenericStatus},
};
use crate::{
    BackendStatus, ExternalId, Lifecycle, PortStream, Ports,
    config::ModalConfig,
    error::{AppError, AppResult, reasons},
};

/// How long Modal may take to say where a new sandbox's tunnels are, in seconds (the
/// official client's `tunnels(timeout=50)` default, shortened: a preview request waits).
const LOOKUP_SECS: f32 = 20.0;
/// How long reaching a tunnel's host may take.
const CONNECT: Duration = Duration::from_secs(10);

/// Tunnel host and port by container port, of one Modal sandbox.
type ByPort = HashMap<u16, (String, u16)>;

/// Where each sandbox's tunnels end, and how to reach them.
pub(super) struct Tunnels {
    /// The container ports every sandbox opens.
    ports: Vec<u16>,
    tls: TlsConnector,
    /// Tunnel host and port by Modal sandbox id and container port.
    known: std::sync::Mutex<HashMap<String, ByPort>>,
}

impl Tunnels {
    /// Tunnels for `cfg.modal_preview_ports`, trusting the public web roots and
    /// `cfg.modal_tunnel_ca`; fails only on an unreadable CA file.
    pub(super) fn new(cfg: &ModalConfig) -> anyhow::Result<Self> {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(path) = &cfg.modal_tunnel_ca {
            for cert in CertificateDer::pem_file_iter(path)? {
                roots.add(cert?)?;
            }
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut ports = cfg.modal_preview_ports.clone();
        ports.sort_unstable();
        ports.dedup();
        Ok(Self { ports, tls: TlsConnector::from(Arc::new(tls)), known: Default::default() })
    }

    /// What a new sandbox's definition opens: one encrypted tunnel per port.
    pub(super) fn open_ports(&self) -> Option<PortSpecs> {
        let ports = self.ports.iter().map(|p| PortSpec { port: u32::from(*p), unencrypted: false, tunnel_type: None });
        (!self.ports.is_empty()).then(|| PortSpecs { ports: ports.collect() })
    }

    /// Keeps the tunnels a create answered with when they are all there (as the official
    /// client does: fewer means some were not ready, and a lookup finds them).
    pub(super) fn remember(&self, sandbox_id: &str, tunnels: &[TunnelData]) {
        if !self.ports.is_empty() && tunnels.len() == self.ports.len() {
            self.keep(sandbox_id, tunnels);
        }
    }

    fn keep(&self, sandbox_id: &str, tunnels: &[TunnelData]) {
        let by_port = tunnels
            .iter()
            .filter_map(|t| {
                Some((u16::try_from(t.container_port).ok()?, (t.host.clone(), u16::try_from(t.port).ok()?)))
            })
            .collect();
        self.lock().insert(sandbox_id.to_string(), by_port);
    }

    /// Forgets a sandbox that ended (its next one has other tunnels).
    pub(super) fn forget(&self, sandbox_id: &str) {
        self.lock().remove(sandbox_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ByPort>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ModalBackend {
    /// Where `port` of the sandbox is reached from outside, asking Modal once per sandbox.
    async fn tunnel(&self, sandbox_id: &str, port: u16) -> AppResult<(String, u16)> {
        let cached = self.tunnels.lock().get(sandbox_id).map(|m| m.get(&port).cloned());
        let found = match cached {
            Some(found) => found,
            None => {
                let req = SandboxGetTunnelsRequest { sandbox_id: sandbox_id.to_string(), timeout: LOOKUP_SECS };
                let resp = if ids::is_v1(sandbox_id) {
                    rpc!(self.client, "SandboxGetTunnels", sandbox_get_tunnels, req.clone()).await?
                } else {
                    rpc!(self.client, "SandboxGetTunnelsV2", sandbox_get_tunnels_v2, req.clone()).await?
                };
                if resp.result.is_some_and(|r| r.status == GenericStatus::Timeout as i32) {
                    return Err(AppError::provider(
                        "the sandbox's ports are not reachable yet",
                        format!("modal SandboxGetTunnels of {sandbox_id}: timeout"),
                    ));
                }
                self.tunnels.keep(sandbox_id, &resp.tunnels);
                self.tunnels.lock().get(sandbox_id).and_then(|m| m.get(&port).cloned())
            }
        };
        // A sandbox made before the port was in the list has no tunnel for it.
        found.ok_or_else(|| {
            AppError::conflict_because(
                reasons::PORT_CLOSED,
                format!("this sandbox opened no tunnel for port {port}; it gets one when it is made again"),
            )
        })
    }
}

#[async_trait]
impl Ports for ModalBackend {
    fn exposable(&self, port: u16) -> AppResult<()> {
        if self.tunnels.ports.contains(&port) {
            return Ok(());
        }
        let open: Vec<String> = self.tunnels.ports.iter().map(u16::to_string).collect();
        Err(AppError::bad_input_because(
            reasons::PORT_NOT_OPENED,
            match open.is_empty() {
                true => "this deployment's Modal sandboxes open no ports (--modal-preview-ports)".to_string(),
                false => format!("Modal sandboxes here open ports {} only (--modal-preview-ports)", open.join(", ")),
            },
        ))
    }

    /// TLS to the tunnel's host, checked against the public roots (and `--modal-tunnel-ca`).
    async fn dial(&self, external_id: &ExternalId, port: u16) -> AppResult<PortStream> {
        self.exposable(port)?;
        if self.status(external_id).await? != BackendStatus::Running {
            return Err(AppError::conflict_because(reasons::NOT_RUNNING, "the sandbox is not running"));
        }
        let (host, tunnel_port) = self.tunnel(external_id.as_str(), port).await?;
        let failed = |what: &str, e: String| {
            AppError::provider("the sandbox's port could not be reached", format!("modal tunnel {what}: {e}"))
        };
        let tcp = tokio::time::timeout(CONNECT, tokio::net::TcpStream::connect((host.as_str(), tunnel_port)))
            .await
            .map_err(|_| failed("connect", "timed out".into()))?
            .map_err(|e| failed("connect", e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(host.clone()).map_err(|e| failed("host", e.to_string()))?;
        let tls = tokio::time::timeout(CONNECT, self.tunnels.tls.connect(name, tcp))
            .await
            .map_err(|_| failed("handshake", "timed out".into()))?
            .map_err(|e| failed("handshake", e.to_string()))?;
        Ok(Box::new(tls))
    }
}
