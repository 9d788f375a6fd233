//! A local sandbox's ports, reached from the server (previews) through its shared network
//! namespace; the sandbox itself gets no network for it.

use async_trait::async_trait;

use super::{LocalBackend, io_failure};
use crate::{
    BackendStatus, ExternalId, Lifecycle, PortStream, Ports,
    error::{AppError, AppResult},
};

#[async_trait]
impl Ports for LocalBackend {
    /// Through the sandbox's shared namespace; unjailed, its processes are on the host's
    /// loopback. A jail with a namespace per command has no port to reach.
    async fn dial(&self, external_id: &ExternalId, port: u16) -> AppResult<PortStream> {
        if self.status(external_id).await? != BackendStatus::Running {
            return Err(AppError::conflict_because(crate::error::reasons::NOT_RUNNING, "the sandbox is not running"));
        }
        let closed = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => AppError::conflict_because(
                crate::error::reasons::PORT_CLOSED,
                format!("nothing in the sandbox listens on port {port}"),
            ),
            _ => io_failure("connect to the sandbox's port", e),
        };
        if !self.jail.enabled() {
            let s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.map_err(closed)?;
            return Ok(Box::new(s));
        }
        match self.net_of(external_id)? {
            Some(net) => Ok(Box::new(net.dial(port).await.map_err(closed)?)),
            None => Err(AppError::bad_input(
                "this server gives each sandbox command a network of its own (it is not root): no port to preview",
            )),
        }
    }
}
