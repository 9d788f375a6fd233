//! What the sandbox bounds cost when a sandbox or a run starts: `createSandbox` until it
//! answers RUNNING, and `startRun` (as `claudeStream`) until the first event and until
//! Claude's first line (`SessionStarted`), for one server without bounds and one with
//! every bound (`--sandbox-bounds required`: cgroups, a disk of its own from the pool, a
//! uid of its own, a sized `/tmp`), in one process, alternating. A third server bounds
//! without a disk pool, to show what formatting a disk costs.
//!
//! This binary doubles as the `claude` command: started with `-p …` it prints an init
//! line and a result, like a Claude that answers at once. Both servers jail it.
//!
//! Run (as root, on a host with cgroups and loop devices): `cargo bench --bench run_start`.

#[allow(dead_code)] // the timing helpers are for the throughput benches
#[path = "common.rs"]
mod common;
#[allow(dead_code)]
#[path = "ws_client.rs"]
mod ws_client;

use std::time::{Duration, Instant};

use sandboxql::{config::BoundsMode, startup::Application};
use serde_json::json;

const ROUNDS: usize = 40;
/// Pause between two creates, so the pool's background refill keeps up (a sandbox every
/// quarter of a second per server).
const PAUSE: Duration = Duration::from_millis(250);

fn produce() {
    let init = json!({"type": "system", "subtype": "init", "session_id": "bench-session", "model": "bench", "cwd": "/", "tools": []});
    let result = json!({"type": "result", "subtype": "success", "is_error": false, "num_turns": 1, "duration_ms": 1, "total_cost_usd": 0.0, "result": "ok"});
    println!("{init}\n{result}");
}

struct Server {
    name: &'static str,
    addr: String,
    token: String,
    http: reqwest::Client,
    create: Vec<Duration>,
    first_event: Vec<Duration>,
    first_line: Vec<Duration>,
    _dir: tempfile::TempDir,
}

async fn server(
    name: &'static str,
    bounds: BoundsMode,
    pool: u32,
    templates: &std::path::Path,
) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let mut config = common::config_for(dir.path().to_path_buf());
    config.runs.claude_bin = std::env::current_exe()?.display().to_string();
    config.limits.max_sandboxes_per_account = 1000;
    config.sandbox.sandbox_bounds = bounds;
    config.sandbox.templates = Some(templates.to_path_buf());
    config.sandbox.disk_pool = pool;
    config.sandbox.min_free_disk = "0".into();
    let app = Application::build(config).await?;
    let addr = app.local_addr()?.to_string();
    let token = app.bootstrap_token.clone().unwrap_or_default();
    tokio::spawn(app.run_until_stopped());
    let none = Vec::new;
    let http = reqwest::Client::new();
    Ok(Server { name, addr, token, http, create: none(), first_event: none(), first_line: none(), _dir: dir })
}

impl Server {
    async fn gql(&self, query: &str, variables: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let url = format!("http://{}/graphql", self.addr);
        let body = json!({"query": query, "variables": variables});
        let v: serde_json::Value =
            self.http.post(url).bearer_auth(&self.token).json(&body).send().await?.json().await?;
        anyhow::ensure!(v["errors"].is_null(), "{v}");
        Ok(v["data"].clone())
    }

    /// One create (timed), one run in it (timed), one delete.
    async fn round(&mut self) -> anyhow::Result<()> {
        let t = Instant::now();
        let made = self.gql("mutation { createSandbox(input: {}) { id status } }", json!({})).await?;
        self.create.push(t.elapsed());
        anyhow::ensure!(made["createSandbox"]["status"] == "RUNNING");
        let sb = made["createSandbox"]["id"].as_str().unwrap_or_default().to_string();
        let mut ws = ws_client::connect(&self.addr, &self.token).await?;
        let q = "subscription($s: ID!) { claudeStream(sandboxId: $s, prompt: \"hi\") { __typename } }";
        let t = Instant::now();
        ws_client::start(&mut ws, q, json!({"s": sb})).await?;
        let mut first = true;
        while let Some(ev) = ws_client::next_event(&mut ws).await? {
            if first {
                self.first_event.push(t.elapsed());
                first = false;
            }
            if ev["__typename"] == "SessionStarted" {
                self.first_line.push(t.elapsed());
            }
            if ev["__typename"] == "RunFinished" {
                break;
            }
        }
        self.gql("mutation($id: ID!) { deleteSandbox(id: $id, sync: false) { id } }", json!({"id": sb})).await?;
        Ok(())
    }
}

fn p50(v: &mut [Duration]) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn p90(v: &mut [Duration]) -> f64 {
    v.sort();
    v[v.len() * 9 / 10].as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    // Started as `claude`: by the servers' start-up check (`--version`) or for a run.
    if std::env::args().any(|a| a == "--version") {
        println!("2.1.332 (Claude Code)");
        return Ok(());
    }
    if std::env::args().any(|a| a == "-p") {
        produce();
        return Ok(());
    }
    let t = tempfile::tempdir()?;
    let templates = t.path().join("templates.toml");
    std::fs::write(
        &templates,
        "[[templates]]\nname = \"bench\"\ndescription = \"bench\"\ndefault = true\n[templates.resources]\ndisk = \"256 MiB\"\n",
    )?;
    let mut servers = vec![
        server("without bounds", BoundsMode::Off, 0, &templates).await?,
        server("with bounds (pool 1)", BoundsMode::Required, 1, &templates).await?,
        server("with bounds, no pool", BoundsMode::Required, 0, &templates).await?,
    ];
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Warm-up: one round each, not counted.
    for s in servers.iter_mut() {
        s.round().await?;
        s.create.clear();
        s.first_event.clear();
        s.first_line.clear();
    }
    for _ in 0..ROUNDS {
        for s in servers.iter_mut() {
            s.round().await?;
            tokio::time::sleep(PAUSE).await;
        }
    }
    println!("run_start: {ROUNDS} rounds per server, alternating; SQLite; jailed; this 2-core VM; ms");
    println!(
        "{:<24} {:>22} {:>22} {:>22}",
        "", "createSandbox→RUNNING", "startRun→first event", "startRun→Claude's init"
    );
    let mut base = (0.0, 0.0, 0.0);
    for (i, s) in servers.iter_mut().enumerate() {
        let (c, e, l) = (p50(&mut s.create), p50(&mut s.first_event), p50(&mut s.first_line));
        let (c9, e9, l9) = (p90(&mut s.create), p90(&mut s.first_event), p90(&mut s.first_line));
        if i == 0 {
            base = (c, e, l);
        }
        println!("{:<24} p50 {c:>6.1} p90 {c9:>6.1}   p50 {e:>6.1} p90 {e9:>6.1}   p50 {l:>6.1} p90 {l9:>6.1}", s.name);
        if i > 0 {
            println!(
                "{:<24} p50 {:>+6.1} ({:.2}×)      p50 {:>+6.1} ({:.2}×)      p50 {:>+6.1} ({:.2}×)",
                "  vs without",
                c - base.0,
                c / base.0,
                e - base.1,
                e / base.1,
                l - base.2,
                l / base.2
            );
        }
    }
    // The pools' disks are mounted inside the servers' data dirs.
    let table = std::fs::read_to_string("/proc/self/mountinfo")?;
    for s in &servers {
        let prefix = s._dir.path().display().to_string();
        for m in table.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with(&prefix)) {
            let _ = std::process::Command::new("umount").args(["-l", m]).status();
        }
    }
    Ok(())
}
