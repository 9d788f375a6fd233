//! A terminal through sandboxql vs a local pty, in one process, rounds alternating:
//! - keystroke → echo: one byte typed, the time until the terminal echoes it back (the
//!   pty's own echo, a `cat` waiting on the other side): on the `/terminal/{id}`
//!   websocket of a jailed terminal vs written to a local pty's master directly;
//! - throughput: `cat` of a 100 MB file in the terminal, bytes per second until it ends,
//!   through the websocket (counting what arrived and what the scrollback cut) vs read
//!   from a local pty's master.
//!
//! Run: `cargo bench --bench terminal` (needs bubblewrap).

#[allow(dead_code)]
#[path = "common.rs"]
mod common;

use std::{
    io::{Read, Write},
    os::fd::OwnedFd,
    process::{Command, Stdio},
    time::Instant,
};

use common::gql;
use futures::{SinkExt, StreamExt};
use sandboxql::startup::Application;
use serde_json::{Value, json};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

const KEYSTROKES: usize = 300;
const BIG: usize = 100 * 1024 * 1024;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A local pty whose slave runs `argv` (the baseline).
fn local_pty(argv: &[&str]) -> anyhow::Result<(std::fs::File, std::process::Child)> {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave: OwnedFd = rustix::fs::open(
        name.as_c_str(),
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY,
        rustix::fs::Mode::empty(),
    )?;
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave))
        .spawn()?;
    Ok((std::fs::File::from(master), child))
}

async fn terminal(addr: &str, token: &str, sb: &str, argv: &[&str]) -> anyhow::Result<Socket> {
    let q = "mutation($s: ID!, $c: [String!]) { openTerminal(sandboxId: $s, command: $c) { id } }";
    let id = gql(addr, token, q, json!({"s": sb, "c": argv})).await?["openTerminal"]["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let mut req = format!("ws://{addr}/terminal/{id}").into_client_request()?;
    req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sandboxql.terminal"));
    let (mut ws, _) = connect_async(req).await?;
    ws.send(Message::Text(json!({"authorization": format!("Bearer {token}")}).to_string().into())).await?;
    Ok(ws)
}

fn p(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let app = Application::build(common::config_for(dir.path().to_path_buf())).await?;
    let addr = app.local_addr()?.to_string();
    let token = app.bootstrap_token.clone().unwrap_or_default();
    tokio::spawn(app.run_until_stopped());
    let sb =
        gql(&addr, &token, "mutation { createSandbox(input: {}) { id } }", json!({})).await?["createSandbox"]["id"]
            .as_str()
            .unwrap_or("")
            .to_string();
    let workspace = std::fs::read_dir(dir.path().join("sandboxes"))?
        .filter_map(Result::ok)
        .map(|e| e.path().join("disk/workspace"))
        .find(|p| p.exists())
        .ok_or_else(|| anyhow::anyhow!("no workspace"))?;
    let big = workspace.join("big");
    std::fs::write(&big, vec![b'x'; BIG])?;

    // Keystroke → echo, alternating one through the server and one local.
    let mut ws = terminal(&addr, &token, &sb, &["cat"]).await?;
    let (mut master, mut cat) = local_pty(&["cat"])?;
    let mut buf = [0u8; 4096];
    let (mut remote, mut local) = (Vec::new(), Vec::new());
    for i in 0..KEYSTROKES + 20 {
        let t = Instant::now();
        ws.send(Message::Binary(vec![b'a'].into())).await?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) if b.contains(&b'a') => break,
                Some(Ok(_)) => {}
                _ => anyhow::bail!("the terminal closed"),
            }
        }
        let r = t.elapsed().as_secs_f64() * 1e6;
        let t = Instant::now();
        master.write_all(b"a")?;
        while master.read(&mut buf)? == 0 {}
        let l = t.elapsed().as_secs_f64() * 1e6;
        if i >= 20 {
            remote.push(r);
            local.push(l);
        }
    }
    let _ = cat.kill();
    drop(ws);

    // Throughput of cat of 100 MB.
    let t = Instant::now();
    let (mut master, mut child) = local_pty(&["cat", big.to_str().unwrap_or_default()])?;
    let mut local_bytes = 0usize;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match master.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => local_bytes += n,
        }
    }
    let _ = child.wait();
    let local_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut ws = terminal(&addr, &token, &sb, &["cat", "/mnt/workspace/big"]).await?;
    let (mut got, mut cut) = (0usize, 0u64);
    while let Some(Ok(msg)) = ws.next().await {
        match msg {
            Message::Binary(b) => got += b.len(),
            Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str())?;
                if v["type"] == "cut" {
                    cut += v["bytes"].as_u64().unwrap_or(0);
                }
                if v["type"] == "exit" {
                    break;
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    let remote_secs = t.elapsed().as_secs_f64();
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!("terminal: {KEYSTROKES} keystrokes alternating; cat of {} MB; {profile} build, jailed", BIG >> 20);
    let (r50, r99, l50, l99) = (p(&mut remote, 0.5), p(&mut remote, 0.99), p(&mut local, 0.5), p(&mut local, 0.99));
    println!("keystroke → echo, local pty      p50 {l50:8.1} µs  p99 {l99:8.1} µs");
    println!("keystroke → echo, sandboxql      p50 {r50:8.1} µs  p99 {r99:8.1} µs   added p99 {:+.1} µs", r99 - l99);
    let (lt, rt) = (local_bytes as f64 / local_secs / 1e6, (got as u64 + cut) as f64 / remote_secs / 1e6);
    println!("cat 100 MB, local pty            {lt:8.1} MB/s ({local_bytes} bytes)");
    println!(
        "cat 100 MB, sandboxql            {rt:8.1} MB/s ({got} bytes delivered, {cut} cut by the scrollback)   ratio {:.2}",
        rt / lt
    );
    Ok(())
}
