//! `workspaceChanges`: a file written in a sandbox's workspace (as a process there would)
//! is reported within a second; a burst of 10,000 files is coalesced with memory bounded;
//! another account gets NOT_FOUND; nothing outside the workspace is ever reported; a
//! backend that cannot watch (Modal) is polled.

use std::{
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::{
    DbKind, TestApp,
    abuse::{peak_rss_mb, rss_mb},
    fake_modal::{FakeModal, TOKEN_ID, TOKEN_SECRET},
    process::eventually,
    ws::WsClient,
};

const SUB: &str = "subscription($s: ID!) { workspaceChanges(sandboxId: $s) { kind path toPath } }";

/// The next change, or None when none comes within `wait`.
async fn change_within(ws: &mut WsClient, wait: Duration) -> Option<Value> {
    let msg = tokio::time::timeout(wait, ws.next()).await.ok()?;
    assert_eq!(msg["type"], "next", "{msg}");
    assert!(msg["payload"]["errors"].is_null(), "{msg}");
    Some(msg["payload"]["data"]["workspaceChanges"].clone())
}

/// Every change sent until `quiet` passes without one.
async fn drain(ws: &mut WsClient, quiet: Duration) -> Vec<Value> {
    let mut out = vec![];
    while let Some(c) = change_within(ws, quiet).await {
        out.push(c);
    }
    out
}

/// Subscribes as `token` and returns once the subscription reports changes: probe files
/// are written until one is seen (the watch starts a moment after the subscribe message).
async fn subscribed(app: &TestApp, token: &str, sb: &str, workspace: &Path, quiet: Duration) -> WsClient {
    let mut ws = WsClient::connect(app.addr, Some(token)).await.expect("ack");
    ws.subscribe("1", SUB, json!({"s": sb})).await;
    for i in 0..50 {
        std::fs::write(workspace.join(format!(".probe-{i}")), "p").unwrap();
        if change_within(&mut ws, quiet).await.is_some() {
            drain(&mut ws, quiet).await;
            return ws;
        }
    }
    panic!("the subscription never reported a probe file");
}

fn local_workspace(app: &TestApp, sb: &str) -> PathBuf {
    app.sandbox_dir(sb).join("disk/workspace")
}

async fn read_only_token(app: &TestApp, account: &str) -> String {
    let q = "mutation($a: ID!) { createToken(accountId: $a, readOnly: true) { token } }";
    app.ok(&app.admin_token, q, json!({"a": account})).await["createToken"]["token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_changes_report_a_file_written_in_the_sandbox_within_a_second() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (account, token) = app.new_user("wanda").await;
    let sb = app.create_sandbox(&token, "watched").await;
    let ws_dir = local_workspace(&app, &sb);
    // Watching needs read access only.
    let reader = read_only_token(&app, &account).await;
    let mut ws = subscribed(&app, &reader, &sb, &ws_dir, Duration::from_millis(500)).await;

    let started = Instant::now();
    let status = std::process::Command::new("sh").args(["-c", "echo hi > hello.txt"]).current_dir(&ws_dir).status();
    assert!(status.unwrap().success());
    let change = change_within(&mut ws, Duration::from_secs(5)).await.expect("a change");
    let latency = started.elapsed();
    println!("workspaceChanges latency: {latency:?}");
    assert_eq!(change, json!({"kind": "CREATED", "path": "hello.txt", "toPath": null}), "created+modified coalesced");
    assert!(latency < Duration::from_secs(1), "reported after {latency:?}");

    // The file mutations show as the client would name them (writes are atomic renames).
    let mv = "mutation($id: ID!) { movePath(sandboxId: $id, from: \"hello.txt\", to: \"moved.txt\") { path } }";
    app.ok(&token, mv, json!({"id": sb})).await;
    let moved = change_within(&mut ws, Duration::from_secs(5)).await.expect("a move");
    assert_eq!(moved, json!({"kind": "MOVED", "path": "hello.txt", "toPath": "moved.txt"}));
    let write = "mutation($id: ID!) { writeFile(sandboxId: $id, path: \"notes.txt\", content: \"x\") { path } }";
    app.ok(&token, write, json!({"id": sb})).await;
    let written = drain(&mut ws, Duration::from_millis(600)).await;
    assert_eq!(written, [json!({"kind": "CREATED", "path": "notes.txt", "toPath": null})], "not its temp file");
    std::fs::remove_file(ws_dir.join("moved.txt")).unwrap();
    let deleted = change_within(&mut ws, Duration::from_secs(5)).await.expect("a deletion");
    assert_eq!(deleted, json!({"kind": "DELETED", "path": "moved.txt", "toPath": null}));

    // Ending the subscription stops the watch (notify's thread and its inotify instance).
    assert_eq!(watcher_threads(), 1);
    ws.close().await;
    assert!(eventually(5, || watcher_threads() == 0).await, "the watcher outlived its subscription");
}

/// notify's inotify threads in this process (the server under test runs in it).
fn watcher_threads() -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap().flatten();
    tasks.filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with("notify-rs"))).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_changes_coalesce_10000_rapid_changes_with_memory_bounded() {
    let app = TestApp::spawn_on_tmpfs(DbKind::Sqlite, |_| {}).await;
    let (_, token) = app.new_user("burst").await;
    let sb = app.create_sandbox(&token, "busy").await;
    let ws_dir = local_workspace(&app, &sb);
    let mut ws = subscribed(&app, &token, &sb, &ws_dir, Duration::from_millis(500)).await;
    let (rss_before, peak_before) = (rss_mb(), peak_rss_mb());

    let dir = ws_dir.clone();
    let took = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        for i in 0..10_000 {
            std::fs::write(dir.join(format!("burst-{i:05}.txt")), "x").unwrap();
        }
        started.elapsed()
    })
    .await
    .unwrap();
    let messages = drain(&mut ws, Duration::from_secs(2)).await;
    let overflows = messages.iter().filter(|m| m["kind"] == "OVERFLOW").count();
    let (rss_after, peak_after) = (rss_mb(), peak_rss_mb());
    println!(
        "10,000 files written in {took:?}: {} messages ({overflows} OVERFLOW); RSS {rss_before} → {rss_after} MB, \
         peak {peak_before} → {peak_after} MB",
        messages.len()
    );
    let max_paths = app.config.limits.workspace_changes_max_paths as usize;
    // Each window is either its paths (at most the cap) or one OVERFLOW: a burst this fast
    // overflows, and only a trailing window may list paths.
    assert!(overflows >= 1, "{} messages", messages.len());
    assert!(messages.len() <= max_paths + overflows, "{} messages", messages.len());
    assert!(messages.len() < 10_000 / 5, "coalesced: {} messages", messages.len());
    assert!(messages.iter().all(|m| m["kind"] == "OVERFLOW" || m["path"].as_str().unwrap().starts_with("burst-")));
    assert!(peak_after.saturating_sub(peak_before) < 100, "peak RSS grew {peak_before} → {peak_after} MB");

    // The server is fine and the next change is reported as usual.
    app.ok(&token, "{ viewer { id } }", json!({})).await;
    std::fs::write(ws_dir.join("after.txt"), "x").unwrap();
    let next = change_within(&mut ws, Duration::from_secs(5)).await.expect("a change after the burst");
    assert_eq!(next, json!({"kind": "CREATED", "path": "after.txt", "toPath": null}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_changes_of_another_accounts_sandbox_are_not_found() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, owner) = app.new_user("owner").await;
    let (_, other) = app.new_user("other").await;
    let sb = app.create_sandbox(&owner, "mine").await;
    let mut ws = WsClient::connect(app.addr, Some(&other)).await.expect("ack");
    for (id, sandbox, want) in [
        ("1", sb.as_str(), "NOT_FOUND"),
        ("2", "0190a0a0-0000-7000-8000-000000000000", "NOT_FOUND"),
        ("3", "x", "BAD_USER_INPUT"),
    ] {
        ws.subscribe(id, SUB, json!({"s": sandbox})).await;
        let msg = ws.next().await;
        assert_eq!(msg["id"], id, "{msg}");
        let code = match msg["type"].as_str() {
            Some("error") => msg["payload"][0]["extensions"]["code"].clone(),
            _ => msg["payload"]["errors"][0]["extensions"]["code"].clone(),
        };
        assert_eq!(code, want, "{msg}");
        if msg["type"] == "next" {
            assert_eq!(ws.next().await["type"], "complete");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_changes_never_report_paths_outside_the_workspace() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("jailed").await;
    let sb = app.create_sandbox(&token, "watched").await;
    let sibling = app.create_sandbox(&token, "sibling").await;
    let ws_dir = local_workspace(&app, &sb);
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(outside.path().join("d")).unwrap();
    symlink(outside.path(), ws_dir.join("escape")).unwrap();
    let mut ws = subscribed(&app, &token, &sb, &ws_dir, Duration::from_millis(500)).await;

    // Through a link made before and one made during the watch, beside the workspace (its
    // HOME), in a sibling sandbox, and far away: none of it is this workspace's change.
    std::fs::write(ws_dir.join("escape/through-link.txt"), "x").unwrap();
    symlink(outside.path().join("d"), ws_dir.join("late-link")).unwrap();
    std::fs::write(ws_dir.join("late-link/late.txt"), "x").unwrap();
    std::fs::write(outside.path().join("secret.txt"), "x").unwrap();
    std::fs::write(app.sandbox_dir(&sb).join("disk/home/dotfile"), "x").unwrap();
    std::fs::write(local_workspace(&app, &sibling).join("sibling.txt"), "x").unwrap();
    std::fs::write(ws_dir.join("sentinel.txt"), "x").unwrap();

    let seen = drain(&mut ws, Duration::from_secs(1)).await;
    let mut paths: Vec<&str> = seen.iter().flat_map(|c| [c["path"].as_str(), c["toPath"].as_str()]).flatten().collect();
    paths.sort();
    assert_eq!(paths, ["late-link", "sentinel.txt"], "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_changes_poll_a_backend_that_cannot_watch() {
    let fake = FakeModal::start().await;
    let url = fake.url();
    let tweak = move |c: &mut sandboxql::config::Config| {
        c.backend = sandboxql::config::BackendKind::Modal;
        c.modal.modal_token_id = Some(sandboxql::config::Secret(TOKEN_ID.into()));
        c.modal.modal_token_secret = Some(sandboxql::config::Secret(TOKEN_SECRET.into()));
        c.modal.modal_server_url = url;
        c.gateway.anthropic_api_key = Some(sandboxql::config::Secret("sk-ant-test-0123456789".into()));
        c.gateway.gateway_public_url = Some("https://gateway.sandboxql.test".into());
        c.limits.workspace_changes_poll_ms = 200;
    };
    let app = TestApp::spawn_with(DbKind::Sqlite, tweak, None).await;
    let (_, token) = app.new_user("mo").await;
    let sb = app.create_sandbox(&token, "on-modal").await;
    let vol = format!("vo-sandboxql-{}", uuid::Uuid::parse_str(&sb).unwrap().simple());
    let ws_dir = fake.root.path().join("volumes").join(vol).join("workspace");
    let mut ws = subscribed(&app, &token, &sb, &ws_dir, Duration::from_secs(2)).await;

    std::fs::write(ws_dir.join("polled.txt"), "x").unwrap();
    let created = change_within(&mut ws, Duration::from_secs(5)).await.expect("a change");
    assert_eq!(created, json!({"kind": "CREATED", "path": "polled.txt", "toPath": null}));
    std::fs::remove_file(ws_dir.join("polled.txt")).unwrap();
    let deleted = change_within(&mut ws, Duration::from_secs(5)).await.expect("a deletion");
    assert_eq!(deleted, json!({"kind": "DELETED", "path": "polled.txt", "toPath": null}));
}
