//! The Modal backend at scale and at the edges: ten thousand files listed and synced in
//! a few execs, a cancelled run's process group killed, a snapshot restored into a new
//! Modal sandbox, no orphan when the row cannot be saved.

use serde_json::json;

use super::modal_backend::{spawn, spawn_tweaked, workspace};
use crate::helpers::{
    DbKind,
    fake_modal::FakeModal,
    process::{eventually, processes_with},
};

/// Listing 10,000 files is one exec, not 10,000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_ten_thousand_files_is_one_exec() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("lou").await;
    let sb = app.create_sandbox(&token, "big").await;
    let ws = workspace(&fake, &sb);
    for d in 0..100 {
        let dir = ws.join(format!("d{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            std::fs::write(dir.join(format!("f{f:03}.txt")), b"x").unwrap();
        }
    }
    let before = fake.count("TaskExecStart");
    let q =
        "query($id: ID!) { sandbox(id: $id) { files(recursive: true, first: 100) { totalCount entries { path } } } }";
    let data = app.ok(&token, q, json!({"id": sb})).await;
    assert_eq!(data["sandbox"]["files"]["totalCount"], 10_100);
    assert_eq!(data["sandbox"]["files"]["entries"][0]["path"], "d000");
    assert_eq!(data["sandbox"]["files"]["entries"][1]["path"], "d000/f000.txt");
    assert_eq!(fake.count("TaskExecStart") - before, 1, "one exec for the whole tree");
}

/// Syncing 10,000 files is a walk and one archive: at most 3 execs, not one per file; a
/// sync after 10 changes uploads those 10, again in at most 3 execs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncing_ten_thousand_files_takes_three_execs_at_most() {
    let fake = FakeModal::start().await;
    // 10,000 uploads on a busy CI machine can outlast the default 30 s request timeout.
    let app = spawn_tweaked(DbKind::Sqlite, &fake, |c| c.limits.request_timeout_ms = 300_000).await;
    let (_, token) = app.new_user("syd").await;
    let sb = app.create_sandbox(&token, "bulk").await;
    let ws = workspace(&fake, &sb);
    for d in 0..100 {
        let dir = ws.join(format!("d{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            std::fs::write(dir.join(format!("f{f:03}.txt")), format!("file {d} {f}\n")).unwrap();
        }
    }
    let sync = "mutation($id: ID!) { syncSandbox(id: $id) { filesProcessed filesUploaded snapshot { id fileCount } } }";
    let before = fake.count("TaskExecStart");
    let stats = app.ok(&token, sync, json!({"id": sb})).await["syncSandbox"].clone();
    assert_eq!(stats["filesProcessed"], 10_000, "{stats}");
    assert_eq!(stats["filesUploaded"], 10_000, "{stats}");
    let execs = fake.count("TaskExecStart") - before;
    assert!(execs <= 3, "{execs} execs for 10,000 files");
    let snap = stats["snapshot"]["id"].as_str().unwrap().to_string();
    let read = "query($id: ID!, $s: ID!) { sandbox(id: $id) { fileContent(path: \"d042/f007.txt\", source: SNAPSHOT, snapshotId: $s) { content } } }";
    let got = app.ok(&token, read, json!({"id": sb, "s": snap})).await;
    assert_eq!(got["sandbox"]["fileContent"]["content"], "file 42 7\n", "the archived content is what was stored");

    for f in 0..10 {
        std::fs::write(ws.join(format!("d007/f{f:03}.txt")), format!("changed {f} and longer\n")).unwrap();
    }
    let before = fake.count("TaskExecStart");
    let stats = app.ok(&token, sync, json!({"id": sb})).await["syncSandbox"].clone();
    assert_eq!(stats["filesUploaded"], 10, "{stats}");
    assert!(fake.count("TaskExecStart") - before <= 3);
}

/// Cancel reaches into the sandbox: the whole process group of the run dies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_kills_the_run_process_group() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("cy").await;
    let sb = app.create_sandbox(&token, "busy").await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4().simple());
    let run = app.start_run(&token, &sb, &format!("[hang] {marker}")).await;
    assert!(eventually(10, || processes_with(&marker).len() >= 2).await, "claude and its child run in the fake");
    let done = app.ok(&token, "mutation($id: ID!) { cancelRun(id: $id) { status } }", json!({"id": run})).await;
    assert_eq!(done["cancelRun"]["status"], "CANCELLED");
    assert!(eventually(10, || processes_with(&marker).is_empty()).await, "left: {:?}", processes_with(&marker));
}

/// A snapshot taken on Modal restores into a new Modal sandbox: content, modes, links.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_restores_into_a_new_modal_sandbox() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("rae").await;
    let sb = app.create_sandbox(&token, "origin").await;
    let ws = workspace(&fake, &sb);
    std::fs::create_dir_all(ws.join("bin")).unwrap();
    std::fs::create_dir_all(ws.join("empty")).unwrap();
    std::fs::write(ws.join("bin/run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(ws.join("bin/run.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(ws.join("big.bin"), vec![7u8; 3 * 1024 * 1024 + 5]).unwrap();
    std::os::unix::fs::symlink("bin/run.sh", ws.join("link")).unwrap();
    let sync = "mutation($id: ID!) { syncSandbox(id: $id) { snapshot { id fileCount } } }";
    let snap =
        app.ok(&token, sync, json!({"id": sb})).await["syncSandbox"]["snapshot"]["id"].as_str().unwrap().to_string();
    let from = "mutation($s: ID!) { createSandbox(input: {fromSnapshot: $s}) { id status } }";
    let before = fake.count("TaskExecStart");
    let copy = app.ok(&token, from, json!({"s": snap})).await["createSandbox"].clone();
    assert_eq!(fake.count("TaskExecStart") - before, 1, "the whole restore is one exec");
    assert_eq!(copy["status"], "RUNNING", "{copy}");
    let ws2 = workspace(&fake, copy["id"].as_str().unwrap());
    assert_eq!(std::fs::read(ws2.join("big.bin")).unwrap(), vec![7u8; 3 * 1024 * 1024 + 5]);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(ws2.join("bin/run.sh")).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(std::fs::read_link(ws2.join("link")).unwrap().to_str(), Some("bin/run.sh"));
    assert!(ws2.join("empty").is_dir());
}

/// Saga: the database refuses the row after Modal created the sandbox → it is terminated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modal_sandbox_is_terminated_when_its_row_cannot_be_saved() {
    use sea_orm::ConnectionTrait;
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("sal").await;
    app.services
        .db
        .execute_unprepared(
            "CREATE TRIGGER fail_update BEFORE UPDATE ON sandboxes BEGIN SELECT RAISE(ABORT, 'injected'); END;",
        )
        .await
        .unwrap();
    let (_, body) = app.post(Some(&token), "mutation { createSandbox(input: {}) { id } }", json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL_SERVER_ERROR", "{body}");
    let st = fake.st();
    assert_eq!(st.sandboxes.len(), 1, "Modal created it");
    assert!(st.sandboxes.values().all(|s| s.terminated), "and it was terminated");
}
