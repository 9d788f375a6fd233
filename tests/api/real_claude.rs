//! The real Claude Code CLI (npm @anthropic-ai/claude-code, installed by
//! scripts/install-test-deps.sh) end to end against the fake Anthropic API.

use std::path::PathBuf;

use serde_json::json;

use crate::helpers::{
    DbKind, TestApp, fake_anthropic,
    runs::{claude_stream_query, collect, first_of},
    ws::WsClient,
};

/// Where the test finds the CLI: SANDBOXQL_TEST_CLAUDE, or the install script's location.
pub(crate) fn claude_cli() -> PathBuf {
    let path = std::env::var("SANDBOXQL_TEST_CLAUDE")
        .unwrap_or_else(|_| "/var/tmp/sandboxql-tools/claude/node_modules/.bin/claude".into());
    let path = PathBuf::from(path);
    assert!(
        path.exists(),
        "the Claude Code CLI is not installed at {}; run scripts/install-test-deps.sh",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_claude_cli_calls_bash_streams_and_resumes() {
    let fake = fake_anthropic::start().await;
    let cli = claude_cli();
    let base = format!("http://{}", fake.addr);
    let app = TestApp::spawn_with(
        DbKind::Sqlite,
        |c| {
            c.runs.claude_bin = cli.display().to_string();
            c.gateway.anthropic_base_url = base.clone();
            c.gateway.anthropic_api_key = Some(sandboxql::config::Secret("sk-ant-test-key".into()));
        },
        None,
    )
    .await;
    let (_, token) = app.new_user("wes").await;
    let sb = app.create_sandbox(&token, "real").await;

    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    ws.subscribe("1", &claude_stream_query(), json!({"s": sb, "p": "Make a file with Bash and show it."})).await;
    let events = collect(&mut ws, "1").await;
    let kinds: Vec<&str> = events.iter().map(|e| e["__typename"].as_str().unwrap()).collect();
    let pos = |k: &str| kinds.iter().position(|x| *x == k).unwrap_or_else(|| panic!("{k} missing: {kinds:?}"));
    assert!(pos("SessionStarted") < pos("AssistantText"));
    assert!(pos("AssistantText") < pos("ToolUse") && pos("ToolUse") < pos("ToolResult"));
    assert_eq!(kinds.last(), Some(&"RunFinished"));
    // Every line the real CLI printed is typed: no RawEvent, and the live stream in order.
    assert!(!kinds.contains(&"RawEvent"), "{kinds:?}");
    assert!(pos("StatusChanged") < pos("MessageStarted"));
    assert!(pos("MessageStarted") < pos("TextDelta") && pos("TextDelta") < pos("AssistantText"));
    let tool_start = kinds
        .iter()
        .zip(&events)
        .position(|(k, e)| *k == "ContentBlockStarted" && e["blockType"] == "tool_use")
        .unwrap_or_else(|| panic!("no tool_use block start: {kinds:?}"));
    assert_eq!(events[tool_start]["name"], "Bash", "the tool is named as its block starts");
    assert!(tool_start < pos("ToolInputDelta") && pos("ToolInputDelta") < pos("ToolUse"));
    assert!(pos("MessageDelta") < pos("MessageStopped") && pos("MessageStopped") < pos("ToolResult"));
    let tool = &events[pos("ToolUse")];
    assert_eq!(tool["name"], "Bash");
    assert_eq!(tool["input"]["command"], fake_anthropic::BASH_COMMAND);
    let result = &events[pos("ToolResult")];
    let out = result["content"].as_str().unwrap();
    assert!(out.contains("hello-from-bash") && out.contains("/mnt/workspace"), "real Bash output: {out}");
    assert_eq!(result["isError"], false);
    let fin = events.last().unwrap();
    assert_eq!(fin["status"], "SUCCEEDED", "{fin}");
    assert_eq!(
        std::fs::read_to_string(app.sandbox_dir(&sb).join("disk/workspace/made-by-claude.txt")).unwrap(),
        "hello-from-bash\n"
    );
    let session = first_of(&events, "SessionStarted")["sessionId"].as_str().unwrap().to_string();
    assert!(events.iter().any(|e| e["__typename"] == "TextDelta"), "partial messages stream live");
    assert!(fake.requests.lock().unwrap().iter().all(|r| r["model"].is_string()));

    // The second run resumes the same conversation: same session, history sent again.
    ws.subscribe("2", &claude_stream_query(), json!({"s": sb, "p": "And again?"})).await;
    let events = collect(&mut ws, "2").await;
    assert_eq!(first_of(&events, "SessionStarted")["sessionId"], session);
    assert_eq!(events.last().unwrap()["status"], "SUCCEEDED");
    let requests = fake.requests.lock().unwrap();
    let last = requests.iter().rev().find(|r| r["tools"].is_array()).unwrap();
    let history = serde_json::to_string(&last["messages"]).unwrap();
    assert!(history.contains("Make a file with Bash"), "resumed request carries the first turn");
}
