//! S3 going away in the middle of a sync: the mutation fails with PROVIDER_UNAVAILABLE,
//! no half snapshot exists, the previous one restores intact, and the next sync works.

use sandboxql::storage::{BlobStore, s3::S3BlobStore};
use serde_json::json;

use crate::helpers::{DbKind, TestApp, proxy::Proxy, s3};

const SYNC: &str = "mutation($id: ID!) { syncSandbox(id: $id) { filesUploaded snapshot { id } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_outage_mid_sync_leaves_no_half_snapshot() {
    let moto = s3::start_moto().await;
    let mut proxy = Proxy::start(format!("127.0.0.1:{}", moto.port).parse().unwrap()).await;
    let via_proxy = format!("http://{}", proxy.addr);
    let app = TestApp::spawn_with(DbKind::Sqlite, |c| s3::use_s3(c, &via_proxy), None).await;
    let direct = S3BlobStore::new(&s3::settings(&moto.endpoint)).await;
    let (_, token) = app.new_user("otto").await;
    let sb = app.create_sandbox(&token, "fragile").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    std::fs::write(ws.join("keep.txt"), "version one").unwrap();
    let first = app.ok(&token, SYNC, json!({"id": sb})).await["syncSandbox"]["snapshot"]["id"].clone();
    let blobs_before = direct.list("accounts/").await.unwrap().len();

    // Lots of new content, then cut S3 off while it uploads.
    std::fs::write(ws.join("keep.txt"), "version two").unwrap();
    for i in 0..400 {
        std::fs::write(ws.join(format!("bulk-{i}.bin")), format!("{i}-").repeat(20_000)).unwrap();
    }
    let (url, tok, id) = (app.url(), token.clone(), sb.clone());
    let sync = tokio::spawn(async move {
        let body = json!({"query": SYNC, "variables": {"id": id}});
        let resp: serde_json::Value =
            reqwest::Client::new().post(url).bearer_auth(tok).json(&body).send().await.unwrap().json().await.unwrap();
        resp
    });
    for _ in 0..400 {
        if direct.list("accounts/").await.unwrap().len() > blobs_before + 10 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    proxy.cut();
    let resp = sync.await.unwrap();
    assert_eq!(resp["errors"][0]["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{resp}");
    assert!(!resp.to_string().contains("127.0.0.1"), "connection detail leaked: {resp}");
    let manifests = direct.list("accounts/").await.unwrap().into_iter().filter(|k| k.contains("/snapshots/")).count();
    assert_eq!(manifests, 1, "no new manifest");
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshots").await, 1, "no new snapshot row");

    // The previous snapshot is intact (read through the server once S3 is back)…
    proxy.restore().await;
    let q = "query($id: ID!, $s: ID) { sandbox(id: $id) { files(source: SNAPSHOT, snapshotId: $s) { totalCount } fileContent(source: SNAPSHOT, snapshotId: $s, path: \"keep.txt\") { content } } }";
    let old = app.ok(&token, q, json!({"id": sb, "s": first})).await;
    assert_eq!(old["sandbox"]["files"]["totalCount"], 1);
    assert_eq!(old["sandbox"]["fileContent"]["content"], "version one");
    let restored = app
        .ok(&token, "mutation($s: ID!) { createSandbox(input: {fromSnapshot: $s}) { id } }", json!({"s": first}))
        .await;
    let rid = restored["createSandbox"]["id"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(app.sandbox_dir(rid).join("disk/workspace/keep.txt")).unwrap(), "version one");

    // …and the next sync succeeds, uploading only what is still missing.
    let again = app.ok(&token, SYNC, json!({"id": sb})).await["syncSandbox"].clone();
    assert!(again["filesUploaded"].as_u64().unwrap() < 401, "blobs stored before the cut are reused: {again}");
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshots").await, 2);
    let newest = app.ok(&token, q, json!({"id": sb, "s": null})).await;
    assert_eq!(newest["sandbox"]["files"]["totalCount"], 401);
}
