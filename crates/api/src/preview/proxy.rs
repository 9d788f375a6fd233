//! Carrying one preview request to the sandbox's port: a new connection through the
//! backend (the sandbox gets no network), HTTP/1.1 to the app, the answer streamed back
//! untouched (SSE included), and an upgrade (websockets, e.g. hot reload) spliced both
//! ways. Bounded by the preview's connection slots, the body limit and the idle timeout.

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use http_body_util::Limited;
use hyper_util::rt::TokioIo;
use tokio_io_timeout::TimeoutStream;

use tokio::sync::OwnedSemaphorePermit;

use super::{
    COOKIE, PreviewState,
    pool::{Returning, Sender},
    text,
};
use crate::{error::AppError, service::previews::Route};

/// Headers that belong to one hop, not to the app (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] =
    &["keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding"];

/// Proxies `req` to the preview's port and returns the app's answer.
pub(super) async fn forward(state: &PreviewState, route: &Route, mut req: Request) -> Response {
    let limits = &state.limits().previews;
    let too_big = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|n| n > limits.preview_max_body_bytes);
    if too_big {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "the request body is larger than previews take");
    }
    let Some(ext) = route.external_id.clone() else { return text(StatusCode::NOT_FOUND, "no such preview") };
    match route.status {
        crate::enums::SandboxStatus::Running => {}
        crate::enums::SandboxStatus::Sleeping => {
            return text(StatusCode::SERVICE_UNAVAILABLE, "the sandbox is asleep: a run or a file operation wakes it");
        }
        _ => return text(StatusCode::SERVICE_UNAVAILABLE, "the sandbox is not running"),
    }
    let from_h2 = req.version() == axum::http::Version::HTTP_2;
    to_origin_form(&mut req);
    let upgrade = wants_upgrade(req.headers());
    let client_side = upgrade.then(|| hyper::upgrade::on(&mut req));
    clean(req.headers_mut(), upgrade);
    forwarded(&mut req, &state.services.previews.urls().scheme);
    let req = req.map(|b| Limited::new(b, usize::try_from(limits.preview_max_body_bytes).unwrap_or(usize::MAX)));
    let preview = route.target.preview_id;
    // An upgraded connection is the client's for good: never a pooled one.
    let kept = if upgrade { None } else { state.pool.take(preview).await };
    let reused = kept.is_some();
    let (mut sender, permit) = match kept {
        Some(s) => (s, None),
        None => match connect(state, route, &ext).await {
            Ok((s, p)) => (s, Some(p)),
            Err(r) => return r,
        },
    };
    let sent = match sender.try_send_request(req).await {
        Ok(r) => Ok(r),
        // A kept connection the app closed meanwhile: the request never left, so it
        // goes on a new one.
        Err(mut e) if reused => match e.take_message() {
            Some(req) => match connect(state, route, &ext).await {
                Ok((s, _)) => {
                    sender = s;
                    sender.send_request(req).await.map_err(|_| ())
                }
                Err(r) => return r,
            },
            None => Err(()),
        },
        Err(_) => Err(()),
    };
    let Ok(mut resp) = sent else {
        return text(StatusCode::BAD_GATEWAY, "the app in the sandbox closed the connection");
    };
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(client_side) = client_side
    {
        let app_side = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            let _held = permit;
            if let (Ok(c), Ok(a)) = tokio::join!(client_side, app_side) {
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(c), &mut TokioIo::new(a)).await;
            }
        });
    }
    for h in HOP_BY_HOP {
        resp.headers_mut().remove(*h);
    }
    if from_h2 {
        // HTTP/2 has no connection-specific headers (RFC 9113 §8.2.2).
        resp.headers_mut().remove(header::CONNECTION);
        resp.headers_mut().remove(header::UPGRADE);
    }
    if upgrade {
        return resp.map(Body::new);
    }
    let pool = state.pool.clone();
    resp.map(|b| Body::new(Returning::new(b, pool, preview, sender)))
}

/// A new connection to the preview's port, holding one of its connection slots for as
/// long as it is open.
async fn connect(
    state: &PreviewState,
    route: &Route,
    ext: &str,
) -> Result<(Sender, Arc<OwnedSemaphorePermit>), Response> {
    let Some(ports) = state.services.backend.ports() else {
        return Err(text(StatusCode::NOT_IMPLEMENTED, "this deployment's sandboxes have no previews yet"));
    };
    let Ok(permit) = state.slots_of(route.target.preview_id).acquire_owned().await else {
        return Err(text(StatusCode::SERVICE_UNAVAILABLE, "the preview is busy"));
    };
    let permit = Arc::new(permit);
    let stream = match ports.dial(&ext.to_string().into(), route.target.port).await {
        Ok(s) => s,
        Err(AppError::Conflict { reason: Some(r), .. }) if r == crate::error::reasons::PORT_CLOSED => {
            return Err(text(StatusCode::BAD_GATEWAY, "nothing in the sandbox listens on this port yet"));
        }
        Err(e) => {
            tracing::warn!(error = ?e.log_detail(), "dialling a preview's port failed");
            return Err(text(StatusCode::BAD_GATEWAY, "the sandbox's port could not be reached"));
        }
    };
    let idle = Some(Duration::from_secs(state.limits().previews.preview_idle_secs.max(1)));
    let mut io = TimeoutStream::new(stream);
    io.set_read_timeout(idle);
    io.set_write_timeout(idle);
    let Ok((sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(Box::pin(io))).await else {
        return Err(text(StatusCode::BAD_GATEWAY, "the sandbox's port could not be reached"));
    };
    let held = permit.clone();
    tokio::spawn(async move {
        let _held = held;
        let _ = conn.with_upgrades().await;
    });
    Ok((sender, permit))
}

/// An HTTP/1.1 request for the app whatever the client spoke: the path and query on the
/// request line and the host in `Host` (HTTP/2 carries it as the URI's authority).
fn to_origin_form(req: &mut Request) {
    if let Some(authority) = req.uri().authority().map(|a| a.as_str().to_string()) {
        if !req.headers().contains_key(header::HOST)
            && let Ok(v) = HeaderValue::from_str(&authority)
        {
            req.headers_mut().insert(header::HOST, v);
        }
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
        if let Ok(uri) = path.parse() {
            *req.uri_mut() = uri;
        }
    }
    *req.version_mut() = axum::http::Version::HTTP_11;
}

fn wants_upgrade(h: &HeaderMap) -> bool {
    h.get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")))
        && h.contains_key(header::UPGRADE)
}

/// Tells the app where the request came from (`X-Forwarded-For`, `-Host`, `-Proto`), as a
/// reverse proxy does, so it can write absolute URLs of its own host. What the browser
/// sent under those names is replaced, never trusted.
fn forwarded(req: &mut Request, scheme: &str) {
    let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let host = req.headers().get(header::HOST).cloned();
    let h = req.headers_mut();
    for name in ["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded"] {
        h.remove(name);
    }
    if let Some(ip) = peer.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
        h.insert("x-forwarded-for", ip);
    }
    if let Some(host) = host {
        h.insert("x-forwarded-host", host);
    }
    if let Ok(v) = HeaderValue::from_str(scheme) {
        h.insert("x-forwarded-proto", v);
    }
}

/// Drops hop-by-hop headers (keeping `Connection: upgrade` for an upgrade) and this
/// server's cookie: the app sees the browser's request, not the preview's credential.
fn clean(h: &mut HeaderMap, upgrade: bool) {
    for name in HOP_BY_HOP {
        h.remove(*name);
    }
    if !upgrade {
        h.remove(header::CONNECTION);
        h.remove(header::UPGRADE);
    }
    let kept: Vec<String> = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.starts_with(&format!("{COOKIE}=")))
        .map(str::to_string)
        .collect();
    h.remove(header::COOKIE);
    if !kept.is_empty()
        && let Ok(v) = HeaderValue::from_str(&kept.join("; "))
    {
        h.insert(header::COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_cookie_and_hop_headers_stay_here() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; sandboxql_preview=secret; b=2"));
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        h.insert("te", HeaderValue::from_static("trailers"));
        clean(&mut h, false);
        assert_eq!(h.get(header::COOKIE).unwrap(), "a=1; b=2");
        assert!(h.get(header::CONNECTION).is_none() && h.get("te").is_none());
        let mut up = HeaderMap::new();
        up.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        up.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        up.insert(header::COOKIE, HeaderValue::from_static("sandboxql_preview=secret"));
        assert!(wants_upgrade(&up));
        clean(&mut up, true);
        assert!(up.get(header::CONNECTION).is_some() && up.get(header::COOKIE).is_none());
    }
}
