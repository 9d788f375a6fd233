//! What a jail's network reaches: the gateway's (and the egress proxy's) host socket on
//! fixed loopback ports, and for a jail with a namespace of its own, the `sandboxql relay`
//! in front of its command that forwards them.

use std::path::PathBuf;

/// The gateway's port on the jail's loopback.
pub const GATEWAY_PORT: u16 = 4000;
/// The egress proxy's port on the jail's loopback.
pub const EGRESS_PORT: u16 = 3128;

/// What a jail's network reaches: host sockets forwarded by the relay.
#[derive(Debug, Clone)]
pub struct JailNetwork {
    /// The `sandboxql` executable (run as `relay` inside the jail).
    pub relay_bin: PathBuf,
    /// The gateway's Unix socket.
    pub gateway_socket: PathBuf,
    /// The egress proxy's Unix socket, when any host is allowed.
    pub egress_socket: Option<PathBuf>,
    /// Connections the relay carries at once.
    pub max_connections: u64,
}

/// The binds of the relay and its sockets, then `-- relay … --` before the program.
pub(super) fn relay_prefix(net: &JailNetwork) -> Vec<String> {
    const RELAY: &str = "/run/sandboxql/relay";
    const GATEWAY: &str = "/run/sandboxql/gateway.sock";
    const EGRESS: &str = "/run/sandboxql/egress.sock";
    let mut out: Vec<String> = Vec::new();
    let mut arg = |a: &[&str]| out.extend(a.iter().map(|s| s.to_string()));
    arg(&["--ro-bind", &net.relay_bin.display().to_string(), RELAY]);
    arg(&["--bind", &net.gateway_socket.display().to_string(), GATEWAY]);
    if let Some(e) = &net.egress_socket {
        arg(&["--bind", &e.display().to_string(), EGRESS]);
    }
    let connections = net.max_connections.to_string();
    arg(&["--", RELAY, "relay", "--max-connections", &connections]);
    arg(&["--forward", &format!("127.0.0.1:{GATEWAY_PORT}={GATEWAY}")]);
    if net.egress_socket.is_some() {
        arg(&["--forward", &format!("127.0.0.1:{EGRESS_PORT}={EGRESS}")]);
    }
    arg(&["--"]);
    out
}
