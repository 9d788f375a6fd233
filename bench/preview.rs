//! A preview through sandboxql vs straight to the app, in one process, rounds
//! alternating, against the same app in the same sandbox (`tests/fixtures/preview-app.py`,
//! a PRIVATE preview with its cookie, so the signature check is in the path):
//! - a 1 KB GET on a kept-alive connection (the same hyper client both ways): to the
//!   preview listener (route, cookie check, a pooled connection to the app) vs one made
//!   straight into the sandbox's network namespace to the app;
//! - a 100 MB download, the same two ways, in MB/s.
//!
//! Run: `cargo bench --bench preview` (needs root and bubblewrap: the sandbox's shared
//! network namespace).

#[allow(dead_code)]
#[path = "common.rs"]
mod common;

use std::time::Instant;

use bytes::Bytes;
use common::gql;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use sandboxql::startup::Application;
use serde_json::json;

const ROUNDS: usize = 300;
const BIG: usize = 100 * 1024 * 1024;
const PORT: u16 = 5173;
/// Downloads of the big file each way (the median counts: the app's own speed varies).
const DOWNLOADS: usize = 7;

fn p(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

type Direct = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// A GET on a kept-alive connection, the same client both ways (only the path differs).
async fn get(send: &mut Direct, path: &str, host: &str, cookie: &str) -> anyhow::Result<usize> {
    let mut req = hyper::Request::get(path).header("host", host);
    if !cookie.is_empty() {
        req = req.header("cookie", cookie);
    }
    let req = req.body(Empty::<Bytes>::new())?;
    send.ready().await?;
    let resp = send.send_request(req).await?;
    anyhow::ensure!(resp.status() == 200, "status {}", resp.status());
    let mut body = resp.into_body();
    let mut n = 0;
    while let Some(frame) = body.frame().await {
        n += frame?.data_ref().map(|d| d.len()).unwrap_or(0);
    }
    Ok(n)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let app = Application::build(common::config_for(dir.path().to_path_buf())).await?;
    let (addr, preview_addr) = (app.local_addr()?.to_string(), app.preview_addr);
    let token = app.bootstrap_token.clone().unwrap_or_default();
    let backend = app.services.backend.clone();
    tokio::spawn(app.run_until_stopped());
    let sb =
        gql(&addr, &token, "mutation { createSandbox(input: {}) { id } }", json!({})).await?["createSandbox"]["id"]
            .as_str()
            .unwrap_or("")
            .to_string();
    let write = "mutation($s: ID!, $c: String!) { writeFile(sandboxId: $s, path: \"app.py\", content: $c) { size } }";
    gql(&addr, &token, write, json!({"s": sb, "c": include_str!("../tests/fixtures/preview-app.py")})).await?;
    let start =
        "mutation($s: ID!) { startProcess(input: {sandboxId: $s, argv: [\"python3\", \"app.py\", \"5173\"]}) { id } }";
    gql(&addr, &token, start, json!({"s": sb})).await?;
    let expose =
        "mutation($s: ID!) { exposePort(sandboxId: $s, port: 5173, visibility: PRIVATE) { url link { url } } }";
    let p0 = gql(&addr, &token, expose, json!({"s": sb})).await?["exposePort"].clone();
    let url = p0["url"].as_str().unwrap_or("").to_string();
    let host = url.split("://").nth(1).unwrap_or("").split(':').next().unwrap_or("").to_string();
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).resolve(&host, preview_addr).build()?;
    let opened = client.get(p0["link"]["url"].as_str().unwrap_or("")).send().await?;
    let cookie = opened
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    let ports = backend.ports().ok_or_else(|| anyhow::anyhow!("no ports on this backend"))?;
    let ext = sb.clone().into();
    let mut waited = 0;
    let stream = loop {
        match ports.dial(&ext, PORT).await {
            Ok(s) => break s,
            Err(_) if waited < 100 => {
                waited += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => anyhow::bail!("the app never listened: {e:?}"),
        }
    };
    let (mut direct, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let to_preview = tokio::net::TcpStream::connect(preview_addr).await?;
    to_preview.set_nodelay(true)?;
    let (mut through_conn, conn) = hyper::client::conn::http1::handshake(TokioIo::new(to_preview)).await?;
    tokio::spawn(conn);
    let preview_host = format!("{host}:{}", preview_addr.port());

    let (mut through, mut straight) = (Vec::new(), Vec::new());
    for i in 0..ROUNDS + 20 {
        let t = Instant::now();
        anyhow::ensure!(get(&mut through_conn, "/big?n=1024", &preview_host, &cookie).await? == 1024);
        let a = t.elapsed().as_secs_f64() * 1e6;
        let t = Instant::now();
        anyhow::ensure!(get(&mut direct, "/big?n=1024", "localhost", "").await? == 1024);
        let b = t.elapsed().as_secs_f64() * 1e6;
        if i >= 20 {
            through.push(a);
            straight.push(b);
        }
    }
    let big = format!("/big?n={BIG}");
    let (mut through_mbs, mut straight_mbs) = (Vec::new(), Vec::new());
    for _ in 0..DOWNLOADS {
        let t = Instant::now();
        anyhow::ensure!(get(&mut through_conn, &big, &preview_host, &cookie).await? == BIG);
        through_mbs.push(BIG as f64 / t.elapsed().as_secs_f64() / 1e6);
        let t = Instant::now();
        anyhow::ensure!(get(&mut direct, &big, "localhost", "").await? == BIG);
        straight_mbs.push(BIG as f64 / t.elapsed().as_secs_f64() / 1e6);
    }
    println!(
        "preview: {ROUNDS} 1 KB GETs alternating, 3 downloads of {} MB each way; PRIVATE preview with its cookie",
        BIG >> 20
    );
    let (t50, t99, s50, s99) =
        (p(&mut through, 0.5), p(&mut through, 0.99), p(&mut straight, 0.5), p(&mut straight, 0.99));
    println!("1 KB GET, straight to the app     p50 {s50:8.1} µs  p99 {s99:8.1} µs");
    println!("1 KB GET, through the preview     p50 {t50:8.1} µs  p99 {t99:8.1} µs   added p50 {:+.1} µs", t50 - s50);
    let (tm, sm) = (p(&mut through_mbs, 0.5), p(&mut straight_mbs, 0.5));
    println!("100 MB, straight to the app       {sm:8.1} MB/s");
    println!("100 MB, through the preview       {tm:8.1} MB/s   ratio {:.2}", tm / sm);
    Ok(())
}
