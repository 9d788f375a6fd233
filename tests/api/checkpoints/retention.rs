//! Retention and reclaim on a real S3-compatible store (moto): after 50 turns with a
//! limit of 10, 10 checkpoints remain and the store holds exactly the blobs they
//! reference; and syncs racing the reclaim never lose a blob.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{
    DbKind, TestApp,
    runs::{claude_stream_query, collect},
    s3,
    ws::WsClient,
};

const RETAIN: &str =
    "mutation($a: ID!, $k: Int) { setCheckpointRetention(accountId: $a, keep: $k) { keep maxAgeHours } }";
const RECLAIM: &str = "mutation($a: ID!) { reclaimStorage(accountId: $a) { ran blobsDeleted bytesDeleted } }";
const CHECKPOINT: &str = "mutation($s: ID!) { checkpointSandbox(id: $s) { id } }";
const SYNC: &str = "mutation($s: ID!) { syncSandbox(id: $s) { snapshot { id } } }";

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The account's blobs in the store: hash → size.
async fn stored_blobs(app: &TestApp, account: &str) -> BTreeSet<(String, u64)> {
    let store = &app.services.snapshots.blobs;
    let prefix = format!("accounts/{account}/blobs/");
    let mut out = BTreeSet::new();
    for key in store.list(&prefix).await.unwrap() {
        let size = store.get(&key).await.unwrap().len() as u64;
        out.insert((key.trim_start_matches(&prefix).to_string(), size));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_turns_with_a_limit_of_ten_keep_ten_and_exactly_their_blobs() {
    let moto = s3::start_moto().await;
    let app = TestApp::spawn_with(DbKind::Sqlite, |c| s3::use_s3(c, &moto.endpoint), None).await;
    let (account, token) = app.new_user("ret").await;
    let set = app.ok(&app.admin_token, RETAIN, json!({"a": account, "k": 10})).await;
    assert_eq!(set["setCheckpointRetention"]["keep"], 10);
    let sb = app.create_sandbox(&token, "fifty").await;
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    for i in 0..50 {
        // Each turn adds a file and changes a shared one.
        app.write_file(&token, &sb, &format!("t{i:02}.txt"), &format!("turn {i}\n")).await;
        app.write_file(&token, &sb, "log.txt", &format!("log at {i}\n")).await;
        ws.subscribe(&format!("r{i}"), &claude_stream_query(), json!({"s": sb, "p": "ok"})).await;
        let events = collect(&mut ws, &format!("r{i}")).await;
        assert_eq!(events.last().unwrap()["status"], "SUCCEEDED");
    }
    let q = "query($s: ID!) { sandbox(id: $s) { checkpoints(first: 100) { id turn changes { path kind } } } }";
    let cps = app.ok(&token, q, json!({"s": sb})).await["sandbox"]["checkpoints"].as_array().unwrap().clone();
    assert_eq!(cps.len(), 10, "{cps:?}");
    assert!(cps.iter().all(|c| c["turn"] == 1), "one-shot runs end one turn each");
    let newest: Vec<&str> = cps[0]["changes"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert_eq!(newest, ["log.txt", "t49.txt"], "a turn lists what it changed");

    let r = app.ok(&app.admin_token, RECLAIM, json!({"a": account})).await["reclaimStorage"].clone();
    assert_eq!(r["ran"], true, "{r}");
    assert_eq!(r["blobsDeleted"], 40, "the 40 versions of log.txt no kept checkpoint holds: {r}");
    // Exactly what the 10 kept checkpoints reference: every t file, the last 10 logs.
    let mut want = BTreeSet::new();
    for i in 0..50 {
        want.insert((sha(&format!("turn {i}\n")), format!("turn {i}\n").len() as u64));
    }
    for i in 40..50 {
        want.insert((sha(&format!("log at {i}\n")), format!("log at {i}\n").len() as u64));
    }
    let got = stored_blobs(&app, &account).await;
    assert_eq!(got.len(), want.len());
    assert_eq!(got.iter().map(|(_, n)| n).sum::<u64>(), want.iter().map(|(_, n)| n).sum::<u64>());
    assert_eq!(got, want);
    // Their manifests went with them.
    let keys = app.services.snapshots.blobs.list(&format!("accounts/{account}/sandboxes/")).await.unwrap();
    assert_eq!(keys.iter().filter(|k| k.ends_with(".files")).count(), 10, "{keys:?}");
    // A second reclaim finds nothing more.
    let again = app.ok(&app.admin_token, RECLAIM, json!({"a": account})).await["reclaimStorage"].clone();
    assert_eq!(again["blobsDeleted"], 0);
}

/// Every blob the snapshot's manifest names is in the store.
async fn whole(app: &TestApp, token: &str, sb: &str, snapshot: &str) {
    let viewer = sandboxql::service::auth::Viewer {
        account_id: uuid::Uuid::nil(),
        organization_id: None,
        role: sandboxql::entity::enums::Role::Admin,
        read_only: true,
    };
    let snap = app.services.snapshots.require(&viewer, snapshot.parse().unwrap()).await.unwrap();
    let mut r = app.services.snapshots.reader(&snap).await.unwrap();
    while let Some(e) = r.next().await.unwrap() {
        if let Some(sha) = e.sha256 {
            let key = sandboxql::storage::blob_key(snap.account_id, &sha);
            assert!(app.services.snapshots.blobs.exists(&key).await.unwrap(), "{} lost ({sb}, {token:.0})", e.path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_racing_the_reclaim_fifty_times_never_lose_a_blob() {
    let moto = s3::start_moto().await;
    let app = TestApp::spawn_with(DbKind::Postgres, |c| s3::use_s3(c, &moto.endpoint), None).await;
    let (account, token) = app.new_user("race").await;
    app.ok(&app.admin_token, RETAIN, json!({"a": account, "k": 1})).await;
    let sb = app.create_sandbox(&token, "race").await;
    let mut snapshots = vec![];
    let mut reclaimed = 0;
    for i in 0..50 {
        // A content only a checkpoint holds, then dropped by the next one: unreferenced,
        // but still recorded, when the sync below brings it back.
        app.write_file(&token, &sb, "x.txt", &format!("gone {i}\n")).await;
        app.ok(&token, CHECKPOINT, json!({"s": sb})).await;
        app.write_file(&token, &sb, "x.txt", &format!("gone {}\n", i.max(1) - 1)).await;
        app.write_file(&token, &sb, &format!("keep{i}.txt"), &format!("kept {i}\n")).await;
        app.ok(&token, CHECKPOINT, json!({"s": sb})).await;
        app.write_file(&token, &sb, "x.txt", &format!("gone {i}\n")).await;
        let sync = app.post(Some(&token), SYNC, json!({"s": sb}));
        let reclaim = async {
            let mut n = 0;
            for _ in 0..3 {
                let r = app.ok(&app.admin_token, RECLAIM, json!({"a": account})).await["reclaimStorage"].clone();
                n += r["blobsDeleted"].as_u64().unwrap();
            }
            n
        };
        let ((_, synced), n) = tokio::join!(sync, reclaim);
        reclaimed += n;
        assert!(synced["errors"].is_null(), "{synced}");
        let snap: Value = synced["data"]["syncSandbox"]["snapshot"]["id"].clone();
        whole(&app, &token, &sb, snap.as_str().unwrap()).await;
        snapshots.push(snap);
    }
    assert!(reclaimed > 0, "the reclaim did delete blobs while racing");
    // Every snapshot restores byte for byte.
    for snap in snapshots.iter().rev().take(5) {
        whole(&app, &token, &sb, snap.as_str().unwrap()).await;
    }
    let q = "mutation($s: ID!) { createSandbox(input: {fromSnapshot: $s}) { id status } }";
    let restored = app.ok(&token, q, json!({"s": snapshots.last().unwrap()})).await["createSandbox"].clone();
    assert_eq!(restored["status"], "RUNNING");
    let dir = app.sandbox_dir(restored["id"].as_str().unwrap()).join("disk/workspace");
    assert_eq!(std::fs::read_to_string(dir.join("x.txt")).unwrap(), "gone 49\n");
    for i in 0..50 {
        assert_eq!(std::fs::read_to_string(dir.join(format!("keep{i}.txt"))).unwrap(), format!("kept {i}\n"));
    }
}
