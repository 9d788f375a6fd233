//! The file explorer over a 100,000-file workspace: `files(recursive: true)` through all
//! pages and `fileTree`, against `find -printf '%p %s %T@\n'` on the same tree in the same
//! run, and against the seed's way (one `stat` + `md5sum` process per file) on a 1,000-file
//! sample, scaled to the whole tree.
//!
//! Run: `cargo bench --bench files`.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

#[path = "../tests/common/config.rs"]
mod common;

use sandboxql::{auth::Viewer, entity::enums::Role, service::accounts, startup::Application};
use serde_json::json;

const DIRS: usize = 1000;
const PER_DIR: usize = 100;
const PAGE: usize = 1000;

fn populate(ws: &Path) -> std::io::Result<()> {
    for d in 0..DIRS {
        let dir = ws.join(format!("pkg{:04}/src", d));
        std::fs::create_dir_all(&dir)?;
        for f in 0..PER_DIR {
            std::fs::write(dir.join(format!("file{f:03}.rs")), format!("// file {d}/{f}\n"))?;
        }
    }
    Ok(())
}

fn find(ws: &Path) -> anyhow::Result<(Duration, usize)> {
    let start = Instant::now();
    let out = Command::new("find").arg(ws).args(["-printf", "%p %s %T@\n"]).stdout(Stdio::piped()).output()?;
    Ok((start.elapsed(), out.stdout.iter().filter(|b| **b == b'\n').count()))
}

fn seed_way(ws: &Path, sample: usize) -> anyhow::Result<Duration> {
    let start = Instant::now();
    for f in 0..sample {
        let path = ws.join(format!("pkg{:04}/src/file{:03}.rs", f / PER_DIR, f % PER_DIR));
        let script = "stat -c '%s|%Y' \"$1\" && md5sum \"$1\" | cut -d' ' -f1";
        let out = Command::new("sh").args(["-c", script, "sh"]).arg(&path).output()?;
        anyhow::ensure!(out.status.success(), "stat/md5sum failed");
    }
    Ok(start.elapsed())
}

/// The reply as a typed client would read it.
#[derive(serde::Deserialize)]
struct Reply {
    data: ReplyData,
}
#[derive(serde::Deserialize)]
struct ReplyData {
    sandbox: ReplySandbox,
}
#[derive(serde::Deserialize)]
struct ReplySandbox {
    files: ReplyFiles,
}
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReplyFiles {
    total_count: usize,
    entries: Vec<ReplyEntry>,
}
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct ReplyEntry {
    path: String,
    size: u64,
    modified_at: String,
}

async fn all_pages(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    sandbox: &str,
) -> anyhow::Result<(Duration, usize)> {
    let q = "query($id: ID!, $o: Int!, $n: Int!) { sandbox(id: $id) { files(recursive: true, first: $n, offset: $o) { totalCount entries { path size modifiedAt } } } }";
    let start = Instant::now();
    let (mut offset, mut total) = (0usize, usize::MAX);
    while offset < total {
        let body = json!({"query": q, "variables": {"id": sandbox, "o": offset, "n": PAGE}});
        let bytes = client.post(url).bearer_auth(token).json(&body).send().await?.bytes().await?;
        let page: Reply = serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("bad reply: {e}"))?;
        total = page.data.sandbox.files.total_count;
        offset += page.data.sandbox.files.entries.len();
    }
    Ok((start.elapsed(), offset))
}

async fn tree(client: &reqwest::Client, url: &str, token: &str, sandbox: &str) -> anyhow::Result<(Duration, bool)> {
    let q = "query($id: ID!) { sandbox(id: $id) { fileTree(depth: 3) { truncated children { name truncated children { name children { name entry { size } } } } } } }";
    let start = Instant::now();
    let v: serde_json::Value = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({"query": q, "variables": {"id": sandbox}}))
        .send()
        .await?
        .json()
        .await?;
    let truncated =
        v["data"]["sandbox"]["fileTree"]["truncated"].as_bool().ok_or_else(|| anyhow::anyhow!("bad reply {v}"))?;
    Ok((start.elapsed(), truncated))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = common::config_for(dir.path().to_path_buf());
    // A listing on an otherwise idle server: the walk may use every core (the default,
    // half of them, keeps cores free for other tenants; bench/README.md has both figures).
    if std::env::var("BENCH_DEFAULT_WALK_THREADS").is_err() {
        config.limits.walk_threads = std::thread::available_parallelism().map(|n| n.get() as u64).unwrap_or(1);
    }
    let app = Application::build(config).await?;
    let (addr, svc) = (app.local_addr()?, app.services.clone());
    tokio::spawn(app.run_until_stopped());
    let issued =
        accounts::create_account(&svc.db, "bench", Role::User, 100).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let viewer = Viewer { account_id: issued.account_id, organization_id: None, role: Role::User, read_only: false };
    let input = sandboxql::service::lifecycle::CreateSandbox {
        provider: sandboxql::entity::enums::Provider::ClaudeCode,
        template: None,
        agent_id: None,
        name: None,
        from_snapshot: None,
        git: None,
        allow_partial: false,
    };
    let sb = svc.lifecycle.create(&viewer, input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let ws = dir.path().join("sandboxes").join(sb.id.simple().to_string()).join("disk/workspace");
    populate(&ws)?;
    let (client, url, id) = (reqwest::Client::new(), format!("http://{addr}/graphql"), sb.id.to_string());

    find(&ws)?; // warm the page cache for both
    all_pages(&client, &url, &issued.token, &id).await?;
    println!(
        "files: workspace of {} files in {DIRS} directories ({} entries), SQLite, pages of {PAGE}",
        DIRS * PER_DIR,
        DIRS * (PER_DIR + 2)
    );
    let (mut ratios, mut listing) = (vec![], Duration::ZERO);
    for round in ["", " (again)"] {
        let (f, n) = find(&ws)?;
        let (g, m) = all_pages(&client, &url, &issued.token, &id).await?;
        anyhow::ensure!(m + 1 == n, "listing has {m} entries, find {n} lines (find counts the root)");
        println!("find -printf{round:<8}                 {:>8.1} ms  ({n} lines)", f.as_secs_f64() * 1e3);
        println!(
            "files(recursive) all pages{round:<8}   {:>8.1} ms  ({m} entries, {} requests)",
            g.as_secs_f64() * 1e3,
            m.div_ceil(PAGE)
        );
        ratios.push(g.as_secs_f64() / f.as_secs_f64());
        listing = g;
    }
    println!("ratio files / find: {:.2}x, {:.2}x (goal <= 1.5x)", ratios[0], ratios[1]);
    let (t, truncated) = tree(&client, &url, &issued.token, &id).await?;
    let (f, _) = find(&ws)?;
    println!(
        "fileTree(depth: 3, cap 5000 nodes, truncated: {truncated}) {:>8.1} ms; find on the whole tree {:>8.1} ms",
        t.as_secs_f64() * 1e3,
        f.as_secs_f64() * 1e3
    );
    let sample = 1000;
    let s = seed_way(&ws, sample)?;
    let scaled = s.as_secs_f64() * (DIRS * PER_DIR) as f64 / sample as f64;
    println!(
        "seed's way: stat + md5sum process per file: {sample} files in {:.1} ms → {:.1} s for {} files (scaled)",
        s.as_secs_f64() * 1e3,
        scaled,
        DIRS * PER_DIR
    );
    println!("ratio seed's way / files(recursive) all pages: {:.0}x", scaled / listing.as_secs_f64());
    Ok(())
}
