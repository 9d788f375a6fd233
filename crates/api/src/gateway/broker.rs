//! The credential broker: `/broker/{token}/git/{host}/{path}` and
//! `/broker/{token}/http/{host}/{path}` on the gateway, which a sandbox reaches as it
//! reaches the gateway (its relay locally, `--gateway-public-url` on Modal). The token
//! names the sandbox; the request goes on to `https://{host}/{path}` with the sandbox's
//! account's credential for that host added (GIT_HTTPS as Basic auth on `git` paths,
//! HTTP_HEADER as its header on `http` paths) and streams back untouched. A host is
//! reached only when `--sandbox-egress` allows it or the account keeps a credential for
//! it, and only at a public address unless a rule names it by IP. Redirects are passed
//! back, never followed, so a credential goes to its own host only.

use std::{net::IpAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    body::Body,
    extract::{Path, Request, State},
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use futures::StreamExt;
use tokio::sync::Semaphore;

use super::egress_rules::{EgressRule, allowed, is_public};
use crate::{
    config::{BrokerConfig, Limits},
    enums::CredentialKind,
    service::credentials::{Opened, broker::Broker, validate},
};

use super::HOP_BY_HOP as DROPPED;

/// What the broker holds.
#[derive(Clone)]
pub struct BrokerState {
    broker: Broker,
    client: reqwest::Client,
    rules: Arc<[EgressRule]>,
    slots: Arc<Semaphore>,
    max_request_bytes: u64,
}

impl BrokerState {
    /// The broker over `broker`, reaching hosts `rules` allow (or with a credential),
    /// trusting `cfg.broker_ca` besides the public roots.
    pub fn new(broker: Broker, rules: Vec<EgressRule>, cfg: &BrokerConfig, limits: &Limits) -> anyhow::Result<Self> {
        let mut extra = vec![];
        for path in &cfg.broker_ca {
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            extra.extend(
                reqwest::Certificate::from_pem_bundle(&pem)
                    .with_context(|| format!("certificates in {}", path.display()))?,
            );
        }
        let client = reqwest::Client::builder()
            .tls_certs_merge(extra)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(crate::net::PublicOnly))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(limits.git.git_timeout_secs.max(1)))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .context("building the broker's HTTP client")?;
        Ok(Self {
            broker,
            client,
            rules: rules.into(),
            slots: Arc::new(Semaphore::new(limits.git.broker_max_requests.max(1) as usize)),
            max_request_bytes: limits.git.broker_max_request_bytes,
        })
    }
}

fn refuse(status: StatusCode, msg: &'static str) -> Response {
    (status, format!("sandboxql broker: {msg}\n")).into_response()
}

/// The pieces of a broker path: token, kind, host, and the rest.
type Parts = (String, String, String, String);

/// `/broker/{token}/{kind}/{host}` with no path after the host.
pub async fn forward_root(
    State(gw): State<super::GatewayState>,
    Path((token, kind, host)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    forward(State(gw), Path((token, kind, host, String::new())), req).await
}

/// Any request under `/broker/`.
pub async fn forward(
    State(gw): State<super::GatewayState>,
    Path((token, kind, host, rest)): Path<Parts>,
    req: Request,
) -> Response {
    let Some(st) = gw.broker else { return refuse(StatusCode::NOT_FOUND, "no broker on this server") };
    let kind = match kind.as_str() {
        "git" => CredentialKind::GitHttps,
        "http" => CredentialKind::HttpHeader,
        _ => return refuse(StatusCode::NOT_FOUND, "paths are /git/{host}/… or /http/{host}/…"),
    };
    let Ok(slot) = st.slots.clone().try_acquire_owned() else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "busy; retry");
    };
    let caller = match st.broker.caller(&token).await {
        Ok(Some(c)) => c,
        Ok(None) => return refuse(StatusCode::FORBIDDEN, "this address is not valid (its sandbox is not running)"),
        Err(e) => {
            tracing::warn!(error = ?e.log_detail(), "the broker could not check a token");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable; retry");
        }
    };
    let Ok(host) = validate::host(&host) else { return refuse(StatusCode::BAD_REQUEST, "not a host name") };
    let credential = match st.broker.credential(&caller, &host).await {
        Ok(c) => c.filter(|c| c.kind == kind),
        Err(e) => {
            tracing::warn!(error = ?e.log_detail(), sandbox_id = %caller.sandbox_id, "the broker could not open a credential");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable; retry");
        }
    };
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) => (n, p.parse().unwrap_or(443)),
        None => (host.as_str(), 443),
    };
    let rule = allowed(&st.rules, name, port);
    if rule.is_none() && credential.is_none() {
        return refuse(StatusCode::FORBIDDEN, "this host is not allowed");
    }
    // A host named by IP: public, or named so by a rule (names resolve to public only).
    if let Ok(ip) = name.parse::<IpAddr>()
        && !is_public(ip)
        && !rule.is_some_and(EgressRule::is_literal)
    {
        return refuse(StatusCode::FORBIDDEN, "this address is not reachable");
    }
    let (parts, body) = req.into_parts();
    let query = parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let url = format!("https://{host}/{rest}{query}");
    let mut out = st.client.request(parts.method.clone(), url);
    let set = credential.as_ref().map(added);
    for (n, v) in parts.headers.iter() {
        let replaced = set.as_ref().is_some_and(|(h, _)| h == n);
        if !DROPPED.contains(&n.as_str()) && !replaced {
            out = out.header(n, v);
        }
    }
    if let Some((n, v)) = set {
        out = out.header(n, v);
    }
    let upstream = match out.body(super::limited(body, st.max_request_bytes)).send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(sandbox_id = %caller.sandbox_id, %host, error = %e, "the broker could not reach a host");
            return refuse(StatusCode::BAD_GATEWAY, "the host could not be reached (or the request was too large)");
        }
    };
    let mut res = Response::builder().status(upstream.status().as_u16());
    for (n, v) in upstream.headers().iter().filter(|(n, _)| !DROPPED.contains(&n.as_str())) {
        res = res.header(n, v);
    }
    // The slot is held until the answer has been passed on, not only until it starts.
    let body = upstream.bytes_stream().map(move |chunk| {
        let _held = &slot;
        chunk
    });
    res.body(Body::from_stream(body))
        .unwrap_or_else(|_| refuse(StatusCode::BAD_GATEWAY, "the host's answer could not be passed on"))
}

/// The header a credential adds.
fn added(c: &Opened) -> (HeaderName, HeaderValue) {
    let (name, value) = match c.kind {
        CredentialKind::GitHttps => {
            let user = c.username.as_deref().unwrap_or("x-access-token");
            (header::AUTHORIZATION, format!("Basic {}", STANDARD.encode(format!("{user}:{}", c.secret.0))))
        }
        CredentialKind::HttpHeader => {
            let name = c.header_name.as_deref().unwrap_or("authorization");
            (HeaderName::from_bytes(name.as_bytes()).unwrap_or(header::AUTHORIZATION), c.secret.0.clone())
        }
    };
    let mut value = HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""));
    value.set_sensitive(true);
    (name, value)
}
