//! One byte flipped in a blob in S3 (moto): `verifySnapshot` reports CORRUPT with the
//! path; a restore refuses, naming it; `allowPartial` restores everything else.

use serde_json::json;

use crate::helpers::{DbKind, TestApp, s3};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_is_found_named_and_left_out_of_a_partial_restore() {
    let moto = s3::start_moto().await;
    let app = TestApp::spawn_with(DbKind::Sqlite, |c| s3::use_s3(c, &moto.endpoint), None).await;
    let (account, token) = app.new_user("scrub").await;
    let sb = app.create_sandbox(&token, "v").await;
    app.write_file(&token, &sb, "good.txt", "all fine\n").await;
    app.write_file(&token, &sb, "src/bad.txt", "this one will rot\n").await;
    app.write_file(&token, &sb, "src/also-good.txt", "fine too\n").await;
    let sync = "mutation($s: ID!) { syncSandbox(id: $s) { snapshot { id } } }";
    let snap = app.ok(&token, sync, json!({"s": sb})).await["syncSandbox"]["snapshot"]["id"].clone();
    let verify = "mutation($id: ID!) { verifySnapshot(id: $id) { corruptPaths corruptCount blobsRead
      snapshot { status corruptPaths verifiedAt } } }";
    let v = app.ok(&token, verify, json!({"id": snap})).await["verifySnapshot"].clone();
    assert_eq!(v["corruptCount"], 0, "{v}");
    assert_eq!(v["snapshot"]["status"], "VERIFIED");
    assert_eq!(v["blobsRead"], 3);

    // Flip one byte of one blob, in the bucket itself.
    let store = sandboxql::storage::s3::S3BlobStore::new(&s3::settings(&moto.endpoint)).await;
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"this one will rot\n"));
    let key = sandboxql::storage::blob_key(account.parse().unwrap(), &sha);
    let mut bytes = sandboxql::storage::BlobStore::get(&store, &key).await.unwrap();
    bytes[3] ^= 0x20;
    sandboxql::storage::BlobStore::put_bytes(&store, &key, bytes).await.unwrap();

    let v = app.ok(&token, verify, json!({"id": snap})).await["verifySnapshot"].clone();
    assert_eq!(v["corruptPaths"], json!(["src/bad.txt"]), "{v}");
    assert_eq!(v["snapshot"]["status"], "CORRUPT");
    assert_eq!(v["snapshot"]["corruptPaths"], json!(["src/bad.txt"]));

    let restore =
        "mutation($s: ID!, $p: Boolean!) { createSandbox(input: {fromSnapshot: $s, allowPartial: $p}) { id status } }";
    let (_, body) = app.post(Some(&token), restore, json!({"s": snap, "p": false})).await;
    let e = &body["errors"][0];
    assert_eq!(e["extensions"]["code"], "CONFLICT", "{body}");
    assert_eq!(e["extensions"]["reason"], "SNAPSHOT_CORRUPT", "{body}");
    assert!(e["message"].as_str().unwrap().contains("src/bad.txt"), "{body}");
    let live = "{ sandboxes(first: 10) { totalCount } }";
    assert_eq!(app.ok(&token, live, json!({})).await["sandboxes"]["totalCount"], 1, "nothing was made");

    let made = app.ok(&token, restore, json!({"s": snap, "p": true})).await["createSandbox"].clone();
    assert_eq!(made["status"], "RUNNING");
    let ws = app.sandbox_dir(made["id"].as_str().unwrap()).join("disk/workspace");
    assert_eq!(std::fs::read_to_string(ws.join("good.txt")).unwrap(), "all fine\n");
    assert_eq!(std::fs::read_to_string(ws.join("src/also-good.txt")).unwrap(), "fine too\n");
    assert!(!ws.join("src/bad.txt").exists(), "the damaged file is left out");

    // The corruption went out as an event, written with the mark.
    let n = app.count("SELECT COUNT(*) FROM webhook_events WHERE event_type = 'snapshot.corrupt'").await;
    assert_eq!(n, 1);
}
