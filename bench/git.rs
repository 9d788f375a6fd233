//! A clone of a 10,000-file repository through the credential broker vs straight from
//! the same server, in one process, rounds alternating. The server is `git http-backend`
//! over HTTPS behind Basic auth (`tests/fixtures/git-server.py`, a test CA); the same
//! `git` on this host clones both ways into the same filesystem:
//! - through the broker: `http://{gateway}/broker/{sandbox's token}/git/{host}/…`, which
//!   checks the token, opens the account's sealed credential and adds it upstream;
//! - direct: `https://{host}/…` with the credential in `http.extraHeader`.
//!
//! Run: `cargo bench --bench git`.

#[allow(dead_code)]
#[path = "common.rs"]
mod common;

use std::{io::BufRead, path::Path, process::Command, time::Instant};

use base64::Engine as _;
use common::gql;
use sandboxql::{config::Secret, startup::Application};
use serde_json::json;

const FILES: usize = 10_000;
const ROUNDS: usize = 5;
const TOKEN: &str = "bench-token-0123456789";

fn git(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    let out = Command::new("git").current_dir(dir).args(args).envs(env.iter().copied()).output()?;
    anyhow::ensure!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// A bare repository of `FILES` files in 100 directories, one commit.
fn repository(root: &Path) -> anyhow::Result<()> {
    let work = root.join("work");
    for i in 0..FILES {
        let dir = work.join(format!("d{:02}", i % 100));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("f{i:05}.txt")), format!("file {i}\n{}\n", "x".repeat(i % 200)))?;
    }
    git(&work, &["init", "-q", "-b", "main"], &[])?;
    git(&work, &["add", "."], &[])?;
    git(&work, &["-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "many files"], &[])?;
    let bare = root.join("srv/big.git");
    std::fs::create_dir_all(&bare)?;
    git(&bare, &["init", "-q", "--bare", "-b", "main"], &[])?;
    git(&work, &["push", "-q", bare.to_str().unwrap_or_default(), "main"], &[])?;
    Ok(())
}

fn p50(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    repository(dir.path())?;
    // The CA and the server's certificate.
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate()?)?;
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])?.signed_by(&key, &ca)?;
    let (ca_pem, crt, kp) = (dir.path().join("ca.pem"), dir.path().join("srv.crt"), dir.path().join("srv.key"));
    std::fs::write(&ca_pem, ca.pem())?;
    std::fs::write(&crt, format!("{}{}", cert.pem(), ca.pem()))?;
    std::fs::write(&kp, key.serialize_pem())?;
    let log = dir.path().join("auth.log");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/git-server.py");
    let srv = dir.path().join("srv");
    let mut server = Command::new("python3")
        .args([script, srv.to_str().unwrap_or_default(), crt.to_str().unwrap_or_default()])
        .args([kp.to_str().unwrap_or_default(), "bench", TOKEN, log.to_str().unwrap_or_default()])
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?).read_line(&mut line)?;
    let port: u16 = line.trim().parse()?;
    let host = format!("127.0.0.1:{port}");

    let mut cfg = common::config_for(dir.path().join("data"));
    cfg.broker.secrets_key = Some(Secret("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()));
    cfg.broker.broker_ca = vec![ca_pem.clone()];
    cfg.gateway.sandbox_egress = vec![host.clone()];
    let app = Application::build(cfg).await?;
    let (addr, gateway) = (app.local_addr()?.to_string(), app.gateway_addr);
    let token = app.bootstrap_token.clone().unwrap_or_default();
    let db = app.services.db.clone();
    tokio::spawn(app.run_until_stopped());
    let set = "mutation($h: String!, $s: String!) { setCredential(input: {host: $h, kind: GIT_HTTPS, username: \"bench\", secret: $s}) { host } }";
    gql(&addr, &token, set, json!({"h": host, "s": TOKEN})).await?;
    let sb =
        gql(&addr, &token, "mutation { createSandbox(input: {}) { id } }", json!({})).await?["createSandbox"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    let key = sandboxql::service::server_keys::shared(&db, sandboxql::service::credentials::broker::KEY_NAME)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let broker_token = sandboxql::service::credentials::broker::BrokerTokens::new(key).token(&sb);
    let through = format!("http://{gateway}/broker/{broker_token}/git/{host}/big.git");
    let direct = format!("https://{host}/big.git");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("bench:{TOKEN}"));
    let header = format!("http.extraHeader=Authorization: Basic {basic}");
    let cainfo = ca_pem.to_str().unwrap_or_default().to_string();

    let (mut via, mut straight) = (vec![], vec![]);
    for i in 0..=ROUNDS {
        for (n, (url, out)) in [(&through, &mut via), (&direct, &mut straight)].into_iter().enumerate() {
            let target = dir.path().join(format!("clone-{i}-{n}"));
            let t = Instant::now();
            git(
                dir.path(),
                &["-c", &header, "clone", "-q", url, target.to_str().unwrap_or_default()],
                &[("GIT_SSL_CAINFO", &cainfo), ("GIT_TERMINAL_PROMPT", "0")],
            )?;
            let secs = t.elapsed().as_secs_f64();
            anyhow::ensure!(target.join("d99/f09999.txt").exists(), "the clone is complete");
            std::fs::remove_dir_all(&target)?;
            // The first round warms both paths (page cache, connections).
            if i > 0 {
                out.push(secs);
            }
        }
    }
    let _ = server.kill();
    let (v, s) = (p50(&mut via), p50(&mut straight));
    println!("git: clone of {FILES} files, {ROUNDS} rounds each way alternating (after one warm-up round)");
    println!("clone, direct from the server     p50 {:8.1} ms", s * 1e3);
    println!("clone, through the broker         p50 {:8.1} ms   ratio {:.2}", v * 1e3, v / s);
    Ok(())
}
