//! The fake's tunnels: each encrypted port a sandbox opens (`open_ports`) is a TLS
//! listener on localhost, with a certificate from the fake's own CA, whose connections
//! go to the container port (the fake's processes share the host's loopback). They close
//! when the sandbox ends. `SandboxGetTunnels[V2]` answers where they are, as Modal does.

use sandboxql::backend::modal::proto::{
    GenericResult, PortSpecs, SandboxGetTunnelsRequest, SandboxGetTunnelsResponse, TunnelData,
    generic_result::GenericStatus,
};
use tokio::task::AbortHandle;
use tonic::Status;

use super::fake_modal::FakeModal;

/// The host every fake tunnel is on (its certificate's name).
pub const TUNNEL_HOST: &str = "localhost";

impl FakeModal {
    /// Opens the definition's ports, refusing what Modal refuses.
    pub(super) fn open_tunnels(
        &self,
        ports: Option<&PortSpecs>,
    ) -> Result<(Vec<TunnelData>, Vec<AbortHandle>), Status> {
        let Some(ports) = ports else { return Ok(Default::default()) };
        let mut seen = std::collections::HashSet::new();
        let (mut tunnels, mut tasks) = (Vec::new(), Vec::new());
        for spec in &ports.ports {
            let port = u16::try_from(spec.port).ok().filter(|p| *p > 0);
            let Some(port) = port.filter(|p| seen.insert(*p)) else {
                return Err(Status::invalid_argument(format!("bad or repeated port {}", spec.port)));
            };
            if spec.unencrypted || spec.tunnel_type.is_some_and(|t| t != 0) {
                return Err(Status::unimplemented("the fake opens encrypted TCP tunnels only"));
            }
            let std = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| Status::internal(e.to_string()))?;
            std.set_nonblocking(true).map_err(|e| Status::internal(e.to_string()))?;
            let listener = tokio::net::TcpListener::from_std(std).map_err(|e| Status::internal(e.to_string()))?;
            let at = listener.local_addr().map_err(|e| Status::internal(e.to_string()))?.port();
            let acceptor = self.ca.acceptor(&[TUNNEL_HOST]);
            let me = self.clone();
            tasks.push(
                tokio::spawn(async move {
                    while let Ok((tcp, _)) = listener.accept().await {
                        me.st().tunnel_connections += 1;
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                            // Nothing listening: the tunnel closes at once, as Modal's does.
                            let Ok(mut app) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return };
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut app).await;
                        });
                    }
                })
                .abort_handle(),
            );
            tunnels.push(TunnelData {
                host: TUNNEL_HOST.into(),
                port: u32::from(at),
                unencrypted_host: None,
                unencrypted_port: None,
                container_port: u32::from(port),
            });
        }
        Ok((tunnels, tasks))
    }

    /// `SandboxGetTunnels[V2]`: a running sandbox's tunnels.
    pub(super) fn tunnels_of(
        &self,
        r: SandboxGetTunnelsRequest,
        v2: bool,
    ) -> Result<SandboxGetTunnelsResponse, Status> {
        self.generation(&r.sandbox_id, v2)?;
        let st = self.st();
        let sb = st.sandboxes.get(&r.sandbox_id).ok_or_else(|| Status::not_found("no such sandbox"))?;
        if sb.terminated {
            return Err(Status::failed_precondition("Sandbox has already finished with status terminated"));
        }
        let result = GenericResult { status: GenericStatus::Success as i32, ..Default::default() };
        Ok(SandboxGetTunnelsResponse { result: Some(result), tunnels: sb.tunnels.clone() })
    }
}
