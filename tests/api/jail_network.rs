//! A jail's network: the gateway and the egress allow-list, nothing else. Probes run by
//! the stand-in inside a real bwrap jail try the metadata address, the server's Postgres,
//! the S3 endpoint and a host service; an unjailed control run shows the same probe
//! would have connected. Without bwrap, `serve` refuses to start unless told `--jail never`.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Command, Stdio},
};

use serde_json::{Value, json};

use crate::helpers::{DbKind, TestApp, fake_anthropic, s3};

/// This host's first non-loopback address, which a jail sharing the host's network
/// could reach.
fn host_ip() -> Option<String> {
    let out = Command::new("hostname").arg("-I").output().ok()?;
    String::from_utf8(out.stdout)
        .ok()?
        .split_whitespace()
        .find(|a| a.parse::<std::net::Ipv4Addr>().is_ok())
        .map(String::from)
}

/// A TCP service on every interface answering one HTTP line; returns its port.
async fn host_service(body: &'static str) -> u16 {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().fallback(move || async move { body });
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// Runs a probe in a new sandbox of `app` and returns what each target did.
async fn probe(app: &TestApp, targets: &[String]) -> (Value, Value) {
    let (_, token) = app.new_user("probe").await;
    let sb = app.create_sandbox(&token, "probe").await;
    let run = app.start_run(&token, &sb, &format!("[probe {}] [api 1]", targets.join(" "))).await;
    app.wait_idle(&token, &sb).await;
    let ended = app.ok(&token, "query($id: ID!) { run(id: $id) { status error } }", json!({"id": run})).await;
    let seen = std::fs::read_to_string(app.sandbox_dir(&sb).join("disk/home/probe.json")).expect("probe.json");
    (serde_json::from_str(&seen).unwrap(), ended["run"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jail_reaches_the_gateway_and_allowed_hosts_only() {
    let fake = fake_anthropic::start().await;
    let moto = s3::start_moto().await;
    let ip = host_ip().unwrap_or_else(|| "127.0.0.1".into());
    let (registry, other) = (host_service("registry-ok").await, host_service("other-ok").await);
    let egress = format!("{ip}:{registry}");
    let base = format!("http://{}", fake.addr);
    let endpoint = moto.endpoint.clone();
    let app = TestApp::spawn_with(
        DbKind::Postgres,
        |c| {
            c.gateway.anthropic_base_url = base.clone();
            c.gateway.sandbox_egress = vec![egress.clone()];
            s3::use_s3(c, &endpoint);
        },
        None,
    )
    .await;
    let s3_port = moto.port;
    let direct = [
        "169.254.169.254:80".to_string(),
        "fd00:ec2::254:80".into(),
        "127.0.0.1:5432".into(),
        format!("{ip}:5432"),
        format!("127.0.0.1:{s3_port}"),
        format!("{ip}:{other}"),
        format!("{ip}:{registry}"),
    ];
    let proxied = [
        format!("http://{ip}:{registry}/simple/"),
        format!("http://{ip}:{other}/"),
        "http://169.254.169.254/latest/meta-data/".into(),
        format!("http://127.0.0.1:{s3_port}/"),
    ];
    let targets: Vec<String> = direct.iter().chain(&proxied).cloned().collect();

    // Control: from the test's own network, the services are there.
    assert!(std::net::TcpStream::connect(format!("{ip}:{other}")).is_ok());
    assert!(std::net::TcpStream::connect("127.0.0.1:5432").is_ok(), "Postgres is up");
    assert!(std::net::TcpStream::connect(format!("127.0.0.1:{s3_port}")).is_ok(), "S3 is up");

    let (seen, run) = probe(&app, &targets).await;
    for t in &direct {
        assert!(seen[t].as_str().unwrap().starts_with("failed"), "{t} reachable from the jail: {seen}");
    }
    assert_eq!(seen[&proxied[0]], "http 200 registry-ok", "an allowed host through the egress proxy: {seen}");
    for t in &proxied[1..3] {
        let got = seen[t].as_str().unwrap();
        assert!(got.contains("403"), "{t} is not on the allow-list: {got}");
    }
    // Loopback is never proxied (NO_PROXY) and the jail's own loopback has nothing on it.
    assert!(seen[&proxied[3]].as_str().unwrap().starts_with("failed"), "{seen}");
    assert_eq!(run["status"], "SUCCEEDED", "the gateway works from the jail: {run}");
    assert_eq!(fake.keys.lock().unwrap().len(), 1);

    // The same probe unjailed connects to the database: the probe can tell.
    let loose = TestApp::spawn_with(
        DbKind::Sqlite,
        |c| {
            c.gateway.anthropic_base_url = base.clone();
            c.sandbox.jail = sandboxql::config::JailMode::Never;
        },
        None,
    )
    .await;
    let (seen, run) = probe(&loose, &["127.0.0.1:5432".to_string(), format!("{ip}:{other}")]).await;
    assert_eq!(seen["127.0.0.1:5432"], "open", "{seen}");
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
}

#[test]
fn serve_without_bwrap_refuses_unless_told_jail_never() {
    let bin = env!("CARGO_BIN_EXE_sandboxql");
    let empty = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let serve = |extra: &[&str]| {
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(extra).current_dir(data.path());
        for k in ["DATABASE_URL", "SANDBOXQL_DATA_DIR", "SANDBOXQL_JAIL", "ANTHROPIC_API_KEY"] {
            cmd.env_remove(k);
        }
        cmd.env("SANDBOXQL_SANDBOX_BOUNDS", "off");
        // A PATH with no bwrap on it.
        cmd.env("PATH", empty.path()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let refused = serve(&[]).wait_with_output().unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("bubblewrap (bwrap) is missing") && err.contains("--jail never"), "{err}");

    let mut loose = serve(&["--jail", "never"]);
    let stdout = BufReader::new(loose.stdout.take().unwrap());
    let listening = stdout.lines().map_while(Result::ok).any(|l| l.starts_with("sandboxql listening on"));
    loose.kill().unwrap();
    let mut err = String::new();
    loose.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let _ = loose.wait();
    assert!(listening, "--jail never starts: {err}");
    assert!(err.contains("unconfined"), "and warns: {err}");
}
