//! The same flow against Modal itself. Ignored unless run on purpose with credentials:
//! `MODAL_TOKEN_ID=… MODAL_TOKEN_SECRET=… cargo nextest run --run-ignored only modal_live`
//! (`scripts/test.sh` does this when MODAL_TOKEN_ID is set). It checks create, files,
//! sync, sleep (its Modal sandbox ended from outside with Modal's official client, as
//! an idle timeout would), reads at rest, wake, and delete; with ANTHROPIC_API_KEY set it
//! also runs Claude for real, before and after the wake (the session resumes).

use serde_json::json;

use crate::helpers::{DbKind, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "talks to Modal: needs MODAL_TOKEN_ID and MODAL_TOKEN_SECRET"]
async fn modal_live_flow() {
    let (Ok(id), Ok(secret)) = (std::env::var("MODAL_TOKEN_ID"), std::env::var("MODAL_TOKEN_SECRET")) else {
        panic!("set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET to run the live Modal test");
    };
    let anthropic = std::env::var("ANTHROPIC_API_KEY").ok();
    let key = anthropic.clone();
    let app = TestApp::spawn_with(
        DbKind::Sqlite,
        move |c| {
            c.backend = sandboxql::config::BackendKind::Modal;
            c.modal.modal_token_id = Some(sandboxql::config::Secret(id));
            c.modal.modal_token_secret = Some(sandboxql::config::Secret(secret));
            c.modal.modal_server_url =
                std::env::var("MODAL_SERVER_URL").unwrap_or_else(|_| "https://api.modal.com".into());
            c.modal.modal_app_name = "sandboxql-live-test".into();
            c.runs.claude_bin = "claude".into();
            c.gateway.anthropic_api_key = key.map(sandboxql::config::Secret);
            c.gateway.anthropic_base_url = "https://api.anthropic.com".into();
            // Modal's sandboxes must reach this machine's gateway: give its public URL.
            c.gateway.gateway_public_url =
                Some(std::env::var("SANDBOXQL_GATEWAY_PUBLIC_URL").unwrap_or_else(|_| "http://127.0.0.1:9".into()));
        },
        None,
    )
    .await;
    let (_, token) = app.new_user("live").await;
    let sb = app.create_sandbox(&token, "live").await;
    let w =
        "mutation($id: ID!, $p: String!, $c: String!) { writeFile(sandboxId: $id, path: $p, content: $c) { size } }";
    app.ok(&token, w, json!({"id": sb, "p": "hello/world.txt", "c": "from sandboxql\n"})).await;
    let q = "query($id: ID!) { sandbox(id: $id) { files(recursive: true) { entries { path } } fileContent(path: \"hello/world.txt\") { content } } }";
    let data = app.ok(&token, q, json!({"id": sb})).await;
    assert_eq!(data["sandbox"]["fileContent"]["content"], "from sandboxql\n");
    let sync = "mutation($id: ID!) { syncSandbox(id: $id) { snapshot { fileCount } } }";
    assert_eq!(app.ok(&token, sync, json!({"id": sb})).await["syncSandbox"]["snapshot"]["fileCount"], 1);
    let session = match anthropic {
        Some(_) => Some(pong(&app, &token, &sb).await),
        None => None,
    };

    // Sleep: its Modal sandbox ends from outside, as an idle timeout would end it.
    let name = format!("sandboxql-{}", uuid::Uuid::parse_str(&sb).unwrap().simple());
    let ended = std::process::Command::new("/var/tmp/sandboxql-tools/modal/bin/python")
        .args(["-c", "import modal, sys; modal.Sandbox.from_name(sys.argv[1], sys.argv[2]).terminate()"])
        .args(["sandboxql-live-test", &name])
        .status()
        .expect("Modal's official client (scripts/install-test-deps.sh)");
    assert!(ended.success(), "terminating {name} with the official client");
    // A read notices, sleeps it, and answers from the volume without waking it.
    let data = app.ok(&token, q, json!({"id": sb})).await;
    assert_eq!(data["sandbox"]["fileContent"]["content"], "from sandboxql\n", "read at rest");
    let status = "query($id: ID!) { sandbox(id: $id) { status } }";
    assert_eq!(app.ok(&token, status, json!({"id": sb})).await["sandbox"]["status"], "SLEEPING");
    // A write wakes it on the same volumes.
    app.ok(&token, w, json!({"id": sb, "p": "hello/again.txt", "c": "awake\n"})).await;
    assert_eq!(app.ok(&token, status, json!({"id": sb})).await["sandbox"]["status"], "RUNNING");
    let data = app.ok(&token, q, json!({"id": sb})).await;
    assert_eq!(data["sandbox"]["files"]["entries"].as_array().unwrap().len(), 3, "{data}");
    if let Some(session) = session {
        assert_eq!(pong(&app, &token, &sb).await, session, "the session resumed after the wake");
    }
    app.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id) { id } }", json!({"id": sb})).await;
}

/// A real Claude run answering "pong"; its session id.
async fn pong(app: &TestApp, token: &str, sb: &str) -> serde_json::Value {
    let run = app.start_run(token, sb, "Reply with the single word: pong").await;
    app.wait_idle(token, sb).await;
    let q = "query($id: ID!) { run(id: $id) { status error claudeSessionId } }";
    let r = app.ok(token, q, json!({"id": run})).await;
    assert_eq!(r["run"]["status"], "SUCCEEDED", "{r}");
    r["run"]["claudeSessionId"].clone()
}
