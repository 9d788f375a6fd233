//! The real Claude Code CLI, jailed, against the fake Anthropic API: it edits a file of a
//! cloned repository with its Bash tool, the API shows the change (status, diff), commits
//! and pushes it; then Claude pushes a commit of its own with `git push`. A terminal in
//! the same sandbox finds the token nowhere (environment, every process's environ, git
//! configuration).

use serde_json::json;

use super::{app_with, cloned, git_of, server::GIT_TOKEN, server::git_server};
use crate::{
    helpers::{
        fake_anthropic,
        runs::{claude_stream_query, collect},
        tls::TestCa,
        ws::WsClient,
    },
    real_claude::claude_cli,
    terminals::{OPEN, Seen, attach, read_until, type_in},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_cli_edits_and_pushes_through_the_broker_and_a_terminal_finds_no_token() {
    let fake = fake_anthropic::start().await;
    let (cli, base) = (claude_cli(), format!("http://{}", fake.addr));
    let ca = TestCa::new();
    let server = git_server(&ca);
    let app = app_with(&ca, &[server.port], move |c| {
        c.runs.claude_bin = cli.display().to_string();
        c.gateway.anthropic_base_url = base;
        c.gateway.anthropic_api_key = Some(sandboxql::config::Secret("sk-ant-test-key".into()));
    })
    .await;
    let (_, ann) = app.new_user("ann").await;
    let sb = cloned(&app, &ann, &server).await;

    // Claude edits a tracked file with its Bash tool.
    let mut ws = WsClient::connect(app.addr, Some(&ann)).await.unwrap();
    let edit = "Fix line two. [bash: sed -i 's/line two/line two, fixed by Claude/' src/app.txt :bash]";
    ws.subscribe("1", &claude_stream_query(), json!({"s": sb, "p": edit})).await;
    let events = collect(&mut ws, "1").await;
    assert_eq!(events.last().unwrap()["status"], "SUCCEEDED", "{events:?}");
    let git = git_of(&app, &ann, &sb).await;
    assert_eq!(git["status"], json!([{"path": "src/app.txt", "state": "MODIFIED", "staged": false}]), "{git}");
    let q = "query($s: ID!) { sandbox(id: $s) { git { diff(path: \"src/app.txt\") { text } } } }";
    let diff = app.ok(&ann, q, json!({"s": sb})).await["sandbox"]["git"]["diff"]["text"].as_str().unwrap().to_string();
    assert!(diff.contains("+line two, fixed by Claude"), "{diff}");
    let hash = app
        .ok(&ann, "mutation($s: ID!) { gitCommit(sandboxId: $s, message: \"Claude's fix\") }", json!({"s": sb}))
        .await["gitCommit"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(&ann, "mutation($s: ID!) { gitPush(sandboxId: $s) { id } }", json!({"s": sb})).await;
    assert_eq!(server.rev("main"), hash);

    // Claude pushes a commit of its own.
    let push = "Push it. [bash: echo ok >> README.md && git -c user.name=Claude -c user.email=claude@example.com \
                commit -qam 'Claude commits' && git push -q origin HEAD:main && git log -1 --format=%s :bash]";
    ws.subscribe("2", &claude_stream_query(), json!({"s": sb, "p": push})).await;
    let events = collect(&mut ws, "2").await;
    let result = events.iter().find(|e| e["__typename"] == "ToolResult").expect("a tool result");
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(server.subject("main"), "Claude commits", "Claude's own push landed");
    assert!(!serde_json::to_string(&events).unwrap().contains(GIT_TOKEN));

    // A terminal looks everywhere a process could.
    let t = app.ok(&ann, OPEN, json!({"s": sb, "c": ["bash", "--norc", "-i"]})).await["openTerminal"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut term = attach(&app, &t, &ann, 0).await;
    let mut seen = Seen::default();
    read_until(&mut term, &mut seen, |s| !s.control.is_empty()).await;
    type_in(&mut term, "env; cat /proc/[0-9]*/environ | tr '\\0' '\\n'; git config --list --show-origin; cat ~/.gitconfig .git/config; echo DONE-$((40+2))\n").await;
    read_until(&mut term, &mut seen, |s| s.text().contains("DONE-42")).await;
    let text = seen.text();
    assert!(text.contains("DONE-42") && text.contains("GIT_CONFIG_KEY_0="), "{text}");
    assert!(!text.contains(GIT_TOKEN), "the token leaked into a terminal: {text}");
}
