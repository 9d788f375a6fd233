//! The network of a sandbox whose commands share one namespace (a jailing root server):
//! the namespace itself and, on its loopback, the gateway's port (and the egress proxy's)
//! served by this process and carried to their host sockets, as `sandboxql relay` does
//! for a jail of its own. Dropped when the sandbox's commands are all gone.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{
    forward,
    jail::{EGRESS_PORT, GATEWAY_PORT, JailNetwork},
    netns::NetNs,
};

/// A sandbox's namespace and the ports served in it.
pub struct SandboxNet {
    ns: NetNs,
    _serving: DropGuard,
}

impl std::fmt::Debug for SandboxNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxNet").field("ns", &self.ns).finish()
    }
}

impl SandboxNet {
    /// A new namespace, with the gateway (and egress) ports of `network` on its loopback
    /// before any command joins it. Needs a Tokio runtime.
    pub fn start(network: Option<&JailNetwork>) -> std::io::Result<Self> {
        let ns = NetNs::create()?;
        let cancel = CancellationToken::new();
        if let Some(net) = network {
            let slots = Arc::new(Semaphore::new(usize::try_from(net.max_connections).unwrap_or(1).max(1)));
            let mut ports = vec![(GATEWAY_PORT, net.gateway_socket.clone())];
            ports.extend(net.egress_socket.clone().map(|s| (EGRESS_PORT, s)));
            for (port, socket) in ports {
                let listener = ns.enter(|| {
                    let l = std::net::TcpListener::bind(("127.0.0.1", port))?;
                    l.set_nonblocking(true)?;
                    Ok(l)
                })?;
                let listener = tokio::net::TcpListener::from_std(listener)?;
                let (stop, slots) = (cancel.clone(), slots.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = forward::serve(listener, socket, slots) => {}
                    }
                });
            }
        }
        Ok(Self { ns, _serving: cancel.drop_guard() })
    }

    /// What a command passes to `nsenter --net=` to join it.
    pub fn path(&self) -> String {
        self.ns.path()
    }

    /// A connection to `port` on the sandbox's loopback (a preview's upstream).
    pub async fn dial(&self, port: u16) -> std::io::Result<tokio::net::TcpStream> {
        // Only the socket is made inside (it belongs to the namespace from then on); the
        // connect is the runtime's, like any other.
        let socket = self.ns.enter(tokio::net::TcpSocket::new_v4)?;
        let stream = socket.connect((std::net::Ipv4Addr::LOCALHOST, port).into()).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}
