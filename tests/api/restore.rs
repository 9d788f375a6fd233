//! Snapshots restore byte-identical trees; delete-with-sync leaves a final snapshot.

use std::{
    os::unix::fs::{PermissionsExt, symlink},
    path::Path,
};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp, s3},
};

/// Every path with its kind, mode and content hash (or link target), sorted.
fn fingerprint(root: &Path) -> Vec<String> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                out.push(format!("L {rel} -> {}", std::fs::read_link(&p).unwrap().display()));
            } else if meta.is_dir() {
                out.push(format!("D {rel} {mode:o}"));
                go(root, &p, out);
            } else {
                out.push(format!("F {rel} {mode:o} {}", hex::encode(Sha256::digest(std::fs::read(&p).unwrap()))));
            }
        }
    }
    let mut out = vec![];
    go(root, root, &mut out);
    out.sort();
    out
}

const SYNC: &str = "mutation($id: ID!) { syncSandbox(id: $id) { filesUploaded snapshot { id } } }";
const FROM: &str = "mutation($s: ID!) { createSandbox(input: {fromSnapshot: $s}) { id status } }";

async fn restores(kind: DbKind) {
    restores_on(TestApp::spawn(kind).await).await;
}
both_dbs!(snapshots_restore_byte_identical_trees, restores);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_snapshots_restore_byte_identical_trees() {
    let moto = s3::start_moto().await;
    restores_on(TestApp::spawn_with(DbKind::Postgres, |c| s3::use_s3(c, &moto.endpoint), None).await).await;
}

async fn restores_on(app: TestApp) {
    let (_, token) = app.new_user("rae").await;
    let sb = app.create_sandbox(&token, "orig").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    std::fs::create_dir_all(ws.join("src/deep")).unwrap();
    std::fs::create_dir_all(ws.join("empty/also-empty")).unwrap();
    std::fs::write(ws.join("src/deep/a.bin"), (0..5000u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<_>>()).unwrap();
    std::fs::write(ws.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(ws.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(ws.join("private.txt"), "mine").unwrap();
    std::fs::set_permissions(ws.join("private.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(ws.join("src/deep"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::write(ws.join(".env.example"), "A=1\n").unwrap();
    symlink("src/deep/a.bin", ws.join("link")).unwrap();
    let before_first = fingerprint(&ws);
    let s1 = app.ok(&token, SYNC, json!({"id": sb})).await["syncSandbox"]["snapshot"]["id"].clone();

    std::fs::write(ws.join("run.sh"), "#!/bin/sh\necho changed\n").unwrap();
    std::fs::write(ws.join("added.md"), "# new").unwrap();
    std::fs::remove_file(ws.join("private.txt")).unwrap();
    let before_second = fingerprint(&ws);
    let s2 = app.ok(&token, SYNC, json!({"id": sb})).await["syncSandbox"]["snapshot"]["id"].clone();

    for (snap, want) in [(&s1, &before_first), (&s2, &before_second)] {
        let made = app.ok(&token, FROM, json!({"s": snap})).await["createSandbox"].clone();
        assert_eq!(made["status"], "RUNNING");
        let restored = app.sandbox_dir(made["id"].as_str().unwrap()).join("disk/workspace");
        assert_eq!(&fingerprint(&restored), want, "restore of {snap} differs");
    }

    // Delete with sync (the default) leaves a final snapshot that restores the last state.
    std::fs::write(ws.join("last-words.txt"), "bye").unwrap();
    let final_state = fingerprint(&ws);
    let del = app
        .ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id) { id snapshot { id fileCount } } }", json!({"id": sb}))
        .await;
    let last = del["deleteSandbox"]["snapshot"]["id"].clone();
    assert!(last.is_string());
    let made = app.ok(&token, FROM, json!({"s": last})).await["createSandbox"]["id"].as_str().unwrap().to_string();
    assert_eq!(fingerprint(&app.sandbox_dir(&made).join("disk/workspace")), final_state);
    // Without sync nothing is snapshotted.
    let del = app
        .ok(
            &token,
            "mutation($id: ID!) { deleteSandbox(id: $id, sync: false) { snapshot { id } } }",
            json!({"id": made}),
        )
        .await;
    assert!(del["deleteSandbox"]["snapshot"].is_null());

    // Someone else's snapshot cannot be restored.
    let (_, other) = app.new_user("eve").await;
    assert_eq!(app.err(Some(&other), FROM, json!({"s": s1})).await.0, "NOT_FOUND");
}
