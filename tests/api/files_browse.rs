//! Browsing a workspace: every field as `ls`, `stat` and `file --mime-type` say it.

use std::{os::unix::fs::symlink, path::Path, process::Command};

use serde_json::{Value, json};

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp},
};

const ENTRY: &str = "path name size modifiedAt isDirectory isSymlink symlinkTarget mode mimeType";

/// Pseudo-random bytes (an LCG) that no magic number matches.
pub fn noise(n: usize) -> Vec<u8> {
    let mut x: u32 = 12345;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1103515245).wrapping_add(12345) & 0x7fff_ffff;
            (x >> 16) as u8
        })
        .collect()
}

fn make_workspace(ws: &Path, outside: &Path) {
    std::fs::create_dir_all(ws.join("src/nested/deeper")).unwrap();
    std::fs::create_dir_all(ws.join("empty")).unwrap();
    std::fs::write(ws.join("README.md"), "# Héllo wörld\nUTF-8 text ✓\n").unwrap();
    std::fs::write(ws.join(".hidden"), "secret-ish\n").unwrap();
    std::fs::write(ws.join("src/main.rs"), "notes about the source\n").unwrap();
    std::fs::write(ws.join("src/nested/deeper/data.bin"), noise(3000)).unwrap();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";
    std::fs::write(ws.join("pixel.png"), png).unwrap();
    std::fs::write(ws.join("empty.txt"), "").unwrap();
    std::fs::write(outside.join("passwd"), "root:x:0:0\n").unwrap();
    symlink("src/main.rs", ws.join("link-inside")).unwrap();
    symlink(outside.join("passwd"), ws.join("link-outside")).unwrap();
}

fn stat(path: &Path) -> (u64, i64, String) {
    let out = Command::new("stat").args(["-c", "%s %Y %a", "--"]).arg(path).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut it = text.split_whitespace();
    (it.next().unwrap().parse().unwrap(), it.next().unwrap().parse().unwrap(), it.next().unwrap().to_string())
}

fn file_mime(path: &Path) -> String {
    let out =
        Command::new("file").args(["--mime-type", "-b", "-h", "--"]).arg(path).output().expect("`file` is installed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn browse(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("xena").await;
    let sb = app.create_sandbox(&token, "files").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    let outside = tempfile::tempdir().unwrap();
    make_workspace(&ws, outside.path());

    let q = format!(
        "query($id: ID!) {{ sandbox(id: $id) {{ files(recursive: true) {{ totalCount source entries {{ {ENTRY} }} }} }} }}"
    );
    let data = app.ok(&token, &q, json!({"id": sb})).await;
    let list = &data["sandbox"]["files"];
    let entries = list["entries"].as_array().unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "empty",
            "src",
            "src/nested",
            "src/nested/deeper",
            "src/nested/deeper/data.bin",
            "src/main.rs",
            ".hidden",
            "README.md",
            "empty.txt",
            "link-inside",
            "link-outside",
            "pixel.png"
        ],
        "directories first, then by name, pre-order; hidden files listed"
    );
    assert_eq!(list["totalCount"], 12);
    assert_eq!(list["source"], "WORKSPACE");
    for e in entries {
        let path = ws.join(e["path"].as_str().unwrap());
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(e["isDirectory"], meta.is_dir(), "{e}");
        assert_eq!(e["isSymlink"], meta.file_type().is_symlink(), "{e}");
        assert_eq!(e["name"], path.file_name().unwrap().to_str().unwrap());
        let (size, mtime, mode) =
            if meta.file_type().is_symlink() { (meta.len(), 0, String::new()) } else { stat(&path) };
        assert_eq!(e["size"], size, "size of {e}");
        if !meta.file_type().is_symlink() {
            let at = chrono::DateTime::parse_from_rfc3339(e["modifiedAt"].as_str().unwrap()).unwrap();
            assert_eq!(at.timestamp(), mtime, "mtime of {e}");
            assert_eq!(format!("{:o}", e["mode"].as_u64().unwrap()), mode, "mode of {e}");
        }
        assert_eq!(e["mimeType"], file_mime(&path), "mime of {e}");
    }
    let by_path = |p: &str| entries.iter().find(|e| e["path"] == p).unwrap().clone();
    assert_eq!(by_path("link-inside")["symlinkTarget"], "src/main.rs");
    assert_eq!(by_path("link-outside")["symlinkTarget"], outside.path().join("passwd").display().to_string());

    // Direct children only, and one file.
    let q = "query($id: ID!) { sandbox(id: $id) { files(path: \"src\") { totalCount entries { path } } readme: file(path: \"README.md\") { size mimeType } none: file(path: \"nope.txt\") { size } } }";
    let data = app.ok(&token, q, json!({"id": sb})).await;
    assert_eq!(
        data["sandbox"]["files"],
        json!({"totalCount": 2, "entries": [{"path": "src/nested"}, {"path": "src/main.rs"}]})
    );
    assert_eq!(data["sandbox"]["readme"]["mimeType"], "text/plain");
    assert!(data["sandbox"]["none"].is_null(), "missing file is null");

    // Content: text as UTF-8, binary as base64, the inner symlink followed, the outer refused.
    let content = "query($id: ID!, $p: String!) { sandbox(id: $id) { fileContent(path: $p) { path size mimeType encoding content truncated } } }";
    let text = app.ok(&token, content, json!({"id": sb, "p": "README.md"})).await;
    assert_eq!(text["sandbox"]["fileContent"]["encoding"], "UTF8");
    assert_eq!(text["sandbox"]["fileContent"]["content"], "# Héllo wörld\nUTF-8 text ✓\n");
    let bin = app.ok(&token, content, json!({"id": sb, "p": "src/nested/deeper/data.bin"})).await;
    let bin = &bin["sandbox"]["fileContent"];
    assert_eq!(bin["encoding"], "BASE64");
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD.decode(bin["content"].as_str().unwrap()).unwrap();
    assert_eq!(decoded, std::fs::read(ws.join("src/nested/deeper/data.bin")).unwrap());
    assert_eq!(bin["mimeType"], "application/octet-stream");
    let linked = app.ok(&token, content, json!({"id": sb, "p": "link-inside"})).await;
    assert_eq!(linked["sandbox"]["fileContent"]["content"], "notes about the source\n");
    let (code, msg) = app.err(Some(&token), content, json!({"id": sb, "p": "link-outside"})).await;
    assert_eq!(code, "BAD_USER_INPUT", "{msg}");
    assert!(msg.contains("outside"), "{msg}");
    let (code, _) = app.err(Some(&token), content, json!({"id": sb, "p": "missing.txt"})).await;
    assert_eq!(code, "NOT_FOUND");
    let (code, _) = app
        .err(
            Some(&token),
            "query($id: ID!) { sandbox(id: $id) { files(path: \"nope\") { totalCount } } }",
            json!({"id": sb}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");

    // Tree: nested, cut at depth, marked.
    let q = "query($id: ID!) { sandbox(id: $id) { fileTree(depth: 2) { path isDirectory truncated children { name isDirectory truncated children { name truncated children { name } } } } } }";
    let tree = app.ok(&token, q, json!({"id": sb})).await["sandbox"]["fileTree"].clone();
    assert_eq!(tree["path"], "");
    assert_eq!(tree["truncated"], true, "src/nested/deeper is below depth 2");
    let src = tree["children"].as_array().unwrap().iter().find(|c| c["name"] == "src").unwrap();
    let nested = src["children"].as_array().unwrap().iter().find(|c| c["name"] == "nested").unwrap();
    assert_eq!(nested["truncated"], true);
    assert_eq!(nested["children"], json!([]));
    let empty = tree["children"].as_array().unwrap().iter().find(|c| c["name"] == "empty").unwrap();
    assert_eq!((empty["truncated"].clone(), empty["children"].clone()), (json!(false), json!([])));
    let names: Vec<Value> = tree["children"].as_array().unwrap().iter().map(|c| c["name"].clone()).collect();
    assert_eq!(names.len(), 8);

    // A terminated sandbox stays browsable.
    app.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id) { id } }", json!({"id": sb})).await;
    let sb2 = app.create_sandbox(&token, "second").await;
    std::fs::write(app.sandbox_dir(&sb2).join("disk/workspace/a.txt"), "a").unwrap();
    app.services.backend.terminate(&uuid::Uuid::parse_str(&sb2).unwrap().to_string().into()).await.unwrap();
    let data =
        app.ok(&token, "query($id: ID!) { sandbox(id: $id) { files { totalCount } } }", json!({"id": sb2})).await;
    assert_eq!(data["sandbox"]["files"]["totalCount"], 1);
}
both_dbs!(listing_matches_ls_stat_and_file, browse);
