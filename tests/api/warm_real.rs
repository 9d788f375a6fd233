//! The real Claude Code CLI, jailed, started warm: a run handed to a warm process gives
//! the same events as a cold one, continues the session (`--resume`), and its usage lands
//! in the ledger under its own run, through its own gateway token.

use serde_json::{Value, json};

use crate::{
    helpers::{
        DbKind, TestApp, fake_anthropic,
        process::eventually,
        runs::{claude_stream_query, collect, first_of},
        ws::WsClient,
    },
    real_claude::claude_cli,
};

const TASK: &str = "Make a file with Bash and show it.";

/// Event kinds in order, repeats of one kind in a row counted once (how many deltas a
/// streamed answer is cut into is not the point).
fn shape(events: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = events.iter().map(|e| e["__typename"].as_str().unwrap().to_string()).collect();
    kinds.dedup();
    kinds
}

async fn stream(ws: &mut WsClient, id: &str, sb: &str, prompt: &str) -> Vec<Value> {
    ws.subscribe(id, &claude_stream_query(), json!({"s": sb, "p": prompt})).await;
    collect(ws, id).await
}

async fn app_with(fake: &fake_anthropic::FakeAnthropic, warm: bool) -> TestApp {
    let (cli, base) = (claude_cli(), format!("http://{}", fake.addr));
    TestApp::spawn_with(
        DbKind::Sqlite,
        move |c| {
            c.runs.claude_bin = cli.display().to_string();
            c.gateway.anthropic_base_url = base;
            c.gateway.anthropic_api_key = Some(sandboxql::config::Secret("sk-ant-warm-real".into()));
            c.limits.warm.warm_starts = warm;
        },
        None,
    )
    .await
}

/// Two runs in one sandbox: a greeting, then the task (warm when `warm`). The second
/// run's events, the session both had, and the second run's id.
async fn two_runs(app: &TestApp, warm: bool) -> (Vec<Value>, String, String, String) {
    let (_, token) = app.new_user("warm-real").await;
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    let sb = app.create_sandbox(&token, "real").await;
    let opening = stream(&mut ws, "1", &sb, "Say hello.").await;
    assert_eq!(opening.last().unwrap()["status"], "SUCCEEDED");
    let session = first_of(&opening, "SessionStarted")["sessionId"].as_str().unwrap().to_string();
    let id = uuid::Uuid::parse_str(&sb).unwrap();
    if warm {
        assert!(eventually(20, || app.services.runs.manager.warm.has(id)).await, "a warm claude waits");
    }
    let events = stream(&mut ws, "2", &sb, TASK).await;
    let run = first_of(&events, "RunStarted")["runId"].as_str().unwrap().to_string();
    (events, session, run, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_real_claude_gives_what_a_cold_one_gives() {
    let fake = fake_anthropic::start().await;
    let cold_app = app_with(&fake, false).await;
    let (cold, cold_session, _, _) = two_runs(&cold_app, false).await;
    assert_eq!(cold.last().unwrap()["status"], "SUCCEEDED", "{:?}", cold.last());
    assert_eq!(first_of(&cold, "SessionStarted")["sessionId"], cold_session);

    let app = app_with(&fake, true).await;
    let (warm, session, run_id, token) = two_runs(&app, true).await;
    let fin = warm.last().unwrap();
    assert_eq!(fin["status"], "SUCCEEDED", "{fin}");
    assert_eq!(first_of(&warm, "SessionStarted")["sessionId"], session, "the session continued (--resume)");
    assert_eq!(shape(&warm), shape(&cold), "the same events as a cold start");
    assert_eq!(fin["result"], cold.last().unwrap()["result"], "the same answer");

    // Its usage is its own, recorded like any run's.
    let q = "query($id: ID!) { run(id: $id) { usage { requests costUsd } } }";
    let mut usage = Value::Null;
    for _ in 0..50 {
        usage = app.ok(&token, q, json!({"id": run_id})).await["run"]["usage"].clone();
        if usage["requests"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(usage["requests"].as_u64().unwrap_or(0) >= 1, "the warm run's requests are in the ledger: {usage}");
    let keys = fake.keys.lock().unwrap().clone();
    assert!(keys.iter().all(|k| k == "sk-ant-warm-real"), "upstream got the operator's key only");
}
