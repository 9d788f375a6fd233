//! HTTP/2 on a listener that also speaks HTTP/1.1: a connection that opens with the
//! HTTP/2 preface (prior knowledge — h2c, as a TLS-terminating balancer or a client that
//! knows the server speaks it) is served as HTTP/2, any other as HTTP/1.1.
//!
//! The preface is looked for with `peek`, so an HTTP/1.1 connection is handed over
//! untouched; a client that sends nothing gets the same header deadline as HTTP/1.1. An
//! HTTP/2 connection is bounded by its streams, its header list (the head size), and
//! pings at the header deadline that end it when its peer stops answering.

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::{
    conn::Peered,
    serve::{Admitted, ConnectionLimits},
};

/// What every HTTP/2 connection starts with (RFC 9113 §3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long to wait before looking again at a preface that came in part (clients send it
/// in one write, so this is for the odd split segment).
const PARTIAL_WAIT: Duration = Duration::from_millis(5);

/// Whether the connection opens with the HTTP/2 preface, without reading from it; None
/// when it closes or sends too little before `deadline`.
pub(super) async fn sniff(stream: &TcpStream, deadline: Duration) -> Option<bool> {
    let look = async {
        let mut buf = [0u8; PREFACE.len()];
        loop {
            let n = stream.peek(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            match verdict(&buf[..n]) {
                Some(v) => return Some(v),
                None => tokio::time::sleep(PARTIAL_WAIT).await,
            }
        }
    };
    tokio::time::timeout(deadline, look).await.ok().flatten()
}

/// HTTP/2 or not from the first bytes, or None while they are a part of the preface.
fn verdict(first: &[u8]) -> Option<bool> {
    if !PREFACE.starts_with(first) {
        Some(false)
    } else if first.len() == PREFACE.len() {
        Some(true)
    } else {
        None
    }
}

/// Serves one HTTP/2 connection until it ends, or until `stop` (then in-flight streams
/// finish and the connection closes).
pub(super) async fn serve(
    io: Admitted,
    service: Peered,
    streams: u32,
    limits: ConnectionLimits,
    stop: CancellationToken,
) -> hyper::Result<()> {
    let mut b = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    b.timer(TokioTimer::new())
        .max_concurrent_streams(streams)
        .keep_alive_interval(Some(limits.header_timeout))
        .keep_alive_timeout(limits.header_timeout);
    if let Some(n) = limits.max_head_bytes {
        b.max_header_list_size(u32::try_from(n).unwrap_or(u32::MAX));
    }
    super::conn::until_stopped!(b.serve_connection(TokioIo::new(io), service), stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preface_decides_and_a_part_of_it_waits() {
        assert_eq!(verdict(PREFACE), Some(true));
        assert_eq!(verdict(b"PRI * HT"), None);
        assert_eq!(verdict(b"POST / HTTP/1.1\r\n"), Some(false));
        assert_eq!(verdict(b"GET / HTTP/1.1\r\n"), Some(false));
        assert_eq!(verdict(b"PRI * HTTP/1.1\r\n\r\n"), Some(false));
    }
}
