//! The abuse suite: what a hostile tenant (or Claude under prompt injection) can send or
//! build, and proof that the server answers it and everybody else keeps being served.
//! Each test keeps another account's `viewer` query going during the attack and checks
//! it after.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{
    DbKind, TestApp,
    abuse::{Watchdog, deep_dir, many_files, peak_rss_mb, rss_mb},
    runs::run_events_query,
    ws::WsClient,
};

const DEPTH: usize = 100_000;

async fn viewer_still_answers(app: &TestApp, token: &str) {
    app.ok(token, "{ viewer { id } }", json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_100000_levels_deep_is_answered_everywhere() {
    let app = TestApp::spawn_on_tmpfs(DbKind::Sqlite, |c| c.limits.request_timeout_ms = 120_000).await;
    let (_, token) = app.new_user("mallory").await;
    let (_, bystander) = app.new_user("bob").await;
    let sb = app.create_sandbox(&token, "deep").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    std::fs::create_dir(ws.join("a")).unwrap();
    let dir = ws.join("a");
    tokio::task::spawn_blocking(move || deep_dir(&dir, DEPTH)).await.unwrap();
    let dog = Watchdog::start(&app, &bystander);
    let t = std::time::Instant::now();
    let step = |what: &str| println!("{what} answered after {:?}", t.elapsed());

    let q = "query($id: ID!) { sandbox(id: $id) { files(recursive: true, first: 10) { totalCount truncated } } }";
    let files = app.ok(&token, q, json!({"id": sb})).await;
    assert_eq!(files["sandbox"]["files"]["truncated"], true, "{files}");
    let q = "query($id: ID!) { sandbox(id: $id) { fileTree(depth: 20) { truncated children { name } } } }";
    let tree = app.ok(&token, q, json!({"id": sb})).await;
    assert_eq!(tree["sandbox"]["fileTree"]["truncated"], true);
    step("files(recursive)");
    let q = "query($id: ID!, $p: String!) { sandbox(id: $id) { file(path: $p) { name isDirectory } } }";
    let shallow = format!("a/{}", vec!["d"; 100].join("/"));
    assert_eq!(app.ok(&token, q, json!({"id": sb, "p": shallow})).await["sandbox"]["file"]["isDirectory"], true);
    let too_deep = format!("a/{}", vec!["d"; 3000].join("/"));
    let (code, msg) = app.err(Some(&token), q, json!({"id": sb, "p": too_deep})).await;
    assert_eq!(code, "BAD_USER_INPUT", "{msg}");

    step("fileTree");
    let sync = app
        .ok(&token, "mutation($id: ID!) { syncSandbox(id: $id) { filesSkipped snapshot { id } } }", json!({"id": sb}))
        .await;
    assert!(sync["syncSandbox"]["filesSkipped"].as_u64().unwrap() >= 1, "{sync}");
    step("file");
    let snap = sync["syncSandbox"]["snapshot"]["id"].as_str().unwrap().to_string();
    let restored = app
        .ok(&token, "mutation($s: ID!) { createSandbox(input: {fromSnapshot: $s}) { id status } }", json!({"s": snap}))
        .await;
    assert_eq!(restored["createSandbox"]["status"], "RUNNING");

    step("syncSandbox");
    step("createSandbox(fromSnapshot)");
    let del = "mutation($id: ID!, $p: String!) { deletePath(sandboxId: $id, path: $p, recursive: true) }";
    assert_eq!(app.ok(&token, del, json!({"id": sb, "p": "a"})).await["deletePath"], true);
    assert!(!ws.join("a").exists(), "the 100,000-level tree is gone");
    step("deletePath(recursive)");
    let gone =
        app.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id, sync: true) { id } }", json!({"id": sb})).await;
    assert_eq!(gone["deleteSandbox"]["id"], sb);

    step("deleteSandbox(sync: true)");
    dog.finish("deep directory").await;
    viewer_still_answers(&app, &bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expensive_requests_are_refused_before_they_run() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("mallory").await;
    let (_, bystander) = app.new_user("bob").await;
    let sb = app.create_sandbox(&token, "big").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    std::fs::write(ws.join("big.bin"), vec![7u8; 10 * 1024 * 1024]).unwrap();
    let one = "query($id: ID!) { sandbox(id: $id) { fileContent(path: \"big.bin\", maxBytes: 10485760) { size } } }";
    assert_eq!(app.ok(&token, one, json!({"id": sb})).await["sandbox"]["fileContent"]["size"], 10_485_760);
    let dog = Watchdog::start(&app, &bystander);
    let before = peak_rss_mb();

    let aliases = |n: usize, field: &str| {
        let body: Vec<String> = (0..n).map(|i| format!("a{i}: {field}")).collect();
        format!("query($id: ID!) {{ sandbox(id: $id) {{ {} }} }}", body.join(" "))
    };
    for (n, field) in [
        (1000, "fileContent(path: \"big.bin\", maxBytes: 10485760) { size content }"),
        (1000, "files(first: 0, recursive: true) { totalCount }"),
        (200, "snapshots { id createdAt }"),
        (200, "runs { nodes { id status } }"),
    ] {
        let (code, msg) = app.err(Some(&token), &aliases(n, field), json!({"id": sb})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{n} × {field}: {msg}");
        assert!(msg.contains("maxQueryCost"), "{msg}");
    }
    let batch: Vec<_> = (0..1000).map(|_| json!({"query": "{ viewer { id } }"})).collect();
    let resp = app.http.post(app.url()).bearer_auth(&token).json(&batch).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");

    let growth = peak_rss_mb().saturating_sub(before);
    println!("peak RSS growth while refusing: {growth} MB");
    assert!(growth < 100, "refusing cost {growth} MB");
    dog.finish("expensive requests").await;
    viewer_still_answers(&app, &bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_entries_list_truncated_within_bounded_memory_and_slow_queries_stop() {
    let app = TestApp::spawn_on_tmpfs(DbKind::Sqlite, |_| {}).await;
    let (_, token) = app.new_user("mallory").await;
    let (_, bystander) = app.new_user("bob").await;
    let sb = app.create_sandbox(&token, "wide").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    tokio::task::spawn_blocking(move || many_files(&ws, 1000, 999)).await.unwrap();
    let dog = Watchdog::start(&app, &bystander);
    let (rss_before, peak_before) = (rss_mb(), peak_rss_mb());

    let q = "query($id: ID!) { sandbox(id: $id) { files(recursive: true, first: 100) { totalCount truncated entries { path } } } }";
    let data = app.ok(&token, q, json!({"id": sb})).await;
    let files = &data["sandbox"]["files"];
    assert_eq!(files["truncated"], true);
    assert!(files["totalCount"].as_u64().unwrap() <= app.config.limits.max_walk_entries);
    assert_eq!(files["entries"].as_array().unwrap().len(), 100);
    let growth = peak_rss_mb().saturating_sub(peak_before.max(rss_before));
    println!(
        "1,000,000 entries: listing of the first 100 of {} walked; peak RSS growth {growth} MB",
        files["totalCount"]
    );
    assert!(growth < 200, "the listing cost {growth} MB");

    // A second instance with a 50 ms request timeout stops the same walk.
    let mut config = app.config.clone();
    config.limits.request_timeout_ms = 50;
    let impatient = app.another_instance_with(config).await;
    let (code, msg) = impatient.err(Some(&token), q, json!({"id": sb})).await;
    assert_eq!(code, "REQUEST_TIMEOUT", "{msg}");
    viewer_still_answers(&impatient, &bystander).await;
    dog.finish("a million entries").await;
    viewer_still_answers(&app, &bystander).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_capped_slow_readers_dropped_and_revoked_tokens_closed() {
    let app = TestApp::spawn_with(DbKind::Sqlite, |c| c.limits.requests.ws_send_timeout_secs = 2, None).await;
    let (_, token) = app.new_user("mallory").await;
    let (_, bystander) = app.new_user("bob").await;
    let dog = Watchdog::start(&app, &bystander);

    // 1,000 subscriptions on one socket: the cap (100) holds, the rest are refused.
    let hang = app.create_sandbox(&token, "hang").await;
    let run = app.start_run(&token, &hang, "[hang]").await;
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    for i in 0..1000 {
        ws.subscribe(&i.to_string(), &run_events_query(), json!({"r": run, "a": 0})).await;
    }
    let (mut refused, mut served) = (0, std::collections::HashSet::new());
    while refused < 900 || served.len() < 100 {
        let msg = ws.next().await;
        match msg["type"].as_str() {
            Some("error") => {
                assert_eq!(msg["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{msg}");
                refused += 1;
            }
            Some("next") => {
                served.insert(msg["id"].as_str().unwrap().to_string());
            }
            other => panic!("unexpected {other:?}: {msg}"),
        }
    }
    assert_eq!((refused, served.len()), (900, 100));
    ws.close().await;

    // A client that never reads a 100,000-event stream is dropped; memory stays bounded.
    let flood = app.create_sandbox(&token, "flood").await;
    let peak_before = peak_rss_mb();
    let run = app.start_run(&token, &flood, "[flood 100000]").await;
    let mut lazy = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    lazy.subscribe("1", &run_events_query(), json!({"r": run, "a": 0})).await;
    app.wait_idle(&token, &flood).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (mut got, mut ended) = (0usize, false);
    while let Some(msg) = lazy.next_raw().await {
        match msg {
            Ok(m) if m["type"] == "next" => got += 1,
            Ok(m) => panic!("the stream should not complete for a client that did not read: {m}"),
            Err(_) => {
                ended = true;
                break;
            }
        }
    }
    println!("the lazy client got {got} of 100,002 events before it was dropped");
    assert!(ended || got < 100_000, "the server kept sending to a client that did not read");
    let growth = peak_rss_mb().saturating_sub(peak_before);
    println!("peak RSS growth with a 100,000-event flood and a reader that never reads: {growth} MB");
    assert!(growth < 150, "{growth} MB");

    // A revoked token's open socket is closed within 5 s.
    let (account, token2) = {
        let issued = sandboxql::service::accounts::create_account(
            &app.services.db,
            "revoked",
            sandboxql::entity::enums::Role::User,
            100,
        )
        .await
        .unwrap();
        (issued.token_id, issued.token)
    };
    let mut open = WsClient::connect(app.addr, Some(&token2)).await.unwrap();
    sandboxql::service::accounts::revoke_token(&app.services.db, account).await.unwrap();
    let started = std::time::Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(5), open.next_raw()).await.expect("closed within 5 s");
    assert_eq!(closed, Some(Err(4403)), "closed as Forbidden after {:?}", started.elapsed());

    dog.finish("subscriptions").await;
    viewer_still_answers(&app, &bystander).await;
}
