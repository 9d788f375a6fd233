//! The playground's timeline of turns in Chromium (tests/browser/timeline.mjs): the
//! checkpoints listed with their changes, Browse, Rewind and Fork from the page, checked
//! against the server.

use serde_json::json;

use crate::helpers::{DbKind, TestApp, node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_lists_turns_and_browses_rewinds_and_forks_them() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("tim").await;
    let sb = app.create_sandbox(&token, "timeline").await;
    let take = "mutation($s: ID!) { checkpointSandbox(id: $s) { id } }";
    app.write_file(&token, &sb, "a.txt", "first\n").await;
    app.ok(&token, take, json!({"s": sb})).await;
    app.write_file(&token, &sb, "b.txt", "second\n").await;
    app.ok(&token, take, json!({"s": sb})).await;
    let envs = vec![
        ("PLAYGROUND_URL", format!("http://{}", app.addr)),
        ("PLAYGROUND_TOKEN", token.clone()),
        ("SANDBOX_ID", sb.clone()),
    ];
    let out = node::run("browser/timeline.mjs", envs, "timeline browser test passed").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    assert!(ws.join("a.txt").exists() && !ws.join("b.txt").exists(), "the page's rewind landed");
    let fork = out.lines().find_map(|l| l.strip_prefix("fork=")).expect("the fork's id").trim().to_string();
    let fws = app.sandbox_dir(&fork).join("disk/workspace");
    assert_eq!(std::fs::read_to_string(fws.join("b.txt")).unwrap(), "second\n", "the fork has the newer files");
}
