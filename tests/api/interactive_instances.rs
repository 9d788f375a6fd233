//! An interactive ASK run over two real server processes on one Postgres: the run
//! executes on instance A while its follower, the permission answer, a follow-up message
//! and the end all go through instance B (which wakes A over Postgres NOTIFY; A's own poll
//! would find them otherwise). The real Claude Code CLI, jailed, against the fake API.

use serde_json::json;

use crate::{
    helpers::{
        db, fake_anthropic,
        process::serve,
        remote::{create, gql},
        runs::EVENT_FIELDS,
        ws::WsClient,
    },
    interactive::{ANSWER, START, until},
    real_claude::claude_cli,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_and_messages_sent_to_another_instance_reach_the_run() {
    let fake = fake_anthropic::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = db::fresh_postgres().await;
    let cli = claude_cli().display().to_string();
    let base = format!("http://{}", fake.addr);
    let node = |id: &str| {
        let envs = [
            ("DATABASE_URL", db_url.as_str()),
            ("CLAUDE_BIN", cli.as_str()),
            ("ANTHROPIC_BASE_URL", base.as_str()),
            ("ANTHROPIC_API_KEY", "sk-ant-test-key"),
            ("SANDBOXQL_INSTANCE_ID", id),
        ];
        serve(dir.path(), &[], &envs)
    };
    let a = node("instance-a");
    let token = a.token.clone().unwrap();
    let b = node("instance-b");
    let sb = create(&a.addr, &token).await;
    let vars = json!({"s": sb, "p": "Go [bash: echo via-b > via-b.txt :bash]", "m": "ASK", "i": true});
    let started = gql(&a.addr, &token, START, vars).await;
    let run = started["data"]["startRun"]["id"].as_str().unwrap_or_else(|| panic!("{started}")).to_string();

    let mut ws = WsClient::connect(b.socket(), Some(&token)).await.unwrap();
    let q = format!("subscription($r: ID!) {{ runEvents(runId: $r) {{ {EVENT_FIELDS} }} }}");
    ws.subscribe("e", &q, json!({"r": run})).await;
    let req = until(&mut ws, "PermissionRequested").await.pop().unwrap();
    let answered = gql(&b.addr, &token, ANSWER, json!({"r": run, "q": req["requestId"], "a": true})).await;
    assert!(answered["errors"].is_null(), "{answered}");
    let turn = until(&mut ws, "TurnFinished").await;
    let result = turn.iter().find(|e| e["__typename"] == "ToolResult").expect("the tool ran");
    assert_eq!(result["isError"], false, "{result}");
    let id = uuid::Uuid::parse_str(&sb).unwrap().simple().to_string();
    let file = dir.path().join("data/sandboxes").join(id).join("disk/workspace/via-b.txt");
    assert_eq!(std::fs::read_to_string(file).unwrap(), "via-b\n");

    let send = "mutation($r: ID!, $t: String!) { sendMessage(runId: $r, text: $t) { id } }";
    let sent = gql(&b.addr, &token, send, json!({"r": run, "t": "Who answered?"})).await;
    assert!(sent["errors"].is_null(), "{sent}");
    let second = until(&mut ws, "TurnFinished").await;
    assert!(second.iter().any(|e| e["__typename"] == "AssistantText" && e["text"] == "You said: Who answered?"));

    let ended = gql(&b.addr, &token, "mutation($r: ID!) { endRun(runId: $r) { id } }", json!({"r": run})).await;
    assert!(ended["errors"].is_null(), "{ended}");
    let fin = until(&mut ws, "RunFinished").await.pop().unwrap();
    assert_eq!(fin["status"], "SUCCEEDED", "{fin}");
}
