//! The playground's git pane in Chromium (tests/browser/git.mjs): the branch of a sandbox
//! cloned through the broker, a changed file marked in the tree and listed with its
//! diff, Commit and Push from the page landing on the real git server.

use super::{app_for, cloned, server::git_server};
use crate::helpers::{node, tls::TestCa};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_marks_changes_shows_the_diff_and_commits_and_pushes() {
    let ca = TestCa::new();
    let server = git_server(&ca);
    let app = app_for(&ca, &[server.port]).await;
    let (_, token) = app.new_user("gia").await;
    let sb = cloned(&app, &token, &server).await;
    app.write_file(&token, &sb, "src/app.txt", "line one\nchanged in the browser test\n").await;
    let before = server.rev("main");
    let envs =
        vec![("PLAYGROUND_URL", format!("http://{}", app.addr)), ("PLAYGROUND_TOKEN", token), ("SANDBOX_ID", sb)];
    node::run("browser/git.mjs", envs, "git browser test passed").await;
    assert_ne!(server.rev("main"), before, "the playground's push landed");
    assert_eq!(server.subject("main"), "Committed from the playground");
}
