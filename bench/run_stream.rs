//! Claude run streaming: events/s and latency from a stdout line to a websocket client,
//! against reading the same lines straight from the pipe; and server RSS with 1,000
//! concurrent subscribers.
//!
//! The server runs as its own process (the release binary). This bench binary doubles as
//! the `claude` command: started with `-p …` it prints stream-json lines, each carrying
//! the wall-clock time it was written, so latency is measured per line.
//!
//! Run: `cargo bench --bench run_stream`.

#[path = "producer.rs"]
mod producer;
#[path = "ws_client.rs"]
mod ws_client;

use producer::latency_of;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;
use tokio::io::AsyncBufReadExt;

const EVENTS: usize = 20_000;
const SUBSCRIBERS: usize = 1_000;
const FANOUT_EVENTS: usize = 200;
const RATE: usize = 2_000;

struct Stats {
    latencies_us: Vec<f64>,
    events: usize,
    wall: Duration,
}

impl Stats {
    fn quantile(&mut self, q: f64) -> f64 {
        self.latencies_us.sort_by(|a, b| a.total_cmp(b));
        self.latencies_us[((self.latencies_us.len() - 1) as f64 * q) as usize]
    }
    fn rate(&self) -> f64 {
        self.events as f64 / self.wall.as_secs_f64()
    }
    fn line(&mut self, name: &str) -> String {
        let (p50, p99) = (self.quantile(0.5), self.quantile(0.99));
        format!("{name:<34} {:>9.0} events/s   p50 {p50:>8.1} µs   p99 {p99:>8.1} µs", self.rate())
    }
}

async fn baseline(me: &str, prompt: &str) -> anyhow::Result<Stats> {
    let mut child = tokio::process::Command::new(me).args(["-p", "--", prompt]).stdout(Stdio::piped()).spawn()?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut lat, start) = (Vec::with_capacity(EVENTS), Instant::now());
    while let Some(line) = lines.next_line().await? {
        let v: serde_json::Value = serde_json::from_str(&line)?;
        if let Some(l) = v["message"]["content"][0]["text"].as_str().and_then(latency_of) {
            lat.push(l);
        }
    }
    child.wait().await?;
    Ok(Stats { events: lat.len(), latencies_us: lat, wall: start.elapsed() })
}

async fn through_server(addr: &str, token: &str, sandbox: &str, prompt: &str) -> anyhow::Result<Stats> {
    let q = "subscription($s: ID!, $p: String!) { claudeStream(sandboxId: $s, prompt: $p) { __typename ... on AssistantText { text } } }";
    let start = Instant::now();
    let mut ws = ws_client::subscribe(addr, token, q, json!({"s": sandbox, "p": prompt})).await?;
    let mut lat = Vec::with_capacity(EVENTS);
    while let Some(ev) = ws_client::next_event(&mut ws).await? {
        if let Some(l) = ev["text"].as_str().and_then(latency_of) {
            lat.push(l);
        }
    }
    anyhow::ensure!(!lat.is_empty(), "no events");
    Ok(Stats { events: lat.len(), latencies_us: lat, wall: start.elapsed() })
}

/// 1,000 subscribers need more than the default 1,024 descriptors on both ends.
fn raise_fd_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit write or read only the struct passed in.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

async fn gql(addr: &str, token: &str, query: &str, vars: serde_json::Value) -> anyhow::Result<serde_json::Value> {
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": vars}))
        .send()
        .await?;
    Ok(resp.json().await?)
}

async fn fanout(addr: &str, token: &str, sandbox: &str, pid: u32) -> anyhow::Result<(u64, u64, Duration)> {
    let q = "mutation($s: ID!, $p: String!) { startRun(input: {sandboxId: $s, prompt: $p}) { id } }";
    let prompt = format!("[flood {FANOUT_EVENTS}] [wait 8000]");
    let run = gql(addr, token, q, json!({"s": sandbox, "p": prompt})).await?;
    let run = run["data"]["startRun"]["id"].as_str().unwrap_or_default().to_string();
    let before = rss_kb(pid);
    let sub = "subscription($r: ID!) { runEvents(runId: $r) { __typename } }";
    let mut sockets = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        sockets.push(ws_client::subscribe(addr, token, sub, json!({"r": run})).await?);
    }
    let start = Instant::now();
    let counts = futures::future::join_all(sockets.into_iter().map(|mut ws| async move {
        let mut n = 0u64;
        while let Ok(Some(_)) = ws_client::next_event(&mut ws).await {
            n += 1;
        }
        n
    }));
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kb(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let counts = counts.await;
    sampler.abort();
    let delivered = start.elapsed();
    let expected = FANOUT_EVENTS as u64 + 2; // SessionStarted + flood + RunFinished
    anyhow::ensure!(counts.iter().all(|&c| c == expected), "a subscriber missed events: {:?}", &counts[..5]);
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed).max(rss_kb(pid));
    Ok((before, peak, delivered))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if producer::act_as_claude() {
        return Ok(());
    }
    raise_fd_limit();
    let me = std::env::current_exe()?.display().to_string();
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandboxql"))
        .args(["serve", "--listen", "127.0.0.1:0", "--claude-bin", &me, "--max-sandboxes-per-account", "10"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .env("SANDBOXQL_SANDBOX_BOUNDS", "off")
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let (mut token, mut addr) = (String::new(), String::new());
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let line = line?;
        if let Some(t) = line.strip_prefix("admin token: ") {
            token = t.trim().to_string();
        }
        if let Some(a) = line.strip_prefix("sandboxql listening on http://") {
            addr = a.split_whitespace().next().unwrap_or_default().to_string();
            break;
        }
    }
    let mk = "mutation { createSandbox(input: {}) { id } }";
    let sb1 = gql(&addr, &token, mk, json!({})).await?["data"]["createSandbox"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let sb2 = gql(&addr, &token, mk, json!({})).await?["data"]["createSandbox"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let flood = format!("[flood {EVENTS}]");
    through_server(&addr, &token, &sb1, &flood).await?; // warm-up
    println!("run_stream: {EVENTS} stdout lines per run, SQLite, one websocket subscriber (claudeStream)");
    println!("-- max throughput: the producer writes as fast as it can (latency here is queueing) --");
    for round in ["", " (again)"] {
        let mut base = baseline(&me, &flood).await?;
        let mut served = through_server(&addr, &token, &sb1, &flood).await?;
        println!("{}", base.line(&format!("pipe read{round}")));
        println!("{}", served.line(&format!("stdout → store → websocket{round}")));
        println!("throughput ratio server/pipe: {:.2}", served.rate() / base.rate());
    }
    let paced = format!("[flood {}] [rate {RATE}]", RATE * 4);
    println!("-- latency at a steady {RATE} lines/s for 4 s --");
    for round in ["", " (again)"] {
        let mut base = baseline(&me, &paced).await?;
        let mut served = through_server(&addr, &token, &sb1, &paced).await?;
        println!("{}", base.line(&format!("pipe read{round}")));
        println!("{}", served.line(&format!("stdout → store → websocket{round}")));
    }

    let (before, peak, took) = fanout(&addr, &token, &sb2, pid).await?;
    println!(
        "fan-out: {SUBSCRIBERS} websocket subscribers × {} events each, delivered in {:.2} s; server RSS {:.1} MB before, {:.1} MB with all subscribers",
        FANOUT_EVENTS + 2,
        took.as_secs_f64(),
        before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    let _ = child.kill();
    Ok(())
}
