//! The preview listener (`--preview-listen`): serves `{port}-{sandboxId}.{previewDomain}`
//! by proxying to that port inside the sandbox (HTTP/1.1 or HTTP/2 from the client;
//! HTTP/1.1 to the app; websockets, SSE), on a listener
//! and an origin of its own, so no preview page shares an origin with the API or the
//! playground. PRIVATE previews need the cookie a signed link from the API sets (no
//! cookie: 401); a host naming no live preview, or a link that does not verify, is 404.

mod pool;
mod proxy;

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use anyhow::Context;
use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio::{net::TcpListener, sync::Semaphore};
use uuid::Uuid;

use crate::{
    config::{Limits, PreviewConfig},
    http::serve::ConnectionLimits,
    service::{
        Services,
        previews::{LINK_PATH, Route, host::PreviewUrls},
    },
};

/// The cookie an opened link sets (host-only: it goes to that one preview).
const COOKIE: &str = "sandboxql_preview";

/// The bound preview listener and how its URLs are written.
pub struct PreviewListener {
    /// The listener.
    pub listener: TcpListener,
    /// How preview URLs are written (the listener's port unless configured otherwise).
    pub urls: PreviewUrls,
}

impl PreviewListener {
    /// Binds beside an API at `api`.
    pub async fn bind(cfg: &PreviewConfig, api: SocketAddr) -> anyhow::Result<Self> {
        let addr = cfg.listen_beside(api);
        let listener = TcpListener::bind(addr).await.with_context(|| format!("binding previews to {addr}"))?;
        let bound = listener.local_addr()?.port();
        let port = match cfg.preview_public_port {
            Some(0) => None,
            Some(p) => Some(p),
            None => Some(bound),
        };
        let domain = cfg.preview_domain.trim_matches('.').to_ascii_lowercase();
        Ok(Self { listener, urls: PreviewUrls { domain, scheme: cfg.preview_scheme.clone(), port } })
    }
}

/// What preview requests need.
#[derive(Clone)]
pub struct PreviewState {
    services: Services,
    /// Connections carried to each preview at once.
    slots: Arc<std::sync::Mutex<HashMap<Uuid, Arc<Semaphore>>>>,
    /// Kept-alive connections to the apps.
    pool: Arc<pool::Pool>,
}

impl PreviewState {
    /// The state over `services`.
    pub fn new(services: Services) -> Self {
        let idle = services.limits.previews.preview_idle_connections;
        Self { services, slots: Arc::default(), pool: Arc::new(pool::Pool::new(idle)) }
    }

    fn limits(&self) -> &Limits {
        &self.services.limits
    }

    fn slots_of(&self, preview: Uuid) -> Arc<Semaphore> {
        let mut map = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        // Previews come and go: forget the idle ones so the map stays as small as the live set.
        if map.len() > 4096 {
            let max = self.limits().previews.preview_max_connections;
            map.retain(|_, s| s.available_permits() < max);
        }
        let max = self.limits().previews.preview_max_connections.max(1);
        map.entry(preview).or_insert_with(|| Arc::new(Semaphore::new(max))).clone()
    }
}

/// The connection limits of the preview listener: the API's, with its own head size.
pub fn connection_limits(l: &Limits) -> ConnectionLimits {
    ConnectionLimits {
        max_head_bytes: Some(l.previews.preview_max_head_bytes),
        http2_streams: Some(l.previews.preview_max_streams.max(1)),
        ..ConnectionLimits::from_limits(l)
    }
}

/// Every request goes to [`handle`].
pub fn router(state: PreviewState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

fn text(status: StatusCode, msg: &'static str) -> Response {
    let mut r = (status, msg).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn handle(State(state): State<PreviewState>, req: Request) -> Response {
    // HTTP/1.1 names the host in `Host`, HTTP/2 in the `:authority` of the URI.
    let host = match req.headers().get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(h) => h.to_string(),
        None => req.uri().authority().map(|a| a.to_string()).unwrap_or_default(),
    };
    let route = match state.services.previews.route(&host).await {
        Ok(Some(r)) => r,
        Ok(None) => return text(StatusCode::NOT_FOUND, "no such preview"),
        Err(e) => {
            tracing::warn!(error = ?e.log_detail(), "looking up a preview failed");
            return text(StatusCode::SERVICE_UNAVAILABLE, "previews are unavailable; try again");
        }
    };
    if req.uri().path() == LINK_PATH {
        // The token is URL-safe base64 and digits: it needs no decoding.
        let token = req.uri().query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
        return open_link(&state, &route, token.unwrap_or_default().to_string()).await;
    }
    let held = cookies(&req);
    if route.visibility == crate::enums::PreviewVisibility::Private && !has_cookie(&state, &route, held).await {
        return text(StatusCode::UNAUTHORIZED, "this preview is private: open it from the app's preview link");
    }
    let route = match route.status {
        crate::enums::SandboxStatus::Sleeping if state.limits().previews.preview_wakes => {
            match state.services.previews.wake(&route).await {
                Ok(Some(r)) => r,
                Ok(None) => return text(StatusCode::NOT_FOUND, "no such preview"),
                Err(e) => {
                    tracing::warn!(error = ?e.log_detail(), "waking a preview's sandbox failed");
                    return text(StatusCode::SERVICE_UNAVAILABLE, "the sandbox is asleep and could not be woken");
                }
            }
        }
        _ => route,
    };
    proxy::forward(&state, &route, req).await
}

/// A signed link: sets the cookie and sends the browser to the clean URL.
async fn open_link(state: &PreviewState, route: &Route, token: String) -> Response {
    let previews = &state.services.previews;
    if !previews.link_opens(route, &token).await.unwrap_or(false) {
        return text(StatusCode::NOT_FOUND, "this preview link is not valid (expired, or not this preview's)");
    }
    let Ok((value, secs)) = previews.cookie_for(route).await else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "previews are unavailable; try again");
    };
    let cookie = format!("{COOKIE}={value}; Path=/; Max-Age={secs}; HttpOnly{}", same_site(previews.urls()));
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::FOUND;
    let h = r.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static("/"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        h.insert(header::SET_COOKIE, v);
    }
    r
}

/// Where the browser keeps the cookie: a preview is framed by the app (another site), so
/// where browsers take a `Secure` cookie (https, or `localhost`, a secure context over
/// http too) it is `SameSite=None` and partitioned by the framing site; elsewhere `Lax`
/// (the preview opens in a tab of its own, not in a frame).
fn same_site(urls: &PreviewUrls) -> &'static str {
    let localhost = urls.domain == "localhost" || urls.domain.ends_with(".localhost");
    if urls.scheme == "https" || localhost { "; SameSite=None; Secure; Partitioned" } else { "; SameSite=Lax" }
}

/// Whether one of the request's cookies opens this preview.
async fn has_cookie(state: &PreviewState, route: &Route, values: Vec<String>) -> bool {
    for value in values {
        if state.services.previews.cookie_opens(route, &value).await.unwrap_or(false) {
            return true;
        }
    }
    false
}

/// The values of this server's cookie in the request.
fn cookies(req: &Request) -> Vec<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(COOKIE).and_then(|r| r.strip_prefix('=')))
        .map(str::to_string)
        .collect()
}
