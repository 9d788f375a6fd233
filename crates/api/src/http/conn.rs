//! Serving one admitted connection: the router told which peer each request came from,
//! HTTP/1.1 with the header deadline and head bound, and the stop every connection
//! honours (finish what is in flight, then close).

use std::net::SocketAddr;

use axum::{Router, extract::ConnectInfo};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::serve::{Admitted, ConnectionLimits};

/// Drives a hyper connection until it ends, or until `stop`: then it finishes the
/// requests in flight and closes (HTTP/1.1 and HTTP/2 connections alike).
macro_rules! until_stopped {
    ($conn:expr, $stop:expr) => {{
        let conn = $conn;
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => return r,
            _ = $stop.cancelled() => {}
        }
        conn.as_mut().graceful_shutdown();
        conn.await
    }};
}
pub(super) use until_stopped;

/// The router, told which peer each request came from.
#[derive(Clone)]
pub(super) struct Peered {
    router: Router,
    peer: SocketAddr,
}

impl Peered {
    /// `router`, for requests from `peer`.
    pub(super) fn new(router: Router, peer: SocketAddr) -> Self {
        Self { router, peer }
    }
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Peered {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = tower::util::Oneshot<Router, hyper::Request<hyper::body::Incoming>>;

    fn call(&self, mut req: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        self.router.clone().oneshot(req)
    }
}

pub(super) async fn http1(
    io: Admitted,
    service: Peered,
    limits: ConnectionLimits,
    stop: CancellationToken,
) -> hyper::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    if let Some(n) = limits.max_head_bytes {
        // hyper needs room for at least 8 KiB.
        builder.max_buf_size(n.max(8192));
    }
    until_stopped!(builder.serve_connection(TokioIo::new(io), service).with_upgrades(), stop)
}
