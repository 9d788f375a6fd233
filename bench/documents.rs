//! Hostile documents against everybody else: how long each shape of the abuse corpus
//! takes to be refused (against an ordinary `viewer` query), then account B's `viewer`
//! p99 while 20 clients without a token send the 31-fragment document in a loop (each
//! copy made unique, so no cache helps), against B's p99 on the idle server, and the
//! server's CPU in the seconds after the flood stops — all in one run.
//!
//! Run: `cargo bench --bench documents`.

#[path = "../tests/common/abuse_documents.rs"]
mod abuse_documents;
#[allow(dead_code)]
#[path = "common.rs"]
mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use sandboxql::{entity::enums::Role, service::accounts, startup::Application};
use serde_json::{Value, json};

const VIEWER: &str = "{ viewer { id } }";
const PACE: Duration = Duration::from_millis(10);
const SAMPLES: usize = 1000;
const FLOODERS: usize = 20;

async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, query: &str) -> Value {
    let mut req = http.post(url).json(&json!({"query": query}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("send").json().await.expect("json")
}

/// B's `viewer`, paced, until `n` samples.
async fn measure(http: &reqwest::Client, url: &str, token: &str, n: usize) -> common::Run {
    let start = Instant::now();
    let mut samples = Vec::with_capacity(n);
    while samples.len() < n {
        let t = Instant::now();
        let v = post(http, url, Some(token), VIEWER).await;
        assert!(v.get("errors").is_none(), "{v}");
        samples.push(t.elapsed());
        tokio::time::sleep(PACE.saturating_sub(t.elapsed())).await;
    }
    common::Run { samples, wall: start.elapsed() }
}

/// CPU time (user + system) this process has used.
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes the struct passed and nothing else.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Median time of `n` requests of `query` (each copy made unique by a comment).
async fn median_of(http: &reqwest::Client, url: &str, token: Option<&str>, query: &str, n: usize) -> Duration {
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let unique = format!("{query}\n# {i}");
        let t = Instant::now();
        post(http, url, token, &unique).await;
        v.push(t.elapsed());
    }
    v.sort();
    v[n / 2]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = common::config_for(dir.path().to_path_buf());
    let app = Application::build(config).await?;
    let addr = app.local_addr()?;
    let db = app.services.db.clone();
    tokio::spawn(app.run_until_stopped());
    let url = format!("http://{addr}/graphql");
    let http = reqwest::Client::new();
    let b = accounts::create_account(&db, "tenant-b", Role::User, 100).await.map_err(|e| anyhow::anyhow!("{e}"))?;

    println!("refusal of each shape (median of 20, each copy unique) against `{{ viewer {{ id }} }}`:");
    let base = median_of(&http, &url, Some(&b.token), VIEWER, 50).await;
    println!("{:<36} {:>8.0} µs", "viewer (baseline, answered)", base.as_secs_f64() * 1e6);
    for (name, doc, _) in abuse_documents::corpus() {
        let took = median_of(&http, &url, None, &doc, 20).await;
        let ratio = took.as_secs_f64() / base.as_secs_f64();
        println!("{name:<36} {:>8.0} µs   {ratio:>5.1}x", took.as_secs_f64() * 1e6);
    }

    let mut idle = measure(&http, &url, &b.token, SAMPLES).await;
    let idle_line = idle.line("B viewer, idle server");
    let idle_p99 = idle.quantile(0.99);

    println!("{idle_line}");
    let corpus = abuse_documents::corpus();
    let worst = corpus.iter().find(|(n, _, _)| n.starts_with("100 fragments")).map(|(_, d, _)| d.clone());
    let fragments = format!("{{ viewer {{ ...F0 }} }}\n{}", abuse_documents::doubling(31, 2, "Account", "id"));
    for (name, doc) in
        [("the 31-fragment document", fragments), ("100 fragments × 100 spreads", worst.unwrap_or_default())]
    {
        flood(&http, &url, &b.token, name, &doc, idle_p99).await;
    }
    Ok(())
}

/// B's p99 while 20 clients send `doc` (unique copies) without a token, then the CPU the
/// server uses in the two seconds after they stop.
async fn flood(http: &reqwest::Client, url: &str, token: &str, name: &str, doc: &str, idle_p99: Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..FLOODERS)
        .map(|c| {
            let (stop, sent, http, url, doc) =
                (stop.clone(), sent.clone(), http.clone(), url.to_string(), doc.to_string());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let v = post(&http, &url, None, &format!("{doc}# {c}-{i}")).await;
                    assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{v}");
                    sent.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let mut loaded = measure(http, url, token, SAMPLES).await;
    let rate = sent.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }
    let after = cpu_time();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second1 = cpu_time() - after;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second2 = cpu_time() - after - second1;
    println!("{}   ({rate:.0} refused per second meanwhile)", loaded.line(&format!("B viewer, 20 × {name}")));
    println!(
        "  p99 ratio loaded / idle: {:.2}x (goal <= 3.0x); server CPU after the flood: {:.0} ms in the first second, \
         {:.0} ms in the next (goal: idle within 1 s)",
        loaded.quantile(0.99).as_secs_f64() / idle_p99.as_secs_f64(),
        second1.as_secs_f64() * 1e3,
        second2.as_secs_f64() * 1e3
    );
}
