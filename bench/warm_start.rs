//! First words of a message: the real Claude Code CLI (jailed) against a fake Anthropic
//! API that answers at once, started warm — on the Claude the previous run talked to and
//! left waiting (kept), or on a fresh one started when it ended (`--warm-reuse false`) —
//! vs started cold (a server with warm starts off), vs the same CLI started directly (no
//! server, no jail), in one process, rounds alternating. Each figure is the time from
//! asking (`claudeStream`, or spawning the CLI) to the first text delta.
//!
//! Run: `cargo bench --bench warm_start` (needs the CLI of `scripts/install-test-deps.sh`
//! or `SANDBOXQL_TEST_CLAUDE`).

#[allow(dead_code)]
#[path = "common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../tests/api/helpers/fake_anthropic.rs"]
mod fake_anthropic;
#[allow(dead_code)]
#[path = "ws_client.rs"]
mod ws_client;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use sandboxql::startup::Application;
use serde_json::json;

const ROUNDS: usize = 12;
/// Between two messages to one sandbox: time for the next warm Claude to get ready.
const PAUSE: Duration = Duration::from_millis(2500);

fn cli() -> String {
    std::env::var("SANDBOXQL_TEST_CLAUDE")
        .unwrap_or_else(|_| "/var/tmp/sandboxql-tools/claude/node_modules/.bin/claude".into())
}

struct Server {
    name: &'static str,
    addr: String,
    token: String,
    sandbox: String,
    first_text: Vec<Duration>,
    _dir: tempfile::TempDir,
}

async fn server(name: &'static str, warm: bool, reuse: bool, upstream: &str) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let mut config = common::config_for(dir.path().to_path_buf());
    config.runs.claude_bin = cli();
    config.gateway.anthropic_base_url = upstream.to_string();
    config.gateway.anthropic_api_key = Some(sandboxql::config::Secret("sk-ant-bench".into()));
    config.limits.warm.warm_starts = warm;
    config.limits.warm.warm_reuse = reuse;
    let app = Application::build(config).await?;
    let addr = app.local_addr()?.to_string();
    let token = app.bootstrap_token.clone().unwrap_or_default();
    tokio::spawn(app.run_until_stopped());
    let mut s = Server { name, addr, token, sandbox: String::new(), first_text: Vec::new(), _dir: dir };
    let http = reqwest::Client::new();
    let body = json!({"query": "mutation { createSandbox(input: {}) { id } }"});
    let v: serde_json::Value =
        http.post(format!("http://{}/graphql", s.addr)).bearer_auth(&s.token).json(&body).send().await?.json().await?;
    s.sandbox = v["data"]["createSandbox"]["id"].as_str().unwrap_or_default().to_string();
    anyhow::ensure!(!s.sandbox.is_empty(), "{v}");
    Ok(s)
}

impl Server {
    /// One message; the time to its first text delta.
    async fn message(&mut self) -> anyhow::Result<Duration> {
        let mut ws = ws_client::connect(&self.addr, &self.token).await?;
        let q = "subscription($s: ID!) { claudeStream(sandboxId: $s, prompt: \"Say hi.\") { __typename } }";
        let t = Instant::now();
        ws_client::start(&mut ws, q, json!({"s": self.sandbox})).await?;
        let mut first = None;
        while let Some(ev) = ws_client::next_event(&mut ws).await? {
            if first.is_none() && ev["__typename"] == "TextDelta" {
                first = Some(t.elapsed());
            }
            if ev["__typename"] == "RunFinished" {
                anyhow::ensure!(first.is_some(), "no text: {ev}");
                break;
            }
        }
        first.ok_or_else(|| anyhow::anyhow!("the stream ended early"))
    }
}

/// The CLI started directly, as a developer would run it, to its first text delta.
fn direct(upstream: &str, home: &std::path::Path) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let mut child = Command::new(cli())
        .args(["-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages"])
        .args(["--dangerously-skip-permissions", "--", "Say hi."])
        .env("ANTHROPIC_BASE_URL", upstream)
        .env("ANTHROPIC_API_KEY", "sk-ant-bench")
        .env("HOME", home)
        .env("IS_SANDBOX", "1")
        .current_dir(home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let out = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut first = None;
    for line in BufReader::new(out).lines() {
        let line = line?;
        if first.is_none() && line.contains("\"text_delta\"") {
            first = Some(t.elapsed());
        }
    }
    child.wait()?;
    first.ok_or_else(|| anyhow::anyhow!("no text from the CLI"))
}

/// The CLI started directly in stream-json input mode and left waiting (as a warm
/// process is): from writing a message on its stdin to the first text delta — the floor
/// of any warm start — and, when `used`, after it answered a first message (as a kept
/// process is), for the second: the floor of a kept start.
fn direct_warm(upstream: &str, home: &std::path::Path, used: bool) -> anyhow::Result<Duration> {
    use std::io::Write;
    let mut child = Command::new(cli())
        .args(["-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages"])
        .args(["--input-format", "stream-json", "--dangerously-skip-permissions"])
        .env("ANTHROPIC_BASE_URL", upstream)
        .env("ANTHROPIC_API_KEY", "sk-ant-bench")
        .env("HOME", home)
        .env("IS_SANDBOX", "1")
        .current_dir(home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take();
    let msg = json!({"type": "user", "message": {"role": "user", "content": "Say hi."}, "parent_tool_use_id": null, "session_id": ""});
    let out = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(out).lines();
    if used {
        if let Some(w) = stdin.as_mut() {
            writeln!(w, "{msg}")?;
        }
        for line in lines.by_ref() {
            if line?.contains("\"type\":\"result\"") {
                break;
            }
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    if let Some(w) = stdin.as_mut() {
        writeln!(w, "{msg}")?;
    }
    let mut first = None;
    for line in lines {
        let line = line?;
        if first.is_none() && line.contains("\"text_delta\"") {
            first = Some(t.elapsed());
            drop(stdin.take()); // one turn is enough: closing stdin ends the CLI after it
        }
    }
    child.wait()?;
    first.ok_or_else(|| anyhow::anyhow!("no text from the waiting CLI"))
}

fn p(v: &mut [Duration], q: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let fake = fake_anthropic::start().await;
    let upstream = format!("http://{}", fake.addr);
    let mut servers = [
        server("warm, kept", true, true, &upstream).await?,
        server("warm, fresh", true, false, &upstream).await?,
        server("cold", false, false, &upstream).await?,
    ];
    let home = tempfile::tempdir()?;
    let (mut directs, mut waiting, mut used) = (Vec::new(), Vec::new(), Vec::new());
    // Warm-up: each sandbox's first two messages (its session starts, cold; the second
    // runs on a fresh warm process and leaves it kept; not counted).
    for s in servers.iter_mut() {
        s.message().await?;
    }
    tokio::time::sleep(PAUSE).await;
    for s in servers.iter_mut() {
        s.message().await?;
    }
    direct(&upstream, home.path())?;
    tokio::time::sleep(PAUSE).await;
    for _ in 0..ROUNDS {
        for s in servers.iter_mut() {
            let d = s.message().await?;
            s.first_text.push(d);
        }
        let up = upstream.clone();
        let h = home.path().to_path_buf();
        directs.push(tokio::task::spawn_blocking(move || direct(&up, &h)).await??);
        let (up, h) = (upstream.clone(), home.path().to_path_buf());
        waiting.push(tokio::task::spawn_blocking(move || direct_warm(&up, &h, false)).await??);
        let (up, h) = (upstream.clone(), home.path().to_path_buf());
        used.push(tokio::task::spawn_blocking(move || direct_warm(&up, &h, true)).await??);
        tokio::time::sleep(PAUSE).await;
    }
    println!(
        "warm_start: {ROUNDS} rounds, alternating; real Claude Code CLI, jailed; fake API answering at once; SQLite; ms to first text"
    );
    let (d50, d90) = (p(&mut directs, 0.5), p(&mut directs, 0.9));
    println!("{:<26} p50 {d50:>7.1} p90 {d90:>7.1}", "CLI started directly");
    let (w50, w90) = (p(&mut waiting, 0.5), p(&mut waiting, 0.9));
    println!("{:<26} p50 {w50:>7.1} p90 {w90:>7.1}   (message to a waiting CLI)", "CLI waiting, directly");
    let (u50, u90) = (p(&mut used, 0.5), p(&mut used, 0.9));
    println!("{:<26} p50 {u50:>7.1} p90 {u90:>7.1}   (second message to a CLI)", "CLI used, directly");
    for s in servers.iter_mut() {
        let (m50, m90) = (p(&mut s.first_text, 0.5), p(&mut s.first_text, 0.9));
        let name = format!("sandboxql, {}", s.name);
        let floor = match s.name {
            "warm, kept" => format!("   vs a used CLI: {:>+6.1} ms", m50 - u50),
            "warm, fresh" => format!("   vs a waiting CLI: {:>+6.1} ms", m50 - w50),
            _ => String::new(),
        };
        println!(
            "{name:<26} p50 {m50:>7.1} p90 {m90:>7.1}   vs direct: {:>+7.1} ms ({:.2}×){floor}",
            m50 - d50,
            m50 / d50
        );
    }
    Ok(())
}
