//! Several hosts of local sandboxes: which host this instance serves (a stable id, not
//! the instance id that changes at restart), and the internal channel instances forward
//! workspace work over to the instance on the sandbox's host — its own listener, its own
//! secret, never a tenant's token and never reachable from a sandbox.

use std::net::SocketAddr;

use clap::Args;

use super::Secret;

/// This instance's host and internal channel.
#[derive(Debug, Clone, Args)]
pub struct HostsConfig {
    /// Stable id of the host whose disk holds this instance's local sandboxes (instances
    /// sharing a data dir share it). Default: made at first start and kept in
    /// `{data_dir}/host-id`.
    #[arg(long, env = "SANDBOXQL_HOST_ID")]
    pub host_id: Option<String>,
    /// Address of the internal listener other instances forward work to (port 0 picks a
    /// free one): workspace work for this host's sandboxes, and runs for the warm Claudes
    /// this instance holds (any backend). None: no internal channel, sandboxes on other
    /// hosts answer `HOST_UNAVAILABLE`, and runs asked elsewhere start cold there.
    #[arg(long, env = "SANDBOXQL_INTERNAL_LISTEN")]
    pub internal_listen: Option<SocketAddr>,
    /// URL other instances reach the internal listener at (default: `http://` and its
    /// address, which only suits one machine or a private network).
    #[arg(long, env = "SANDBOXQL_INTERNAL_URL")]
    pub internal_url: Option<String>,
    /// The server-to-server secret every internal call carries; the same on every
    /// instance, at least 32 bytes. Required with `--internal-listen`.
    #[arg(long, env = "SANDBOXQL_INTERNAL_SECRET")]
    pub internal_secret: Option<Secret>,
}
