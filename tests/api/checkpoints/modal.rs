//! Checkpoints on Modal (the fake, which Modal's official client drives elsewhere in the
//! suite): taken through the same bulk export as a sync, rewound through one archive the
//! way a restore is, and forked into a new Modal sandbox.

use serde_json::json;

use crate::{
    helpers::{DbKind, fake_modal::FakeModal},
    modal_backend::{spawn, workspace},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modal_sandbox_checkpoints_rewinds_and_forks() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("mo").await;
    let sb = app.create_sandbox(&token, "cp").await;
    let ws = workspace(&fake, &sb);
    std::fs::create_dir_all(ws.join("src")).unwrap();
    for i in 0..50 {
        std::fs::write(ws.join(format!("src/f{i}.txt")), format!("file {i}\n")).unwrap();
    }
    std::fs::write(ws.join("a.txt"), "first a\n").unwrap();
    let cp = app
        .ok(&token, "mutation($s: ID!) { checkpointSandbox(id: $s) { id fileCount changesTotal } }", json!({"s": sb}))
        .await["checkpointSandbox"]
        .clone();
    assert_eq!(cp["fileCount"], 51, "{cp}");
    assert_eq!(cp["changesTotal"], 52, "every path is new to the first checkpoint: {cp}");

    std::fs::write(ws.join("a.txt"), "second a, longer\n").unwrap();
    std::fs::write(ws.join("b.txt"), "new b\n").unwrap();
    std::fs::remove_file(ws.join("src/f7.txt")).unwrap();
    let q = "mutation($s: ID!) { checkpointSandbox(id: $s) { id changes { path kind } } }";
    let second = app.ok(&token, q, json!({"s": sb})).await["checkpointSandbox"].clone();
    assert_eq!(
        second["changes"],
        json!([{"path": "a.txt", "kind": "MODIFIED"}, {"path": "b.txt", "kind": "ADDED"},
               {"path": "src/f7.txt", "kind": "DELETED"}])
    );

    let rewind =
        "mutation($s: ID!, $c: ID!) { rewindSandbox(sandboxId: $s, checkpointId: $c) { filesWritten pathsDeleted } }";
    let r = app.ok(&token, rewind, json!({"s": sb, "c": cp["id"]})).await["rewindSandbox"].clone();
    assert_eq!((r["filesWritten"].as_u64(), r["pathsDeleted"].as_u64()), (Some(2), Some(1)), "{r}");
    assert_eq!(std::fs::read_to_string(ws.join("a.txt")).unwrap(), "first a\n");
    assert_eq!(std::fs::read_to_string(ws.join("src/f7.txt")).unwrap(), "file 7\n");
    assert!(!ws.join("b.txt").exists());

    let fork = "mutation($s: ID!, $c: ID!) { forkSandbox(sandboxId: $s, checkpointId: $c) { id status } }";
    let f = app.ok(&token, fork, json!({"s": sb, "c": second["id"]})).await["forkSandbox"].clone();
    assert_eq!(f["status"], "RUNNING");
    let fws = workspace(&fake, f["id"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(fws.join("a.txt")).unwrap(), "second a, longer\n");
    assert_eq!(std::fs::read_to_string(fws.join("b.txt")).unwrap(), "new b\n");
    assert!(!fws.join("src/f7.txt").exists());
    assert_eq!(std::fs::read_to_string(ws.join("a.txt")).unwrap(), "first a\n", "the original is untouched");
}
