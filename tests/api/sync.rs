//! Snapshots to the filesystem store: incremental uploads, stats in meta_data, browsing
//! snapshot files, isolation.

use sea_orm::EntityTrait;
use serde_json::json;

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp, s3},
};

const SYNC: &str = "mutation($id: ID!) { syncSandbox(id: $id) { filesProcessed filesUploaded bytesTransferred durationMs filesChangedDuringSync snapshot { id fileCount totalBytes } } }";

async fn incremental(kind: DbKind) {
    incremental_on(TestApp::spawn(kind).await).await;
}
both_dbs!(sync_uploads_only_new_content, incremental);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_to_s3_uploads_only_new_content() {
    let moto = s3::start_moto().await;
    let app = TestApp::spawn_with(DbKind::Sqlite, |c| s3::use_s3(c, &moto.endpoint), None).await;
    incremental_on(app).await;
    // Blobs and manifests are in the bucket, per account; nothing on the local disk.
    let store = sandboxql::storage::s3::S3BlobStore::new(&s3::settings(&moto.endpoint)).await;
    let keys = sandboxql::storage::BlobStore::list(&store, "accounts/").await.unwrap();
    assert_eq!(keys.iter().filter(|k| k.contains("/blobs/")).count(), 15);
    assert_eq!(keys.iter().filter(|k| k.contains("/snapshots/") && k.ends_with(".json")).count(), 2);
}

async fn incremental_on(app: TestApp) {
    let (_, token) = app.new_user("sid").await;
    let sb = app.create_sandbox(&token, "sync").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    for i in 0..10 {
        std::fs::create_dir_all(ws.join(format!("dir{}", i % 3))).unwrap();
        std::fs::write(ws.join(format!("dir{}/f{i}.txt", i % 3)), format!("content {i}\n").repeat(100)).unwrap();
    }
    std::fs::write(ws.join("dup-a.txt"), "same").unwrap();
    std::fs::write(ws.join("dup-b.txt"), "same").unwrap();
    let first = app.ok(&token, SYNC, json!({"id": sb})).await["syncSandbox"].clone();
    assert_eq!(first["filesProcessed"], 12);
    assert_eq!(first["filesUploaded"], 11, "identical content is stored once");
    assert_eq!(first["snapshot"]["fileCount"], 12);

    // Change 3, add 1, delete 1: only 4 new blobs.
    for i in 0..3 {
        std::fs::write(ws.join(format!("dir{}/f{i}.txt", i % 3)), format!("changed {i}")).unwrap();
    }
    std::fs::write(ws.join("new.txt"), "brand new").unwrap();
    std::fs::remove_file(ws.join("dir0/f9.txt")).unwrap();
    let second = app.ok(&token, SYNC, json!({"id": sb})).await["syncSandbox"].clone();
    assert_eq!(second["filesUploaded"], 4);
    assert_eq!(second["filesProcessed"], 12);
    assert_eq!(second["bytesTransferred"], 3 * 9 + 9);
    assert_eq!(second["filesChangedDuringSync"], 0);

    // meta_data carries the seed's field names; the GraphQL fields match.
    let row = sandboxql::entity::sandbox::Entity::find_by_id(uuid::Uuid::parse_str(&sb).unwrap())
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap();
    let meta = serde_json::to_value(&row.meta_data).unwrap();
    let stats = &meta["sync_stats"];
    assert_eq!(stats["files_processed"], 12);
    assert_eq!(stats["bytes_transferred"], second["bytesTransferred"]);
    assert_eq!(stats["duration_ms"], second["durationMs"]);
    let q = "query($id: ID!) { sandbox(id: $id) { lastSyncAt syncStats { filesProcessed bytesTransferred durationMs } snapshots { id fileCount } } }";
    let s = app.ok(&token, q, json!({"id": sb})).await["sandbox"].clone();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(s["lastSyncAt"].as_str().unwrap()).unwrap().timestamp(),
        meta["last_s3_sync"].as_i64().unwrap()
    );
    assert_eq!(
        s["syncStats"],
        json!({"filesProcessed": 12, "bytesTransferred": second["bytesTransferred"], "durationMs": second["durationMs"]})
    );
    assert_eq!(s["snapshots"].as_array().unwrap().len(), 2);
    assert_eq!(s["snapshots"][0]["id"], second["snapshot"]["id"], "newest first");

    // Snapshot files are browsable: the newest, or a named one.
    let q = "query($id: ID!, $s: ID) { sandbox(id: $id) { files(source: SNAPSHOT, snapshotId: $s, recursive: true) { totalCount source entries { path } } fileContent(source: SNAPSHOT, snapshotId: $s, path: \"dir0/f0.txt\") { content } } }";
    let newest = app.ok(&token, q, json!({"id": sb, "s": null})).await["sandbox"].clone();
    assert_eq!(newest["files"]["source"], "SNAPSHOT");
    assert_eq!(newest["fileContent"]["content"], "changed 0");
    let old = app.ok(&token, q, json!({"id": sb, "s": first["snapshot"]["id"]})).await["sandbox"].clone();
    assert_eq!(old["fileContent"]["content"], "content 0\n".repeat(100));
    let paths: Vec<&str> =
        old["files"]["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"dir0/f9.txt") && !paths.contains(&"new.txt"));
    assert_eq!(paths[0], "dir0", "directories first, pre-order");
}

async fn isolation(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, a) = app.new_user("amy").await;
    let (_, b) = app.new_user("ben").await;
    let sb = app.create_sandbox(&a, "mine").await;
    std::fs::write(app.sandbox_dir(&sb).join("disk/workspace/x.txt"), "x").unwrap();
    let snap = app.ok(&a, SYNC, json!({"id": sb})).await["syncSandbox"]["snapshot"]["id"].clone();
    assert_eq!(app.err(Some(&b), SYNC, json!({"id": sb})).await.0, "NOT_FOUND");
    let q = "query($id: ID!, $s: ID) { sandbox(id: $id) { snapshots { id } files(source: SNAPSHOT, snapshotId: $s) { totalCount } } }";
    assert_eq!(app.ok(&b, q, json!({"id": sb, "s": snap})).await, json!({"sandbox": null}));
    // B's own sandbox cannot name A's snapshot either.
    let own = app.create_sandbox(&b, "theirs").await;
    let q = "query($id: ID!, $s: ID) { sandbox(id: $id) { files(source: SNAPSHOT, snapshotId: $s) { totalCount } } }";
    assert_eq!(app.err(Some(&b), q, json!({"id": own, "s": snap})).await.0, "NOT_FOUND");
    // Blobs are stored per account.
    let blobs = app.data_path().join("blobs/accounts");
    let accounts: Vec<_> = std::fs::read_dir(&blobs).unwrap().flatten().collect();
    assert_eq!(accounts.len(), 1);
}
both_dbs!(snapshots_are_per_account, isolation);

async fn one_at_a_time(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("oat").await;
    let sb = app.create_sandbox(&token, "busy").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    for i in 0..2000 {
        std::fs::write(ws.join(format!("f{i}.txt")), format!("{i}").repeat(2000)).unwrap();
    }
    let go = || {
        let (url, tok, id) = (app.url(), token.clone(), sb.clone());
        tokio::spawn(async move {
            let body = json!({"query": SYNC, "variables": {"id": id}});
            let r: serde_json::Value = reqwest::Client::new()
                .post(url)
                .bearer_auth(tok)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r
        })
    };
    let (a, b) = (go(), go());
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let codes: Vec<Option<&str>> = [&a, &b].iter().map(|r| r["errors"][0]["extensions"]["code"].as_str()).collect();
    assert!(codes.contains(&None), "one sync succeeds: {a} {b}");
    assert!(codes.contains(&Some("CONFLICT")), "the concurrent one is refused: {a} {b}");
    // Afterwards a sync works again.
    app.ok(&token, SYNC, json!({"id": sb})).await;
}
both_dbs!(only_one_sync_at_a_time, one_at_a_time);

async fn during_run(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("dru").await;
    let sb = app.create_sandbox(&token, "busy").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    std::fs::write(ws.join("steady.txt"), "steady").unwrap();
    app.start_run(&token, &sb, "[writer] keep writing").await;
    assert!(crate::helpers::process::eventually(10, || ws.join("growing.log").exists()).await);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r = app.ok(&token, SYNC, json!({"id": sb})).await["syncSandbox"].clone();
    assert!(r["filesChangedDuringSync"].as_u64().unwrap() >= 1, "the sync says a file changed under it: {r}");
    let q = "query($id: ID!) { sandbox(id: $id) { fileContent(source: SNAPSHOT, path: \"steady.txt\") { content } } }";
    assert_eq!(app.ok(&token, q, json!({"id": sb})).await["sandbox"]["fileContent"]["content"], "steady");
    app.wait_idle(&token, &sb).await;
}
both_dbs!(sync_during_a_run_reports_changed_files, during_run);
