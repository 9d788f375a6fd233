//! The same flow against Modal itself. Ignored unless run on purpose with credentials:
//! `MODAL_TOKEN_ID=… MODAL_TOKEN_SECRET=… cargo nextest run --run-ignored only modal_live`
//! (`scripts/test.sh` does this when MODAL_TOKEN_ID is set). With ANTHROPIC_API_KEY set
//! it also runs Claude for real; without, it checks create, files, sync and delete.

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
    if anthropic.is_some() {
        let run = app.start_run(&token, &sb, "Reply with the single word: pong").await;
        app.wait_idle(&token, &sb).await;
        let r = app.ok(&token, "query($id: ID!) { run(id: $id) { status error } }", json!({"id": run})).await;
        assert_eq!(r["run"]["status"], "SUCCEEDED", "{r}");
    }
    app.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id) { id } }", json!({"id": sb})).await;
}
