//! The accept loop every TCP listener of the server runs: connections are admitted
//! within caps, and each one has a deadline for its request headers.
//!
//! Before anyone signs in, a connection costs a descriptor and a task. So: at most
//! `maxConnections` at once (kept below the process's descriptor limit, with a reserve
//! for files, the database and outgoing calls), at most `maxConnectionsPerAddress` from
//! one client address (an IPv6 client counts by its /64, which one host usually owns),
//! and `headerTimeoutMs` to send a request's headers — which is also how long a kept-alive
//! connection may sit idle waiting for its next request. A connection over a cap is
//! closed at once, so the listen queue keeps moving for everybody else. The admission
//! travels with the socket (through a websocket upgrade too) and ends when it closes.

use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::Router;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
};
use tokio_util::sync::CancellationToken;

/// How many connections a listener admits and how long their headers may take.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_per_address: usize,
    /// Time to send a request's headers, and to start the next request on a kept-alive
    /// connection.
    pub header_timeout: Duration,
    /// Largest request head buffered (None: hyper's default, ~400 KB).
    pub max_head_bytes: Option<usize>,
    /// HTTP/2 (with prior knowledge, as a TLS-terminating balancer speaks it) besides
    /// HTTP/1.1, with at most this many streams per connection; None: HTTP/1.1 only.
    pub http2_streams: Option<u32>,
}

impl ConnectionLimits {
    /// The limits of the configuration, with the total kept `reserve` descriptors under
    /// the process's limit.
    pub fn from_limits(l: &crate::config::Limits) -> Self {
        let max = (l.requests.max_connections as usize)
            .min(descriptor_limit().saturating_sub(l.requests.connection_fd_reserve as usize));
        Self {
            max_connections: max.max(1),
            max_per_address: l.requests.max_connections_per_address as usize,
            header_timeout: Duration::from_millis(l.requests.header_timeout_ms),
            max_head_bytes: None,
            http2_streams: None,
        }
    }
}

/// The process's descriptor limit, raised to its hard limit first (a server is expected
/// to hold many sockets; the soft limit is often 1,024 for historical reasons).
pub fn descriptor_limit() -> usize {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit read and write the struct passed, nothing else.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
}

/// The address a client is counted under: IPv4 as is, IPv6 by its /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Open connections, in all and by address.
struct Gate {
    total: Arc<Semaphore>,
    by_address: Mutex<HashMap<IpAddr, usize>>,
    max_per_address: usize,
}

/// One admitted connection; dropping it gives its place back.
struct Admission {
    _permit: OwnedSemaphorePermit,
    _open: crate::metrics::Open,
    key: IpAddr,
    gate: Arc<Gate>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut by = self.gate.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = by.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                by.remove(&self.key);
            }
        }
    }
}

impl Gate {
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Admission> {
        let permit = self.total.clone().try_acquire_owned().ok()?;
        let key = address_key(peer);
        let mut by = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        let n = by.entry(key).or_insert(0);
        if *n >= self.max_per_address {
            return None;
        }
        *n += 1;
        Some(Admission { _permit: permit, _open: crate::metrics::connection(), key, gate: self.clone() })
    }
}

/// A socket with its admission: the place is held as long as the socket is open, after a
/// websocket upgrade too.
pub(super) struct Admitted {
    pub(super) stream: TcpStream,
    _admission: Admission,
}

impl AsyncRead for Admitted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Serves `router` on `listener` within `limits` until `stop` is cancelled; connections
/// then finish their request in flight and close (the caller bounds how long it waits
/// with the returned future).
pub fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
) -> impl Future<Output = ()> + Send + 'static {
    let gate = Arc::new(Gate {
        total: Arc::new(Semaphore::new(limits.max_connections)),
        by_address: Mutex::default(),
        max_per_address: limits.max_per_address,
    });
    let tracker = tokio_util::task::TaskTracker::new();
    async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.cancelled() => break,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (or a transient error): let some close first.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(admission) = gate.admit(peer.ip()) else {
                crate::metrics::connection_refused();
                drop(stream);
                continue;
            };
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
            let io = Admitted { stream, _admission: admission };
            tracker.spawn(connection(io, peer, router.clone(), limits, stop.clone()));
        }
        tracker.close();
        tracker.wait().await;
    }
}

async fn connection(io: Admitted, peer: SocketAddr, router: Router, limits: ConnectionLimits, stop: CancellationToken) {
    let service = super::conn::Peered::new(router, peer);
    let result = match limits.http2_streams {
        Some(streams) => match super::h2::sniff(&io.stream, limits.header_timeout).await {
            None => return,
            Some(true) => super::h2::serve(io, service, streams, limits, stop).await,
            Some(false) => super::conn::http1(io, service, limits, stop).await,
        },
        None => super::conn::http1(io, service, limits, stop).await,
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, %peer, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(address_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[tokio::test]
    async fn the_gate_holds_both_caps_and_gives_places_back() {
        let gate =
            Arc::new(Gate { total: Arc::new(Semaphore::new(3)), by_address: Mutex::default(), max_per_address: 2 });
        let (one, two): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let a = gate.admit(one).unwrap();
        let _b = gate.admit(one).unwrap();
        assert!(gate.admit(one).is_none(), "per address");
        let _c = gate.admit(two).unwrap();
        assert!(gate.admit(two).is_none(), "in all");
        drop(a);
        assert!(gate.admit(one).is_some(), "a closed connection frees its place");
        assert!(gate.by_address.lock().unwrap().values().all(|n| *n <= 2));
    }
}
