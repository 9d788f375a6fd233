//! Webhook delivery under load: 10,000 events written to the outbox at 1,000 a second
//! (with `entity::webhook_event::record`, as every cause writes them), delivered by the
//! server's deliverer to a receiver in this process; the lag from each event's commit to
//! its receipt at p50/p99, and the throughput. Baseline: the same receiver's lag for a
//! bare POST from this process (no outbox, lease or signature), in the same run.
//!
//! Run: `cargo bench --bench webhooks` (SQLite).

#[allow(dead_code)]
#[path = "common.rs"]
mod common;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use common::gql;
use sandboxql::startup::Application;
use serde_json::{Value, json};

const EVENTS: usize = 10_000;
const PER_SEC: usize = 1_000;
/// Sandboxes the events are spread over (deliveries are ordered per sandbox).
const SANDBOXES: usize = 100;

type Lags = Arc<Mutex<Vec<(f64, Instant)>>>;

async fn receive(State(lags): State<Lags>, body: Bytes) -> &'static str {
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let sent = v["timestamp"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    if let Some(sent) = sent {
        let lag = (chrono::Utc::now() - sent.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0) as f64 / 1e3;
        lags.lock().unwrap_or_else(|p| p.into_inner()).push((lag, Instant::now()));
    }
    "ok"
}

fn pct(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let lags: Lags = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let rx = Router::new().route("/hook", post(receive)).with_state(lags.clone());
    tokio::spawn(async move { axum::serve(listener, rx).await });

    // Baseline: bare POSTs to the same receiver.
    let client = reqwest::Client::new();
    for _ in 0..1000 {
        let body = json!({"type": "x", "timestamp": chrono::Utc::now().to_rfc3339(), "data": {}});
        client.post(&url).json(&body).send().await?;
    }
    let mut bare: Vec<f64> = lags.lock().unwrap_or_else(|p| p.into_inner()).drain(..).map(|l| l.0).collect();

    let dir = tempfile::tempdir()?;
    let mut cfg = common::config_for(dir.path().to_path_buf());
    cfg.webhook_allow_private = true;
    cfg.limits.webhooks.webhook_per_endpoint_per_sec = 100_000;
    cfg.limits.webhooks.webhook_concurrency = 64;
    cfg.limits.webhooks.webhook_poll_ms = 50;
    let app = Application::build(cfg).await?;
    let addr = app.local_addr()?.to_string();
    let token = app.bootstrap_token.clone().unwrap_or_default();
    let db = app.services.db.clone();
    tokio::spawn(app.run_until_stopped());
    let account: uuid::Uuid = gql(&addr, &token, "{ viewer { id } }", json!({})).await?["viewer"]["id"]
        .as_str()
        .unwrap_or_default()
        .parse()?;
    let create = "mutation($u: String!) { createWebhook(input: {url: $u}) { webhook { id } } }";
    gql(&addr, &token, create, json!({"u": url})).await?;
    let sandboxes: Vec<uuid::Uuid> = (0..SANDBOXES).map(|_| uuid::Uuid::now_v7()).collect();

    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for i in 0..EVENTS / (PER_SEC / 100) {
        tick.tick().await;
        for j in 0..PER_SEC / 100 {
            let n = i * (PER_SEC / 100) + j;
            let data = json!({"sandboxId": sandboxes[n % SANDBOXES], "n": n});
            sandboxql::entity::webhook_event::record(
                &db,
                account,
                Some(sandboxes[n % SANDBOXES]),
                "sandbox.created",
                data,
            )
            .await?;
        }
    }
    let written = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    while lags.lock().unwrap_or_else(|p| p.into_inner()).len() < EVENTS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = lags.lock().unwrap_or_else(|p| p.into_inner()).clone();
    anyhow::ensure!(got.len() >= EVENTS, "only {} of {EVENTS} delivered", got.len());
    let last = got.iter().map(|l| l.1).max().unwrap_or(started);
    let mut lag: Vec<f64> = got.iter().map(|l| l.0).collect();
    println!(
        "webhooks: {EVENTS} events at {PER_SEC}/s over {SANDBOXES} sandboxes (written in {:.1} s), one endpoint",
        written.as_secs_f64()
    );
    println!(
        "bare POST to the receiver        p50 {:7.2} ms  p99 {:7.2} ms",
        pct(&mut bare, 0.5),
        pct(&mut bare, 0.99)
    );
    println!(
        "commit to receipt (webhooks)     p50 {:7.2} ms  p99 {:7.2} ms  max {:7.2} ms",
        pct(&mut lag, 0.5),
        pct(&mut lag, 0.99),
        pct(&mut lag, 1.0)
    );
    println!(
        "throughput                       {:7.0} events/s (first write to last receipt)",
        EVENTS as f64 / (last - started).as_secs_f64()
    );
    Ok(())
}
