//! 20 syncs with a retention of 5 on moto: 5 snapshots remain and the store holds exactly
//! the blobs those 5 reference, by count and bytes; `expiresAt` says what age removes
//! next; `deleteSnapshot` and the storage accounting and quota.

use std::collections::BTreeSet;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{DbKind, TestApp, s3};

const POLICY: &str = "mutation($a: ID!, $k: Int, $h: Int, $q: Int) {
  setStoragePolicy(accountId: $a, snapshotsKeep: $k, snapshotsMaxAgeHours: $h, storageQuotaBytes: $q) {
    snapshotsKeep snapshotsMaxAgeHours storageQuotaBytes } }";
const SYNC: &str = "mutation($s: ID!) { syncSandbox(id: $s) { snapshot { id } } }";
const RECLAIM: &str = "mutation($a: ID!) { reclaimStorage(accountId: $a) { ran blobsDeleted bytesDeleted } }";

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_syncs_keeping_five_leave_exactly_their_blobs() {
    let moto = s3::start_moto().await;
    let app = TestApp::spawn_with(DbKind::Sqlite, |c| s3::use_s3(c, &moto.endpoint), None).await;
    let (account, token) = app.new_user("keep5").await;
    let p = app.ok(&app.admin_token, POLICY, json!({"a": account, "k": 5, "h": 24})).await["setStoragePolicy"].clone();
    assert_eq!(p, json!({"snapshotsKeep": 5, "snapshotsMaxAgeHours": 24, "storageQuotaBytes": 0}));
    let sb = app.create_sandbox(&token, "keep").await;
    let mut contents = vec![];
    for i in 0..20 {
        let body = format!("version {i} of the file\n");
        app.write_file(&token, &sb, "doc.txt", &body).await;
        app.write_file(&token, &sb, "same.txt", "never changes\n").await;
        contents.push(body);
        app.ok(&token, SYNC, json!({"s": sb})).await;
    }
    let q = "query($s: ID!) { sandbox(id: $s) { snapshots(first: 50) { id expiresAt status } } }";
    let snaps = app.ok(&token, q, json!({"s": sb})).await["sandbox"]["snapshots"].as_array().unwrap().clone();
    assert_eq!(snaps.len(), 5, "{snaps:?}");
    assert!(snaps[0]["expiresAt"].is_null(), "the newest never expires: {}", snaps[0]);
    assert!(snaps[1]["expiresAt"].is_string(), "the others do, by age: {}", snaps[1]);
    assert_eq!(snaps[0]["status"], "UNVERIFIED");

    let r = app.ok(&app.admin_token, RECLAIM, json!({"a": account})).await["reclaimStorage"].clone();
    assert_eq!(r["blobsDeleted"], 15, "{r}");
    let mut want: BTreeSet<(String, u64)> = contents[15..].iter().map(|c| (sha(c), c.len() as u64)).collect();
    want.insert((sha("never changes\n"), 14));
    let store = &app.services.snapshots.blobs;
    let prefix = format!("accounts/{account}/blobs/");
    let mut got = BTreeSet::new();
    for key in store.list(&prefix).await.unwrap() {
        let n = store.get(&key).await.unwrap().len() as u64;
        got.insert((key.trim_start_matches(&prefix).to_string(), n));
    }
    assert_eq!(got, want, "exactly the blobs of the 5 kept snapshots, by hash and size");
    let manifests = store.list(&format!("accounts/{account}/sandboxes/")).await.unwrap();
    assert_eq!(manifests.iter().filter(|k| k.contains("/snapshots/")).count(), 5);

    // The accounting says the same.
    let q = "{ viewer { storage { bytes blobs snapshots quotaBytes } } }";
    let storage = app.ok(&token, q, json!({})).await["viewer"]["storage"].clone();
    let bytes: u64 = want.iter().map(|(_, n)| n).sum();
    assert_eq!(storage, json!({"bytes": bytes, "blobs": 6, "snapshots": 5, "quotaBytes": 0}));

    // deleteSnapshot: gone for the owner, NOT_FOUND for another account.
    let (_, other) = app.new_user("other").await;
    let del = "mutation($id: ID!) { deleteSnapshot(id: $id) }";
    assert_eq!(app.err(Some(&other), del, json!({"id": snaps[4]["id"]})).await.0, "NOT_FOUND");
    assert_eq!(app.ok(&token, del, json!({"id": snaps[4]["id"]})).await["deleteSnapshot"], true);
    let left = app.ok(&token, q_snaps(), json!({"s": sb})).await["sandbox"]["snapshots"].as_array().unwrap().len();
    assert_eq!(left, 4);

    // A quota: an upload past it is refused before it starts, with a reason.
    app.ok(&app.admin_token, POLICY, json!({"a": account, "q": bytes + 10})).await;
    app.write_file(&token, &sb, "big.txt", &"x".repeat(1000)).await;
    let (_, body) = app.post(Some(&token), SYNC, json!({"s": sb})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "STORAGE_QUOTA_EXCEEDED", "{body}");
    assert!(!store.exists(&format!("{prefix}{}", sha(&"x".repeat(1000)))).await.unwrap(), "nothing was uploaded");
}

fn q_snaps() -> &'static str {
    "query($s: ID!) { sandbox(id: $s) { snapshots(first: 50) { id } } }"
}
