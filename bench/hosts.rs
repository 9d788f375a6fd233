//! Several hosts: the same work on a sandbox through the instance on its host (owning)
//! and through an instance on another host (forwarding over the internal channel), in
//! one run, rounds alternating. `files(recursive: true)` of 10,000 files through every
//! page, and a run's event stream: per-event latency from the line Claude writes to the
//! websocket client, with the runner on the owning host, or on the other one (its process
//! still on the owning host, its output relayed over the channel).
//!
//! Two servers in this process on one Postgres (`BENCH_DATABASE_URL` or a fresh database
//! on 127.0.0.1), each with its own data dir and host id. The bench binary doubles as the
//! `claude` command (`bench/producer.rs`).
//!
//! Run: `cargo bench --bench hosts`.

#[allow(dead_code)] // the shared helpers; this bench uses some
#[path = "common.rs"]
mod common;
#[path = "producer.rs"]
mod producer;
#[path = "ws_client.rs"]
mod ws_client;

use std::time::{Duration, Instant};

use sandboxql::{entity::enums::Role, service::accounts, startup::Application};
use serde_json::json;

/// Directories of the workspace, each with [`PER_DIR`] files.
const DIRS: usize = 100;
/// Files per directory.
const PER_DIR: usize = 100;
/// Events of one measured run.
const EVENTS: usize = 4_000;
/// Their rate, so latency is the path's and not a queue's.
const RATE: usize = 2_000;
/// Measured rounds of each.
const ROUNDS: usize = 3;
/// The internal secret both servers share.
const SECRET: &str = "bench-internal-secret-of-32-bytes-at-least";

async fn server(
    db_url: &str,
    host: &str,
    me: &str,
) -> anyhow::Result<(String, sandboxql::service::Services, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let mut config = common::config_for(dir.path().to_path_buf());
    config.store.database_url = Some(db_url.to_string());
    config.hosts.host_id = Some(host.into());
    config.hosts.internal_listen = Some("127.0.0.1:0".parse()?);
    config.hosts.internal_secret = Some(sandboxql::config::Secret(SECRET.into()));
    config.runs.claude_bin = me.into();
    config.limits.checkpoints.checkpoint_turns = false;
    config.limits.warm.warm_starts = false;
    let app = Application::build(config).await?;
    let (addr, svc) = (app.local_addr()?.to_string(), app.services.clone());
    tokio::spawn(app.run_until_stopped());
    Ok((addr, svc, dir))
}

async fn all_pages(addr: &str, token: &str, sandbox: &str) -> anyhow::Result<(Duration, usize)> {
    let q = "query($id: ID!, $o: Int!) { sandbox(id: $id) { files(recursive: true, first: 1000, offset: $o) { totalCount entries { path size modifiedAt } } } }";
    let start = Instant::now();
    let (mut offset, mut total) = (0usize, usize::MAX);
    while offset < total {
        let page = common::gql(addr, token, q, json!({"id": sandbox, "o": offset})).await?;
        total = page["sandbox"]["files"]["totalCount"].as_u64().unwrap_or(0) as usize;
        let n = page["sandbox"]["files"]["entries"].as_array().map(Vec::len).unwrap_or(0);
        anyhow::ensure!(n > 0 || offset >= total, "an empty page");
        offset += n;
    }
    Ok((start.elapsed(), offset))
}

/// Per-event latencies (µs) of one run started and followed through `addr`.
async fn stream(addr: &str, token: &str, sandbox: &str) -> anyhow::Result<Vec<f64>> {
    let q = "mutation($s: ID!, $p: String!) { startRun(input: {sandboxId: $s, prompt: $p}) { id } }";
    let prompt = format!("[flood {EVENTS}] [rate {RATE}] [wait 300]");
    let run = common::gql(addr, token, q, json!({"s": sandbox, "p": prompt})).await?;
    let run = run["startRun"]["id"].as_str().unwrap_or_default().to_string();
    let sub = "subscription($r: ID!) { runEvents(runId: $r) { __typename ... on AssistantText { text } } }";
    let mut ws = ws_client::subscribe(addr, token, sub, json!({"r": run})).await?;
    let mut lat = Vec::with_capacity(EVENTS);
    while let Some(ev) = ws_client::next_event(&mut ws).await? {
        if let Some(l) = ev["text"].as_str().and_then(producer::latency_of) {
            lat.push(l);
        }
        if ev["__typename"] == "RunFinished" {
            break;
        }
    }
    anyhow::ensure!(lat.len() == EVENTS, "{} of {EVENTS} events", lat.len());
    Ok(lat)
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * q) as usize]
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if producer::act_as_claude() {
        return Ok(());
    }
    let me = std::env::current_exe()?.display().to_string();
    let db_url = match std::env::var("BENCH_DATABASE_URL") {
        Ok(u) => u,
        Err(_) => sandboxql_testkit::fresh_postgres().await,
    };
    let (a, _svc_a, _da) = server(&db_url, "host-a", &me).await?;
    let (b, svc_b, db) = server(&db_url, "host-b", &me).await?;
    let issued =
        accounts::create_account(&svc_b.db, "bench", Role::User, 100).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = issued.token;
    // Made through B: its own host wins the tie, so the sandbox lives on host-b.
    let made = common::gql(&b, &token, "mutation { createSandbox(input: {}) { id host } }", json!({})).await?;
    let sb = made["createSandbox"]["id"].as_str().unwrap_or_default().to_string();
    anyhow::ensure!(made["createSandbox"]["host"] == "host-b", "placed on {}", made["createSandbox"]["host"]);
    let ws = db.path().join("sandboxes").join(uuid::Uuid::parse_str(&sb)?.simple().to_string()).join("disk/workspace");
    for d in 0..DIRS {
        let dir = ws.join(format!("pkg{d:03}"));
        std::fs::create_dir_all(&dir)?;
        for f in 0..PER_DIR {
            std::fs::write(dir.join(format!("file{f:03}.rs")), format!("// file {d}/{f}\n"))?;
        }
    }
    println!(
        "hosts: sandbox on host-b, {} files in {DIRS} directories; Postgres; owning = B, forwarding = A",
        DIRS * PER_DIR
    );
    all_pages(&b, &token, &sb).await?;
    all_pages(&a, &token, &sb).await?;
    let (mut own, mut fwd) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (t, n) = all_pages(&b, &token, &sb).await?;
        let (u, m) = all_pages(&a, &token, &sb).await?;
        anyhow::ensure!(n == m, "{n} entries through B, {m} through A");
        own.push(t);
        fwd.push(u);
    }
    let (o, f) = (median(own), median(fwd));
    println!("files(recursive) all pages, owning      {:>8.1} ms", o.as_secs_f64() * 1e3);
    println!("files(recursive) all pages, forwarding  {:>8.1} ms", f.as_secs_f64() * 1e3);
    println!("ratio forwarding / owning: {:.2}x (goal <= 1.3x)", f.as_secs_f64() / o.as_secs_f64());

    let (mut own, mut fwd) = (Vec::new(), Vec::new());
    stream(&b, &token, &sb).await?;
    for _ in 0..ROUNDS {
        own.extend(stream(&b, &token, &sb).await?);
        fwd.extend(stream(&a, &token, &sb).await?);
    }
    let (o50, o99) = (quantile(&mut own, 0.5), quantile(&mut own, 0.99));
    let (f50, f99) = (quantile(&mut fwd, 0.5), quantile(&mut fwd, 0.99));
    println!("run events ({EVENTS} at {RATE}/s x {ROUNDS}), owning     p50 {o50:>8.1} µs  p99 {o99:>8.1} µs");
    println!("run events ({EVENTS} at {RATE}/s x {ROUNDS}), forwarding p50 {f50:>8.1} µs  p99 {f99:>8.1} µs");
    println!(
        "added by forwarding: p50 {:.2} ms, p99 {:.2} ms (goal <= 2 ms at p99)",
        (f50 - o50) / 1e3,
        (f99 - o99) / 1e3
    );
    Ok(())
}
