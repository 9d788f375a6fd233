//! One tenant's worst day against another tenant's experience: the p99 latency of account
//! B's `viewer` + `sandboxes(first: 20)` while account A runs a 500 MB sync, recursive
//! listings of a 100,000-entry workspace and 20 concurrent Claude runs, against the same
//! p99 on the idle server, in one run.
//!
//! Run: `cargo bench --bench noisy_neighbour` (data dir on /dev/shm when it exists; the
//! stand-in claude of tests/fixtures plays Claude).

#[allow(dead_code)]
#[path = "common.rs"]
mod common;
#[path = "moto.rs"]
#[allow(dead_code)]
mod moto;

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use sandboxql::{entity::enums::Role, service::accounts, startup::Application};
use serde_json::{Value, json};

const B_QUERY: &str = "{ viewer { id } sandboxes(first: 20) { edges { node { id name status } } } }";
/// B asks every this often (a user clicking around, not a load generator).
const PACE: Duration = Duration::from_millis(10);
const IDLE_SAMPLES: usize = 1500;

fn populate_big(ws: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for i in 0..500u64 {
        let dir = ws.join(format!("d{:02}", i / 20));
        std::fs::create_dir_all(&dir)?;
        let data = moto::noise(i, 1_000_000);
        total += data.len() as u64;
        std::fs::write(dir.join(format!("f{i:03}.bin")), data)?;
    }
    Ok(total)
}

fn populate_wide(ws: &Path) -> std::io::Result<()> {
    for d in 0..100 {
        let dir = ws.join(format!("d{d:03}"));
        std::fs::create_dir_all(&dir)?;
        for f in 0..999 {
            std::fs::write(dir.join(format!("f{f:03}")), b"")?;
        }
    }
    Ok(())
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    /// One request; a tenant over its rate or its caps waits as told and tries again, as a
    /// well-behaved client does.
    async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = json!({"query": query, "variables": variables});
        loop {
            let resp = self.http.post(&self.url).bearer_auth(token).json(&body).send().await.expect("send");
            let v: Value = resp.json().await.expect("json");
            match v["errors"][0]["extensions"]["code"].as_str() {
                None => return v["data"].clone(),
                Some("RATE_LIMITED") => {
                    let ms = v["errors"][0]["extensions"]["retryAfterMs"].as_u64().unwrap_or(100);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                Some(_) => panic!("{v}"),
            }
        }
    }
}

/// B's requests, paced, until `n` samples or `stop` is set.
async fn measure(client: &Client, token: &str, n: usize, stop: Option<&AtomicBool>) -> common::Run {
    let start = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < n && !stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
        let t = Instant::now();
        client.gql(token, B_QUERY, json!({})).await;
        samples.push(t.elapsed());
        tokio::time::sleep(PACE.saturating_sub(t.elapsed())).await;
    }
    common::Run { samples, wall: start.elapsed() }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir())?;
    let mut config = common::config_for(dir.path().to_path_buf());
    config.runs.claude_bin = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/claude-standin.py").into();
    config.limits.request_timeout_ms = 600_000;
    // The production defaults: a tenant's rate is part of what protects the others.
    config.limits.rate_limit_per_sec = 100;
    config.limits.rate_limit_burst = 500;
    let app = Application::build(config).await?;
    let addr = app.local_addr()?;
    let db = app.services.db.clone();
    tokio::spawn(app.run_until_stopped());
    let client = Arc::new(Client { http: reqwest::Client::new(), url: format!("http://{addr}/graphql") });
    let a = accounts::create_account(&db, "tenant-a", Role::User, 100).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let b = accounts::create_account(&db, "tenant-b", Role::User, 100).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let create = "mutation($n: String) { createSandbox(input: {name: $n}) { id } }";
    for i in 0..20 {
        client.gql(&b.token, create, json!({"n": format!("b-{i}")})).await;
    }
    let mut a_boxes = vec![];
    for i in 0..22 {
        let d = client.gql(&a.token, create, json!({"n": format!("a-{i}")})).await;
        a_boxes.push(d["createSandbox"]["id"].as_str().unwrap_or_default().to_string());
    }
    let ws = |id: &str| {
        let id = uuid::Uuid::parse_str(id).unwrap_or_default();
        dir.path().join("sandboxes").join(id.simple().to_string()).join("disk/workspace")
    };
    let bytes = populate_big(&ws(&a_boxes[0]))?;
    populate_wide(&ws(&a_boxes[1]))?;

    measure(&client, &b.token, 200, None).await; // warm-up
    let mut idle = measure(&client, &b.token, IDLE_SAMPLES, None).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut load = vec![];
    // 20 sandboxes, each running Claude again and again.
    for id in &a_boxes[2..] {
        let (client, token, stop, id) = (client.clone(), a.token.clone(), stop.clone(), id.clone());
        load.push(tokio::spawn(async move {
            let (start, watch) = (
                "mutation($s: ID!) { startRun(input: {sandboxId: $s, prompt: \"[delay 5] work\"}) { id } }",
                "query($s: ID!) { sandbox(id: $s) { activeRun { id } } }",
            );
            let mut runs = 0u32;
            while !stop.load(Ordering::Relaxed) {
                client.gql(&token, start, json!({"s": id})).await;
                runs += 1;
                while !client.gql(&token, watch, json!({"s": id})).await["sandbox"]["activeRun"].is_null() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            runs
        }));
    }
    // Recursive listings of the 100,000-entry workspace, one after another.
    {
        let (client, token, stop, id) = (client.clone(), a.token.clone(), stop.clone(), a_boxes[1].clone());
        load.push(tokio::spawn(async move {
            let q = "query($s: ID!) { sandbox(id: $s) { files(recursive: true, first: 1000) { totalCount } } }";
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                client.gql(&token, q, json!({"s": id})).await;
                n += 1;
            }
            n
        }));
    }
    // The 500 MB sync; B is measured for as long as it takes.
    let sync = {
        let (client, token, stop, id) = (client.clone(), a.token.clone(), stop.clone(), a_boxes[0].clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let q = "mutation($s: ID!) { syncSandbox(id: $s) { filesUploaded bytesTransferred } }";
            let r = client.gql(&token, q, json!({"s": id})).await;
            stop.store(true, Ordering::Relaxed);
            (t.elapsed(), r)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await; // let the load start
    let mut busy = measure(&client, &b.token, usize::MAX, Some(&stop)).await;
    let (sync_time, sync_result) = sync.await?;
    let mut counts = vec![];
    for h in load {
        counts.push(h.await?);
    }
    println!("noisy_neighbour: account B's `viewer` + `sandboxes(first: 20)`, one request every {PACE:?}");
    println!(
        "account A meanwhile: sync of {:.0} MB in {:.1} s ({}), {} runs over 20 sandboxes, {} recursive listings of 99,900 files",
        bytes as f64 / 1e6,
        sync_time.as_secs_f64(),
        sync_result["syncSandbox"],
        counts[..20].iter().sum::<u32>(),
        counts[20]
    );
    println!("{}", idle.line("B on an idle server"));
    println!("{}", busy.line("B while A is busy"));
    let ratio = busy.quantile(0.99).as_secs_f64() / idle.quantile(0.99).as_secs_f64();
    println!("ratio p99 busy / idle: {ratio:.2}x (goal <= 3.0x)");
    Ok(())
}
