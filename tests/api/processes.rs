//! `startProcess` / `processOutput` / `signalProcess` over GraphQL: a real HTTP server
//! in the jail is listed RUNNING, its output replays exactly from offset 0 and from a
//! later offset, TERM ends it and its children, the log keeps its newest bytes behind a
//! CUT, the bounds hold, another account sees NOT_FOUND / null, a read-only token reads
//! but cannot start, and a process whose instance died is INTERRUPTED.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::helpers::{DbKind, TestApp, process::eventually, ws::WsClient};

const START: &str = "mutation($s: ID!, $argv: [String!]!, $name: String) { startProcess(input: {sandboxId: $s, argv: $argv, name: $name}) { id name status argv } }";
const GET: &str = "query($id: ID!) { process(id: $id) { id status exitCode outputBytes outputKeptFrom } }";
const LIST: &str = "query($s: ID!) { sandbox(id: $s) { processes { id name status } } }";
const SIGNAL: &str = "mutation($id: ID!, $sig: ProcessSignal!) { signalProcess(id: $id, signal: $sig) { id status } }";
const OUTPUT: &str = "subscription($p: ID!, $a: Int!) { processOutput(processId: $p, afterOffset: $a) { kind offset bytes base64 cutBytes status exitCode } }";

async fn start(app: &TestApp, token: &str, sb: &str, argv: &[&str]) -> String {
    let v = app.ok(token, START, json!({"s": sb, "argv": argv, "name": null})).await;
    assert_eq!(v["startProcess"]["status"], "RUNNING", "{v}");
    v["startProcess"]["id"].as_str().unwrap().to_string()
}

async fn status(app: &TestApp, token: &str, id: &str) -> Value {
    app.ok(token, GET, json!({"id": id})).await["process"].clone()
}

async fn ended(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..100 {
        let p = status(app, token, id).await;
        if p["status"] != "RUNNING" {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("process {id} never ended");
}

/// Every piece of `processOutput` from `after` until `until` holds (or the stream ends).
async fn pieces(app: &TestApp, token: &str, id: &str, after: i64, until: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut ws = WsClient::connect(app.addr, Some(token)).await.expect("ack");
    ws.subscribe("o", OUTPUT, json!({"p": id, "a": after})).await;
    let mut got = vec![];
    while !until(&got) {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next()).await.expect("output in time");
        if msg["type"] == "complete" {
            break;
        }
        assert_eq!(msg["type"], "next", "{msg}");
        assert!(msg["payload"]["errors"].is_null(), "{msg}");
        got.push(msg["payload"]["data"]["processOutput"].clone());
    }
    got
}

fn bytes_of(pieces: &[Value]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    pieces
        .iter()
        .filter(|p| p["kind"] == "DATA")
        .flat_map(|p| b64.decode(p["base64"].as_str().unwrap()).unwrap())
        .collect()
}

fn has(pieces: &[Value], text: &str) -> bool {
    String::from_utf8_lossy(&bytes_of(pieces)).contains(text)
}

async fn scenario(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (account, token) = app.new_user("proc").await;
    let sb = app.create_sandbox(&token, "dev").await;
    std::fs::write(app.sandbox_dir(&sb).join("disk/workspace/index.html"), "hello from the sandbox").unwrap();
    // A real server in the jail, fetched from inside the same jail (each command has a
    // network namespace of its own, so the client runs in the server's process tree).
    let fetch = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8000/index.html').read().decode())";
    let script = format!(
        "python3 -u -m http.server 8000 & for i in $(seq 50); do python3 -c \"{fetch}\" 2>/dev/null && break; sleep 0.1; done; wait"
    );
    let server = start(&app, &token, &sb, &["sh", "-c", &script]).await;
    let listed = app.ok(&token, LIST, json!({"s": sb})).await;
    assert_eq!(listed["sandbox"]["processes"][0]["id"], server.as_str());
    assert_eq!(listed["sandbox"]["processes"][0]["name"], "sh");
    assert_eq!(listed["sandbox"]["processes"][0]["status"], "RUNNING");
    // The server's log: from 0, and from a later offset, exactly the same bytes.
    let all = pieces(&app, &token, &server, 0, |p| has(p, "GET /index.html") && has(p, "hello from the sandbox")).await;
    let full = bytes_of(&all);
    assert!(full.starts_with(b"Serving HTTP on"), "{}", String::from_utf8_lossy(&full));
    let later = pieces(&app, &token, &server, 7, |p| bytes_of(p).len() >= full.len() - 7).await;
    assert_eq!(bytes_of(&later), full[7..], "a replay from offset 7 is the same bytes");
    assert_eq!(later[0]["offset"], 7);
    // TERM ends it and its children.
    let tree = start(&app, &token, &sb, &["sh", "-c", "sleep 1000.5151 & sleep 1000.5151 & wait"]).await;
    let sleeping = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c.starts_with(b"sleep\x001000.5151")))
    };
    assert!(eventually(5, sleeping).await, "the sleeps run");
    for id in [&server, &tree] {
        app.ok(&token, SIGNAL, json!({"id": id, "sig": "TERM"})).await;
        let p = ended(&app, &token, id).await;
        assert_eq!(p["status"], "EXITED");
        assert_eq!(p["exitCode"], 128 + 15);
    }
    assert!(eventually(5, || !sleeping()).await, "no child survives TERM");
    let (code, _) = app.err(Some(&token), SIGNAL, json!({"id": tree, "sig": "KILL"})).await;
    assert_eq!(code, "CONFLICT", "an ended process takes no signal");

    // Another account: null / NOT_FOUND everywhere; a read-only token reads, never starts.
    let (other_account, other) = app.new_user("other").await;
    assert!(app.ok(&other, GET, json!({"id": server})).await["process"].is_null());
    let (code, _) = app.err(Some(&other), SIGNAL, json!({"id": server, "sig": "KILL"})).await;
    assert_eq!(code, "NOT_FOUND");
    let (code, _) = app.err(Some(&other), START, json!({"s": sb, "argv": ["true"], "name": null})).await;
    assert_eq!(code, "NOT_FOUND");
    let mut ws = WsClient::connect(app.addr, Some(&other)).await.expect("ack");
    ws.subscribe("o", OUTPUT, json!({"p": server, "a": 0})).await;
    let msg = ws.next().await;
    assert_eq!(msg["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{msg}");
    let _ = other_account;
    let q = "mutation($a: ID!) { createToken(accountId: $a, readOnly: true) { token } }";
    let ro =
        app.ok(&app.admin_token, q, json!({"a": account})).await["createToken"]["token"].as_str().unwrap().to_string();
    assert_eq!(status(&app, &ro, &server).await["status"], "EXITED", "read-only reads");
    let (code, _) = app.err(Some(&ro), START, json!({"s": sb, "argv": ["true"], "name": null})).await;
    assert_eq!(code, "FORBIDDEN", "read-only cannot start");
}
crate::both_dbs!(processes_run_replay_signal_and_stay_private, scenario);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_keeps_its_newest_bytes_behind_a_cut_and_the_bounds_hold() {
    let app = TestApp::spawn_with(
        DbKind::Sqlite,
        |c| {
            c.limits.processes.process_log_bytes = 100_000;
            c.limits.processes.processes_per_sandbox = 1;
        },
        None,
    )
    .await;
    let (_, token) = app.new_user("log").await;
    let sb = app.create_sandbox(&token, "log").await;
    let id = start(&app, &token, &sb, &["seq", "1", "200000"]).await;
    let p = ended(&app, &token, &id).await;
    assert_eq!(p["exitCode"], 0);
    let total = p["outputBytes"].as_i64().unwrap();
    let kept_from = p["outputKeptFrom"].as_i64().unwrap();
    assert_eq!(total, 1_288_895, "every byte of seq 1 200000 was counted");
    assert!(total - kept_from <= 100_000 && total - kept_from > 30_000, "kept {}", total - kept_from);
    let out = pieces(&app, &token, &id, 0, |_| false).await;
    assert_eq!(out[0]["kind"], "CUT");
    assert_eq!(out[0]["offset"], 0);
    assert_eq!(out[0]["cutBytes"], kept_from);
    let kept = bytes_of(&out);
    let expected: String = (1..=200_000).map(|i| format!("{i}\n")).collect();
    assert_eq!(kept, expected.as_bytes()[kept_from as usize..], "the kept tail is exact");
    assert_eq!(out.last().unwrap()["kind"], "ENDED");
    // One per sandbox here: a second while the first runs is refused.
    let _sleeper = start(&app, &token, &sb, &["sleep", "30"]).await;
    let (code, _) = app.err(Some(&token), START, json!({"s": sb, "argv": ["true"], "name": null})).await;
    assert_eq!(code, "CONFLICT");
    let (code, _) = app.err(Some(&token), START, json!({"s": sb, "argv": [], "name": null})).await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_whose_server_was_killed_is_interrupted_and_gone() {
    use crate::helpers::{
        process::serve,
        remote::{create, gql},
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/procs.db?mode=rwc", dir.path().display());
    let envs = [("DATABASE_URL", db.as_str()), ("SANDBOXQL_LEASE_SECS", "3")];
    let served = serve(dir.path(), &[], &envs);
    let token = served.token.clone().unwrap();
    let sb = create(&served.addr, &token).await;
    let v = gql(&served.addr, &token, START, json!({"s": sb, "argv": ["sleep", "1000.6161"], "name": null})).await;
    let id = v["data"]["startProcess"]["id"].as_str().unwrap_or_else(|| panic!("{v}")).to_string();
    let sleeping = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c.starts_with(b"sleep\x001000.6161")))
    };
    assert!(eventually(5, sleeping).await);
    served.kill9();
    assert!(eventually(10, || !sleeping()).await, "the process died with its server");
    let served = serve(dir.path(), &[], &envs);
    let mut last = Value::Null;
    for _ in 0..60 {
        last = gql(&served.addr, &token, GET, json!({"id": id})).await["data"]["process"].clone();
        if last["status"] == "INTERRUPTED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(last["status"], "INTERRUPTED", "{last}");
}
