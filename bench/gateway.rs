//! The Anthropic gateway's cost: time to first byte and total time of a streamed Messages
//! response fetched straight from an upstream, against the same response fetched through
//! the gateway with a run token (token check, budget check, key swap, streamed relay,
//! usage charged to the ledger before the body ends). One process, alternating rounds.
//!
//! The upstream is a local server answering every request with the same 40-event SSE
//! stream at once, so the figures isolate what the gateway adds. The run whose token is
//! used is a real run: its "claude" is a script that records its key and sleeps.
//!
//! Run: `cargo bench --bench gateway`.

#[path = "../tests/common/config.rs"]
mod config;

use std::time::{Duration, Instant};

use axum::{Router, body::Body, http::header, response::Response, routing::post};
use futures::StreamExt;
use sandboxql::{config::Secret, startup::Application};
use serde_json::json;

const ROUNDS: usize = 4;
const REQUESTS: usize = 400;

/// The upstream's answer: the events of a short streamed message with usage.
fn sse_body() -> String {
    let mut s = String::new();
    let mut ev = |name: &str, data: serde_json::Value| s.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    ev(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_b", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5", "content": [], "usage": {"input_tokens": 1200, "cache_read_input_tokens": 9000, "output_tokens": 1}}}),
    );
    ev(
        "content_block_start",
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    );
    for i in 0..36 {
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": format!("word{i} ")}}),
        );
    }
    ev("content_block_stop", json!({"type": "content_block_stop", "index": 0}));
    ev(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 37}}),
    );
    ev("message_stop", json!({"type": "message_stop"}));
    s
}

async fn upstream() -> String {
    let body = sse_body();
    let app = Router::new().route(
        "/v1/messages",
        post(move || {
            let body = body.clone();
            async move {
                // Headers first, then the events in a few chunks, as a real stream arrives.
                let chunks: Vec<Result<String, std::io::Error>> =
                    body.split_inclusive("\n\n").map(|c| Ok(c.to_string())).collect();
                Response::builder()
                    .header(header::CONTENT_TYPE, "text/event-stream")
                    .body(Body::from_stream(futures::stream::iter(chunks)))
                    .unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // No Nagle: each event goes out as it is written, as from a real streaming API (with
    // it, delayed ACKs add ~40 ms to every response on both paths).
    let listener = axum::serve::ListenerExt::tap_io(listener, |s| {
        let _ = s.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

struct Timing {
    ttfb: Vec<Duration>,
    total: Vec<Duration>,
}

fn q(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6
}

async fn measure(client: &reqwest::Client, url: &str, key: &str, t: &mut Timing) {
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": true,
        "messages": [{"role": "user", "content": "hello"}]});
    for _ in 0..REQUESTS {
        let start = Instant::now();
        let res = client.post(url).header("x-api-key", key).json(&body).send().await.unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        let mut stream = res.bytes_stream();
        let mut first = None;
        let mut bytes = 0;
        while let Some(chunk) = stream.next().await {
            bytes += chunk.unwrap().len();
            first.get_or_insert_with(|| start.elapsed());
        }
        assert!(bytes > 1000);
        t.ttfb.push(first.unwrap());
        t.total.push(start.elapsed());
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let up = upstream().await;
    let data = tempfile::tempdir().unwrap();
    let script = data.path().join("bin/claude");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(&script, "#!/bin/sh\nprintf %s \"$ANTHROPIC_API_KEY\" > \"$HOME/key\"\nexec sleep 3600\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut config = config::config_for(data.path().join("data"));
    config.runs.claude_bin = script.display().to_string();
    config.gateway.anthropic_base_url = up.clone();
    config.gateway.anthropic_api_key = Some(Secret("sk-ant-operator".into()));
    let app = Application::build(config).await.unwrap();
    let (addr, gw) = (app.local_addr().unwrap(), app.gateway_addr);
    let admin = app.bootstrap_token.clone().unwrap();
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::builder().tcp_nodelay(true).build().unwrap();
    let gql = |q: &'static str, v: serde_json::Value| {
        let (client, admin) = (client.clone(), admin.clone());
        async move {
            let r: serde_json::Value = client
                .post(format!("http://{addr}/graphql"))
                .bearer_auth(admin)
                .json(&json!({"query": q, "variables": v}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["data"].clone()
        }
    };
    let sb = gql("mutation { createSandbox(input: {}) { id } }", json!({})).await["createSandbox"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    gql("mutation($s: ID!) { startRun(input: {sandboxId: $s, prompt: \"bench\"}) { id } }", json!({"s": sb})).await;
    let key_file = data
        .path()
        .join("data/sandboxes")
        .join(uuid::Uuid::parse_str(&sb).unwrap().simple().to_string())
        .join("disk/home/key");
    let mut run_key = String::new();
    for _ in 0..200 {
        run_key = std::fs::read_to_string(&key_file).unwrap_or_default();
        if !run_key.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(run_key.starts_with("sgw_"), "the run's key: {run_key:?}");

    let direct_url = format!("{up}/v1/messages");
    let gateway_url = format!("http://{gw}/v1/messages");
    // Warm both paths (connections, caches).
    let mut warm = Timing { ttfb: vec![], total: vec![] };
    measure(&client, &direct_url, "sk-ant-operator", &mut warm).await;
    measure(&client, &gateway_url, &run_key, &mut warm).await;
    let mut direct = Timing { ttfb: vec![], total: vec![] };
    let mut via = Timing { ttfb: vec![], total: vec![] };
    for _ in 0..ROUNDS {
        measure(&client, &direct_url, "sk-ant-operator", &mut direct).await;
        measure(&client, &gateway_url, &run_key, &mut via).await;
    }
    println!(
        "gateway: {} streamed responses of {} bytes each way, SQLite ledger, {ROUNDS} alternating rounds",
        ROUNDS * REQUESTS,
        sse_body().len()
    );
    for (name, t) in [("direct to upstream", &mut direct), ("through the gateway", &mut via)] {
        println!(
            "{name:<22} ttfb p50 {:>7.1} µs  p99 {:>7.1} µs   total p50 {:>7.1} µs  p99 {:>7.1} µs",
            q(&mut t.ttfb, 0.5),
            q(&mut t.ttfb, 0.99),
            q(&mut t.total, 0.5),
            q(&mut t.total, 0.99)
        );
    }
    let added_ttfb = q(&mut via.ttfb, 0.5) - q(&mut direct.ttfb, 0.5);
    let added_total = q(&mut via.total, 0.5) - q(&mut direct.total, 0.5);
    println!(
        "added at p50: ttfb {:.0} µs, total {:.0} µs (goal <= 1000 µs); ratio total p50 gateway/direct {:.2}x",
        added_ttfb,
        added_total,
        q(&mut via.total, 0.5) / q(&mut direct.total, 0.5)
    );
    let usage = gql("{ viewer { usage { requests costUsd } } }", json!({})).await;
    println!("ledger: {}", usage["viewer"]["usage"]);
}
