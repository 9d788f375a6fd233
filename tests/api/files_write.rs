//! Paging, large files, writes and their atomicity.

use std::collections::HashSet;

use base64::Engine;
use sea_orm::EntityTrait;
use serde_json::json;

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp},
};

async fn paging(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("pat").await;
    let sb = app.create_sandbox(&token, "many").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    for d in 0..10 {
        std::fs::create_dir_all(ws.join(format!("d{d}"))).unwrap();
        for f in 0..100 {
            std::fs::write(ws.join(format!("d{d}/f{f:03}.txt")), format!("{d}-{f}")).unwrap();
        }
    }
    let q = "query($id: ID!, $o: Int!) { sandbox(id: $id) { files(recursive: true, first: 77, offset: $o) { totalCount entries { path } } } }";
    let (mut seen, mut offset) = (Vec::new(), 0);
    loop {
        let data = app.ok(&token, q, json!({"id": sb, "o": offset})).await;
        let files = &data["sandbox"]["files"];
        assert_eq!(files["totalCount"], 1010);
        let page: Vec<String> =
            files["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap().to_string()).collect();
        if page.is_empty() {
            break;
        }
        offset += page.len() as i64;
        seen.extend(page);
    }
    assert_eq!(seen.len(), 1010);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 1010, "each entry exactly once");
    assert_eq!(seen[0], "d0");
    assert_eq!(seen[1], "d0/f000.txt");
    let (code, _) = app
        .err(
            Some(&token),
            "query($id: ID!) { sandbox(id: $id) { files(first: 1001) { totalCount } } }",
            json!({"id": sb}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}
both_dbs!(paging_returns_every_file_once, paging);

fn rchar() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap();
    io.lines().find_map(|l| l.strip_prefix("rchar: ")).unwrap().trim().parse().unwrap()
}

async fn large_and_binary(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("ike").await;
    let sb = app.create_sandbox(&token, "big").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    let mut big = Vec::with_capacity(50 << 20);
    while big.len() < 50 << 20 {
        big.extend_from_slice(b"0123456789abcdef\n");
    }
    big.truncate(50 << 20);
    std::fs::write(ws.join("big.log"), &big).unwrap();
    let q = "query($id: ID!, $m: Int!) { sandbox(id: $id) { fileContent(path: \"big.log\", maxBytes: $m) { size content truncated encoding } } }";
    let before = rchar();
    let data = app.ok(&token, q, json!({"id": sb, "m": 1000})).await;
    let read = rchar() - before;
    let c = &data["sandbox"]["fileContent"];
    assert_eq!(c["size"], 50 << 20);
    assert_eq!(c["truncated"], true);
    assert_eq!(c["content"].as_str().unwrap().as_bytes(), &big[..1000]);
    assert!(read < 5 << 20, "the server read {read} bytes for a 1000-byte prefix");
    let (code, _) = app.err(Some(&token), q, json!({"id": sb, "m": 100 << 20})).await;
    assert_eq!(code, "BAD_USER_INPUT", "maxBytes above the limit");

    // Binary round trip through base64, and UTF-8 cut mid-character.
    let bytes: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let w = "mutation($id: ID!, $p: String!, $c: String!, $e: FileEncoding!) { writeFile(sandboxId: $id, path: $p, content: $c, encoding: $e) { path size isDirectory } }";
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let wrote = app.ok(&token, w, json!({"id": sb, "p": "bin/blob.dat", "c": b64, "e": "BASE64"})).await;
    assert_eq!(wrote["writeFile"], json!({"path": "bin/blob.dat", "size": 70000, "isDirectory": false}));
    let r = "query($id: ID!, $p: String!, $m: Int!) { sandbox(id: $id) { fileContent(path: $p, maxBytes: $m) { content encoding truncated } } }";
    let got = app.ok(&token, r, json!({"id": sb, "p": "bin/blob.dat", "m": 1 << 20})).await;
    assert_eq!(got["sandbox"]["fileContent"]["encoding"], "BASE64");
    let back = base64::engine::general_purpose::STANDARD
        .decode(got["sandbox"]["fileContent"]["content"].as_str().unwrap())
        .unwrap();
    assert_eq!(back, bytes);
    assert_eq!(std::fs::read(ws.join("bin/blob.dat")).unwrap(), bytes);
    app.ok(&token, w, json!({"id": sb, "p": "t.txt", "c": "añb", "e": "UTF8"})).await;
    let cut = app.ok(&token, r, json!({"id": sb, "p": "t.txt", "m": 2})).await;
    assert_eq!(cut["sandbox"]["fileContent"], json!({"content": "a", "encoding": "UTF8", "truncated": true}));
    let (code, _) = app.err(Some(&token), w, json!({"id": sb, "p": "x", "c": "!!notbase64", "e": "BASE64"})).await;
    assert_eq!(code, "BAD_USER_INPUT");
}
both_dbs!(large_files_are_read_by_prefix_and_binary_round_trips, large_and_binary);

async fn writes(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("una").await;
    let sb = app.create_sandbox(&token, "w").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    let w = "mutation($id: ID!, $p: String!, $c: String!) { writeFile(sandboxId: $id, path: $p, content: $c) { path size } }";
    let r = "query($id: ID!, $p: String!) { sandbox(id: $id) { fileContent(path: $p) { content } } }";
    app.ok(&token, w, json!({"id": sb, "p": "deep/er/notes.md", "c": "v1 ✓"})).await;
    assert_eq!(
        app.ok(&token, r, json!({"id": sb, "p": "deep/er/notes.md"})).await["sandbox"]["fileContent"]["content"],
        "v1 ✓"
    );
    app.ok(&token, w, json!({"id": sb, "p": "deep/er/notes.md", "c": "v2"})).await;
    assert_eq!(std::fs::read_to_string(ws.join("deep/er/notes.md")).unwrap(), "v2");

    let mk = "mutation($id: ID!, $p: String!) { makeDirectory(sandboxId: $id, path: $p) { path isDirectory } }";
    assert_eq!(
        app.ok(&token, mk, json!({"id": sb, "p": "a/b/c"})).await["makeDirectory"],
        json!({"path": "a/b/c", "isDirectory": true})
    );
    let mv = "mutation($id: ID!, $f: String!, $t: String!) { movePath(sandboxId: $id, from: $f, to: $t) { path } }";
    app.ok(&token, mv, json!({"id": sb, "f": "deep/er/notes.md", "t": "a/notes.md"})).await;
    assert!(ws.join("a/notes.md").exists() && !ws.join("deep/er/notes.md").exists());
    app.ok(&token, w, json!({"id": sb, "p": "taken.txt", "c": "x"})).await;
    assert_eq!(app.err(Some(&token), mv, json!({"id": sb, "f": "a/notes.md", "t": "taken.txt"})).await.0, "CONFLICT");
    assert_eq!(app.err(Some(&token), mv, json!({"id": sb, "f": "a", "t": "a/b/inside"})).await.0, "BAD_USER_INPUT");
    assert_eq!(app.err(Some(&token), mv, json!({"id": sb, "f": "ghost", "t": "x"})).await.0, "NOT_FOUND");
    assert_eq!(
        app.err(Some(&token), w, json!({"id": sb, "p": "a", "c": "x"})).await.0,
        "BAD_USER_INPUT",
        "a directory"
    );
    let del = "mutation($id: ID!, $p: String!, $r: Boolean!) { deletePath(sandboxId: $id, path: $p, recursive: $r) }";
    assert_eq!(app.err(Some(&token), del, json!({"id": sb, "p": "a", "r": false})).await.0, "CONFLICT", "not empty");
    assert_eq!(app.ok(&token, del, json!({"id": sb, "p": "a", "r": true})).await["deletePath"], true);
    assert!(!ws.join("a").exists());
    assert_eq!(app.err(Some(&token), del, json!({"id": sb, "p": "", "r": true})).await.0, "BAD_USER_INPUT", "root");
    // The listing sees writes at once (the cache is dropped on write).
    let q = "query($id: ID!) { sandbox(id: $id) { files(recursive: true) { totalCount } } }";
    let n = app.ok(&token, q, json!({"id": sb})).await["sandbox"]["files"]["totalCount"].as_i64().unwrap();
    app.ok(&token, w, json!({"id": sb, "p": "new.txt", "c": "n"})).await;
    assert_eq!(app.ok(&token, q, json!({"id": sb})).await["sandbox"]["files"]["totalCount"], n + 1);

    // Concurrent writers: readers only ever see one writer's whole content.
    let size = 256 * 1024;
    let mut tasks = vec![];
    for i in 0..6u8 {
        let (app_url, tok, sbid) = (app.url(), token.clone(), sb.clone());
        let body = String::from_utf8(vec![b'a' + i; size]).unwrap();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for _ in 0..5 {
                let payload = json!({"query": w, "variables": {"id": sbid, "p": "race.txt", "c": body}});
                let resp: serde_json::Value =
                    client.post(&app_url).bearer_auth(&tok).json(&payload).send().await.unwrap().json().await.unwrap();
                assert!(resp["errors"].is_null(), "{resp}");
            }
        }));
    }
    let reader = {
        let path = ws.join("race.txt");
        tokio::spawn(async move {
            let mut seen = 0;
            for _ in 0..300 {
                if let Ok(data) = std::fs::read(&path) {
                    assert_eq!(data.len(), size, "torn file");
                    assert!(data.iter().all(|b| *b == data[0]), "mixed content");
                    seen += 1;
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            seen
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    assert!(reader.await.unwrap() > 0);
    let leftovers: Vec<_> = std::fs::read_dir(&ws)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left behind");

    // A terminated sandbox is read-only.
    app.services.backend.terminate(&sb.as_str().into()).await.unwrap();
    let found = sandboxql::entity::sandbox::Entity::find_by_id(uuid::Uuid::parse_str(&sb).unwrap());
    let mut row: sandboxql::entity::sandbox::ActiveModel = found.one(&app.services.db).await.unwrap().unwrap().into();
    row.status = sea_orm::Set(sandboxql::entity::enums::SandboxStatus::Terminated);
    sea_orm::ActiveModelTrait::update(row, &app.services.db).await.unwrap();
    assert_eq!(app.err(Some(&token), w, json!({"id": sb, "p": "late.txt", "c": "x"})).await.0, "CONFLICT");
}
both_dbs!(writes_are_atomic_and_confined, writes);
