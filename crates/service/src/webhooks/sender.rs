//! One delivery attempt: the event POSTed as JSON with the Standard Webhooks headers,
//! to a URL whose address is checked at each delivery (public only, unless
//! `--webhook-allow-private`), no redirect followed, within the connect and total
//! timeouts, the answer read only up to `webhookResponseExcerptBytes`.

use std::{net::IpAddr, time::Instant};

use crate::{
    config::WebhookLimits,
    entity::{now, webhook, webhook_delivery},
};

/// How an attempt went.
#[derive(Debug, Default)]
pub struct Attempt {
    /// The answer's status code (None: no answer).
    pub status: Option<u16>,
    /// Milliseconds to the answer.
    pub latency_ms: i64,
    /// Why there was no answer.
    pub error: Option<String>,
    /// The start of the answer's body.
    pub excerpt: Option<String>,
}

impl Attempt {
    /// Whether the endpoint took it (2xx).
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The HTTP client deliveries go out on.
pub fn client(limits: &WebhookLimits, allow_private: bool) -> anyhow::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_millis(limits.webhook_connect_timeout_ms.max(1)))
        .timeout(std::time::Duration::from_millis(limits.webhook_timeout_ms.max(1)))
        .user_agent("sandboxql-webhooks");
    if !allow_private {
        b = b.dns_resolver(std::sync::Arc::new(crate::net::PublicOnly));
    }
    Ok(b.build()?)
}

/// The signatures of a delivery: the current secret's, and the previous one's while it
/// still signs.
fn signatures(hook: &webhook::Model, id: &str, ts: i64, body: &[u8]) -> String {
    let mut sigs = vec![super::signing::sign(&hook.secret, id, ts, body)];
    if let (Some(prev), Some(until)) = (&hook.previous_secret, hook.previous_until)
        && until > now()
    {
        sigs.push(super::signing::sign(prev, id, ts, body));
    }
    sigs.join(" ")
}

/// Attempts `delivery` of `payload` to `hook`.
pub async fn attempt(
    client: &reqwest::Client,
    hook: &webhook::Model,
    delivery: &webhook_delivery::Model,
    payload: &serde_json::Value,
    limits: &WebhookLimits,
    allow_private: bool,
) -> Attempt {
    let started = Instant::now();
    let fail = |error: String| Attempt {
        error: Some(error),
        latency_ms: started.elapsed().as_millis() as i64,
        ..Attempt::default()
    };
    // A host written as an address never reaches the resolver: it is checked here.
    let literal =
        reqwest::Url::parse(&hook.url).ok().and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_string()));
    if !allow_private
        && let Some(ip) = literal.and_then(|h| h.parse::<IpAddr>().ok())
        && !crate::net::is_public(ip)
    {
        return fail(format!("refused: {ip} is not a public address"));
    }
    let body = serde_json::to_vec(payload).unwrap_or_default();
    let (id, ts) = (format!("msg_{}", delivery.id.simple()), now().timestamp());
    let req = client
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signatures(hook, &id, ts, &body))
        .body(body);
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() { "timed out".to_string() } else { format!("no answer: {}", root(&e)) };
            return fail(why);
        }
    };
    let status = resp.status().as_u16();
    let max = usize::try_from(limits.webhook_response_excerpt_bytes).unwrap_or(usize::MAX);
    let mut excerpt = Vec::new();
    while excerpt.len() < max {
        match resp.chunk().await {
            Ok(Some(c)) => excerpt.extend_from_slice(&c[..c.len().min(max - excerpt.len())]),
            _ => break,
        }
    }
    Attempt {
        status: Some(status),
        latency_ms: started.elapsed().as_millis() as i64,
        error: None,
        excerpt: Some(String::from_utf8_lossy(&excerpt).into_owned()),
    }
}

/// The innermost cause of a client error (what a reader can act on), without the URL.
fn root(e: &reqwest::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
