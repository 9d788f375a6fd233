//! What a new user hits first, server side: `serve` says once at start what is missing
//! (the Claude CLI, an upstream key) and what to do; a run without the CLI ends FAILED
//! with one clear message and reason CLAUDE_NOT_FOUND; a request without a token is
//! refused like one with a wrong token (401), introspection excepted; a missing file is
//! named in its NOT_FOUND and leaves the sandbox readable; `cancelRun` takes `runId`.

use serde_json::json;

use crate::helpers::{DbKind, TestApp, process::start_up_log};

#[test]
fn serve_says_once_what_is_missing_and_what_to_do() {
    let log = start_up_log(&["--jail", "never", "--claude-bin", "claude-not-installed-here"]);
    let cli = log.lines().filter(|l| l.contains("CLAUDE_NOT_FOUND")).count();
    assert_eq!(cli, 1, "{log}");
    assert!(log.contains("npm install -g @anthropic-ai/claude-code"), "{log}");
    assert_eq!(log.lines().filter(|l| l.contains("ANTHROPIC_API_KEY")).count(), 1, "{log}");
    let found = start_up_log(&["--jail", "never", "--claude-bin", crate::helpers::standin_claude().as_str()]);
    assert!(!found.contains("CLAUDE_NOT_FOUND"), "{found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_the_cli_fails_with_one_clear_reason() {
    let app =
        TestApp::spawn_with(DbKind::Sqlite, |c| c.runs.claude_bin = "claude-not-installed-here".into(), None).await;
    let (_, token) = app.new_user("newcomer").await;
    let sb = app.create_sandbox(&token, "first").await;
    let run = app.start_run(&token, &sb, "hello").await;
    app.wait_idle(&token, &sb).await;
    let q = "query($id: ID!) { run(id: $id) { status error events { __typename ... on RunFinished { status error reason } } } }";
    let data = app.ok(&token, q, json!({"id": run})).await;
    assert_eq!(data["run"]["status"], "FAILED");
    let kinds: Vec<&str> =
        data["run"]["events"].as_array().unwrap().iter().map(|e| e["__typename"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["RunStarted", "RunFinished"], "no stderr fragments: {data}");
    let finished = &data["run"]["events"][1];
    assert_eq!(finished["reason"], "CLAUDE_NOT_FOUND");
    let error = finished["error"].as_str().unwrap();
    assert!(!error.contains('\n') && error.contains("npm install -g @anthropic-ai/claude-code"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_credentials_are_refused_like_wrong_ones_except_introspection() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    for token in [None, Some("sbq_wrong")] {
        let (status, body) = app.post(token, "{ viewer { id } }", json!({})).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        assert!(body.get("data").is_none() || body["data"].is_null(), "{body}");
    }
    let (status, body) = app.post(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!((status, &body["data"]["__schema"]["queryType"]["name"]), (200, &json!("Query")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_is_named_and_the_sandbox_stays_readable() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("reader").await;
    let sb = app.create_sandbox(&token, "files").await;
    let q = "query($id: ID!) { sandbox(id: $id) { name fileContent(path: \"src/nope.rs\") { content } } }";
    let (_, body) = app.post(Some(&token), q, json!({"id": sb})).await;
    assert_eq!(body["data"]["sandbox"]["name"], "files", "the sandbox is still there: {body}");
    assert!(body["data"]["sandbox"]["fileContent"].is_null());
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(body["errors"][0]["message"], "file `src/nope.rs` not found");
    let (_, body) = app.post(Some(&token), "{ viewer { id ", json!({})).await;
    let msg = body["errors"][0]["message"].as_str().unwrap();
    assert!(msg.starts_with("syntax error at line 1, column") && !msg.contains("-->"), "{msg}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "SYNTAX_ERROR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_run_names_the_run_by_run_id() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("canceller").await;
    let sb = app.create_sandbox(&token, "c").await;
    let run = app.start_run(&token, &sb, "[hang]").await;
    let done = app.ok(&token, "mutation($r: ID!) { cancelRun(runId: $r) { status } }", json!({"r": run})).await;
    assert_eq!(done["cancelRun"]["status"], "CANCELLED");
    let (code, _) = app.err(Some(&token), "mutation { cancelRun { status } }", json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");
}
