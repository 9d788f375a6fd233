//! Nothing reads or writes outside the workspace, whatever the path; other accounts get
//! NOT_FOUND for every file operation.

use std::os::unix::fs::symlink;

use serde_json::json;

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp},
};

const READ: &str = "query($id: ID!, $p: String!) { sandbox(id: $id) { fileContent(path: $p) { content } } }";
const LIST: &str = "query($id: ID!, $p: String!) { sandbox(id: $id) { files(path: $p) { totalCount } } }";
const STAT: &str = "query($id: ID!, $p: String!) { sandbox(id: $id) { file(path: $p) { size } } }";
const WRITE: &str =
    "mutation($id: ID!, $p: String!) { writeFile(sandboxId: $id, path: $p, content: \"pwned\") { path } }";
const MKDIR: &str = "mutation($id: ID!, $p: String!) { makeDirectory(sandboxId: $id, path: $p) { path } }";
const DELETE: &str = "mutation($id: ID!, $p: String!) { deletePath(sandboxId: $id, path: $p, recursive: true) }";
const MOVE_TO: &str =
    "mutation($id: ID!, $p: String!) { movePath(sandboxId: $id, from: \"inside.txt\", to: $p) { path } }";

fn snapshot_outside(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    for e in walkdir(dir) {
        let data = std::fs::read(&e).unwrap_or_default();
        out.push((e.display().to_string(), data));
    }
    out.sort();
    out
}

fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        out.push(p.clone());
        if p.is_dir() && !p.is_symlink() {
            out.extend(walkdir(&p));
        }
    }
    out
}

async fn traversal(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("yuri").await;
    let sb = app.create_sandbox(&token, "jail").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    // A secret beside the workspace (in the sandbox's own directory) and one far away.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
    std::fs::create_dir(outside.path().join("dir")).unwrap();
    std::fs::write(ws.join("inside.txt"), "fine").unwrap();
    std::fs::create_dir(ws.join("sub")).unwrap();
    symlink(outside.path(), ws.join("escape")).unwrap();
    symlink(outside.path().join("secret.txt"), ws.join("sub/secret-link")).unwrap();
    symlink("../..", ws.join("sub/up")).unwrap();
    symlink("loop-b", ws.join("loop-a")).unwrap();
    symlink("loop-a", ws.join("loop-b")).unwrap();
    symlink("/etc/passwd", ws.join("etc-passwd")).unwrap();
    let sandbox_dir_before = snapshot_outside(&app.sandbox_dir(&sb).join("disk/home"));
    let outside_before = snapshot_outside(outside.path());

    let long = "a/".repeat(2100);
    let long_name = "n".repeat(300);
    let corpus: Vec<String> = vec![
        "../x",
        "..",
        "../../etc/passwd",
        "a/../../x",
        "sub/../../x",
        "./../x",
        "sub/./../../x",
        "..%2f..%2fetc%2fpasswd",
        "/etc/passwd",
        "/",
        "//etc/passwd",
        "\\etc\\passwd",
        "..\\..\\windows",
        "sub\\..\\..\\x",
        "a\0b",
        "\0",
        "escape",
        "escape/secret.txt",
        "escape/dir/new.txt",
        "sub/secret-link",
        "sub/up",
        "sub/up/x",
        "sub/up/../x",
        "loop-a",
        "loop-a/x",
        "etc-passwd",
        "etc-passwd/x",
        &long,
        &long_name,
        "ünïcödé/../../x",
        "%2e%2e/x",
        "sub/up/sub/up/secret",
        "escape/../escape/secret.txt",
        "\u{202e}../x",
        "....//x/..//..//y",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert!(corpus.len() >= 30);
    for p in &corpus {
        for (op, q) in [
            ("read", READ),
            ("list", LIST),
            ("stat", STAT),
            ("write", WRITE),
            ("mkdir", MKDIR),
            ("delete", DELETE),
            ("move", MOVE_TO),
        ] {
            let (_, body) = app.post(Some(&token), q, json!({"id": sb, "p": p})).await;
            let text = body.to_string();
            assert!(!text.contains("top secret") && !text.contains("root:x:0"), "{op} {p:?} leaked: {text}");
            if let Some(err) = body["errors"].get(0) {
                let code = err["extensions"]["code"].as_str().unwrap_or("");
                assert!(["BAD_USER_INPUT", "NOT_FOUND", "CONFLICT"].contains(&code), "{op} {p:?}: {err}");
                assert!(!err["message"].as_str().unwrap_or("").is_empty());
            }
        }
    }
    // Nothing outside changed; the workspace's own links are still there.
    assert_eq!(snapshot_outside(outside.path()), outside_before, "something outside the workspace changed");
    assert_eq!(snapshot_outside(&app.sandbox_dir(&sb).join("disk/home")), sandbox_dir_before);
    assert!(std::fs::symlink_metadata(ws.join("escape")).is_ok() || !ws.join("escape").exists());
    assert!(!std::path::Path::new("/x").exists() && !std::path::Path::new("/etc/passwd.sbq").exists());

    // Specific answers for the clear cases (the corpus deleted some links: they are
    // inside the workspace, so deleting them is allowed; make them again).
    for (target, link) in
        [(outside.path().to_path_buf(), "escape"), ("loop-b".into(), "loop-a"), ("loop-a".into(), "loop-b")]
    {
        let _ = std::fs::remove_file(ws.join(link)).or_else(|_| std::fs::remove_dir_all(ws.join(link)));
        symlink(target, ws.join(link)).unwrap();
    }
    let code = |q: &'static str, p: &'static str| {
        let app = &app;
        let token = &token;
        let sb = &sb;
        async move { app.err(Some(token), q, json!({"id": sb, "p": p})).await.0 }
    };
    assert_eq!(code(READ, "../x").await, "BAD_USER_INPUT");
    assert_eq!(code(READ, "/etc/passwd").await, "BAD_USER_INPUT");
    assert_eq!(code(READ, "a\0b").await, "BAD_USER_INPUT");
    assert_eq!(code(READ, "..\\x").await, "BAD_USER_INPUT");
    assert_eq!(code(READ, "escape/secret.txt").await, "BAD_USER_INPUT");
    assert_eq!(code(READ, "loop-a").await, "BAD_USER_INPUT");
    assert_eq!(code(WRITE, "escape/new.txt").await, "BAD_USER_INPUT");
    assert_eq!(code(READ, "..%2fx").await, "NOT_FOUND");
    // Deleting a link removes the link, not its target.
    app.ok(&token, DELETE, json!({"id": sb, "p": "etc-passwd"})).await;
    assert!(std::path::Path::new("/etc/passwd").exists());
}
both_dbs!(traversal_corpus_never_leaves_the_workspace, traversal);

async fn isolation(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, a) = app.new_user("zoe").await;
    let (_, b) = app.new_user("bob").await;
    let sb = app.create_sandbox(&a, "private").await;
    std::fs::write(app.sandbox_dir(&sb).join("disk/workspace/diary.txt"), "dear diary").unwrap();
    let fields = "files { totalCount } file(path: \"diary.txt\") { size } fileContent(path: \"diary.txt\") { content } fileTree { name }";
    let got = app.ok(&b, &format!("query($id: ID!) {{ sandbox(id: $id) {{ {fields} }} }}"), json!({"id": sb})).await;
    assert_eq!(got, json!({"sandbox": null}), "B sees nothing, like for a random id");
    for q in [WRITE, MKDIR, DELETE, MOVE_TO] {
        let (code, msg) = app.err(Some(&b), q, json!({"id": sb, "p": "diary.txt"})).await;
        assert_eq!((code.as_str(), msg.as_str()), ("NOT_FOUND", "sandbox not found"));
    }
    assert_eq!(std::fs::read_to_string(app.sandbox_dir(&sb).join("disk/workspace/diary.txt")).unwrap(), "dear diary");
}
both_dbs!(other_accounts_get_not_found_for_files, isolation);
