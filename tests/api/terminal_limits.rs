//! What ends a terminal besides `exit` and `closeTerminal`: nobody attached and nothing
//! typed for `terminalIdleSecs` closes it (its tree killed); deleting its sandbox ends it
//! and tells the attached client; input past `terminalInputBytesPerSec` waits and arrives
//! whole; an account has at most `terminalsPerAccount` open over all its sandboxes.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{DbKind, TestApp, process::eventually};
use crate::terminals::{OPEN, Seen, attach, read_until, type_in};

const TERMINALS: &str = "query($s: ID!) { sandbox(id: $s) { terminals { id status } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_terminal_is_closed_with_its_tree_and_a_watched_one_is_not() {
    let app = TestApp::spawn_with(DbKind::Sqlite, |c| c.limits.processes.terminal_idle_secs = 2, None).await;
    let (_, token) = app.new_user("idle").await;
    let sb = app.create_sandbox(&token, "idle").await;
    // Distinct sleeps, so that each terminal's tree can be found among other tests'.
    let idle_cmd = ["sh", "-c", "sleep 4321 & echo started; wait"];
    let watched_cmd = ["sh", "-c", "sleep 4322 & echo started; wait"];
    let idle = app.ok(&token, OPEN, json!({"s": sb, "c": idle_cmd})).await["openTerminal"]["id"].clone();
    let watched = app.ok(&token, OPEN, json!({"s": sb, "c": watched_cmd})).await["openTerminal"]["id"].clone();
    let mut ws = attach(&app, watched.as_str().unwrap(), &token, 0).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, |s| s.text().contains("started")).await;
    let running = |what: &str| {
        let out = std::process::Command::new("pgrep").args(["-c", "-f", &format!("^sleep {what}$")]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse::<u32>().unwrap_or(0)
    };
    assert!(eventually(10, || running("4321") == 1).await, "the idle terminal's sleep runs at first");
    let mut ids = vec![];
    for _ in 0..40 {
        let v = app.ok(&token, TERMINALS, json!({"s": sb})).await;
        ids = v["sandbox"]["terminals"].as_array().unwrap().iter().map(|t| t["id"].clone()).collect::<Vec<_>>();
        if !ids.contains(&idle) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(ids, vec![watched.clone()], "the unwatched terminal is closed once idle, the watched one stays");
    assert!(eventually(10, || running("4321") == 0).await, "the idle terminal's tree was killed");
    assert_eq!(running("4322"), 1, "the watched terminal's tree lives");
    drop(ws);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_sandbox_ends_its_terminal_and_tells_the_client() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("gone").await;
    let sb = app.create_sandbox(&token, "gone").await;
    let t = app.ok(&token, OPEN, json!({"s": sb, "c": ["sh", "-c", "echo up; sleep 1000"]})).await;
    let mut ws = attach(&app, t["openTerminal"]["id"].as_str().unwrap(), &token, 0).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, |s| s.text().contains("up")).await;
    app.ok(&token, "mutation($s: ID!) { deleteSandbox(id: $s, sync: false) { id } }", json!({"s": sb})).await;
    read_until(&mut ws, &mut seen, |s| s.closed.is_some()).await;
    assert_eq!(seen.closed, Some(1000), "{seen:?}");
    assert!(seen.control.iter().any(|c| c["type"] == "exit"), "an exit message before the close: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_past_the_input_rate_waits_and_loses_nothing() {
    let app =
        TestApp::spawn_with(DbKind::Sqlite, |c| c.limits.processes.terminal_input_bytes_per_sec = 2000, None).await;
    let (_, token) = app.new_user("paste").await;
    let sb = app.create_sandbox(&token, "paste").await;
    let reader = ["sh", "-c", "stty -echo; head -c 6000 > pasted; echo got-$(wc -c < pasted)"];
    let t = app.ok(&token, OPEN, json!({"s": sb, "c": reader})).await;
    let mut ws = attach(&app, t["openTerminal"]["id"].as_str().unwrap(), &token, 0).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, |s| !s.control.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // 60 lines of 100 bytes, sent at once: the first 2000 pass, the rest at 2000 a second.
    let line = format!("{}\n", "x".repeat(99));
    let began = Instant::now();
    for _ in 0..60 {
        type_in(&mut ws, &line).await;
    }
    read_until(&mut ws, &mut seen, |s| s.text().contains("got-")).await;
    assert!(seen.text().contains("got-6000"), "every byte typed arrived: {}", seen.text());
    assert!(began.elapsed() >= Duration::from_millis(1800), "held to the rate: {:?}", began.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_has_at_most_its_terminals_over_all_its_sandboxes() {
    let app = TestApp::spawn_with(DbKind::Sqlite, |c| c.limits.processes.terminals_per_account = 2, None).await;
    let (_, token) = app.new_user("many").await;
    let (_, other) = app.new_user("other").await;
    let a = app.create_sandbox(&token, "a").await;
    let b = app.create_sandbox(&token, "b").await;
    let c = app.create_sandbox(&other, "c").await;
    let shell = json!(["sh", "-c", "sleep 1000"]);
    app.ok(&token, OPEN, json!({"s": a, "c": shell})).await;
    app.ok(&token, OPEN, json!({"s": b, "c": shell})).await;
    let (code, body) = app.post(Some(&token), OPEN, json!({"s": b, "c": shell})).await;
    assert_eq!(code, 200);
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("account"), "{body}");
    app.ok(&other, OPEN, json!({"s": c, "c": shell})).await;
}
