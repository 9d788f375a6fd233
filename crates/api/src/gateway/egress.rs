//! The egress proxy: an HTTP proxy on a Unix socket that jails reach through their relay
//! (as `HTTPS_PROXY`). It opens a tunnel (`CONNECT host:port`) or forwards a plain
//! `http://` request only to a host on the allow-list, and only to a public address of
//! it, so a name that resolves to the metadata service or the server's database opens
//! nothing. Nothing but the request head is parsed; the bytes after it pass untouched.

use std::{sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, UnixListener, UnixStream},
    sync::Semaphore,
};
use tokio_util::sync::CancellationToken;

use super::egress_rules::{EgressRule, allowed, is_public};

/// What the proxy allows and how much it holds.
#[derive(Clone)]
pub struct EgressProxy {
    rules: Arc<[EgressRule]>,
    slots: Arc<Semaphore>,
    max_head: usize,
}

/// Where a request goes: the host and port, and whether it is a tunnel.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    tunnel: bool,
}

/// Reads the target out of a request line (`CONNECT h:443 HTTP/1.1` or
/// `GET http://h/path HTTP/1.1`).
fn target(head: &str) -> Option<Target> {
    let mut parts = head.lines().next()?.split(' ');
    let (method, uri) = (parts.next()?, parts.next()?);
    let (authority, tunnel, default_port) = if method.eq_ignore_ascii_case("CONNECT") {
        (uri, true, 443)
    } else {
        let rest = uri.strip_prefix("http://")?;
        (rest.split(['/', '?']).next()?, false, 80)
    };
    let authority = authority.rsplit('@').next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => (h, p.parse().ok()?),
        _ => (authority, default_port),
    };
    Some(Target { host: host.trim_start_matches('[').trim_end_matches(']').to_string(), port, tunnel })
}

async fn answer(client: &mut UnixStream, status: &str, why: &str) {
    let msg = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{why}",
        why.len()
    );
    let _ = client.write_all(msg.as_bytes()).await;
}

impl EgressProxy {
    /// A proxy allowing `rules`, carrying `max_connections` at once.
    pub fn new(rules: Vec<EgressRule>, max_connections: usize, max_head: usize) -> Self {
        Self { rules: rules.into(), slots: Arc::new(Semaphore::new(max_connections.max(1))), max_head }
    }

    /// Serves `listener` until `shutdown`.
    pub async fn serve(self, listener: UnixListener, shutdown: CancellationToken) {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = shutdown.cancelled() => return,
            };
            let Ok((client, _)) = accepted else { continue };
            let Ok(permit) = self.slots.clone().try_acquire_owned() else {
                drop(client);
                continue;
            };
            let me = self.clone();
            tokio::spawn(async move {
                let _permit = permit;
                me.handle(client).await;
            });
        }
    }

    async fn handle(&self, mut client: UnixStream) {
        let mut buf = Vec::with_capacity(1024);
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() >= self.max_head {
                return answer(&mut client, "431 Request Header Fields Too Large", "request head too large").await;
            }
            let mut chunk = [0u8; 2048];
            let read = tokio::time::timeout(Duration::from_secs(30), client.read(&mut chunk)).await;
            match read {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => return,
            }
        };
        let Some(t) = target(&String::from_utf8_lossy(&buf[..end])) else {
            return answer(&mut client, "400 Bad Request", "expected CONNECT host:port or an http:// URL").await;
        };
        let Some(rule) = allowed(&self.rules, &t.host, t.port) else {
            tracing::info!(host = %t.host, port = t.port, "sandbox egress refused");
            return answer(&mut client, "403 Forbidden", "sandboxql: this host is not on the egress allow-list").await;
        };
        let Some(mut upstream) = self.connect(&t, rule.is_literal()).await else {
            return answer(&mut client, "502 Bad Gateway", "sandboxql: could not reach a public address of this host")
                .await;
        };
        let _ = upstream.set_nodelay(true);
        let sent = if t.tunnel {
            let ok = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
            match ok {
                Ok(()) => upstream.write_all(&buf[end..]).await,
                Err(e) => Err(e),
            }
        } else {
            upstream.write_all(&buf).await
        };
        if sent.is_ok() {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
    }

    /// Connects to the first public address of the target (any address of a literal
    /// rule, which the operator wrote on purpose).
    async fn connect(&self, t: &Target, literal: bool) -> Option<TcpStream> {
        let addrs = tokio::net::lookup_host((t.host.as_str(), t.port)).await.ok()?;
        for addr in addrs.filter(|a| literal || is_public(a.ip())) {
            if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr)).await {
                return Some(s);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_name_their_target() {
        let t = |h: &str| target(h).map(|t| (t.host, t.port, t.tunnel));
        assert_eq!(t("CONNECT pypi.org:443 HTTP/1.1\r\n"), Some(("pypi.org".into(), 443, true)));
        assert_eq!(t("CONNECT [::1]:8443 HTTP/1.1\r\n"), Some(("::1".into(), 8443, true)));
        assert_eq!(t("GET http://deb.debian.org/debian/ HTTP/1.1\r\n"), Some(("deb.debian.org".into(), 80, false)));
        assert_eq!(t("GET http://u:p@h:8080?x HTTP/1.1\r\n"), Some(("h".into(), 8080, false)));
        assert_eq!(t("GET /relative HTTP/1.1\r\n"), None);
        assert_eq!(t("GET https://h/ HTTP/1.1\r\n"), None);
        assert_eq!(t(""), None);
    }
}
