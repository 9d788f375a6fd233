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
/// run's events, the session both had, the second run's id, the token and the sandbox.
async fn two_runs(app: &TestApp, warm: bool) -> (Vec<Value>, String, String, String, String) {
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
    (events, session, run, token, sb)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_real_claude_gives_what_a_cold_one_gives() {
    let fake = fake_anthropic::start().await;
    let cold_app = app_with(&fake, false).await;
    let (cold, cold_session, ..) = two_runs(&cold_app, false).await;
    assert_eq!(cold.last().unwrap()["status"], "SUCCEEDED", "{:?}", cold.last());
    assert_eq!(first_of(&cold, "SessionStarted")["sessionId"], cold_session);

    let app = app_with(&fake, true).await;
    let (warm, session, run_id, token, _) = two_runs(&app, true).await;
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

/// The gateway token held by a process whose environment has one naming run `run`
/// (jailed processes have pids of their own namespace, so they are found by what only
/// they hold).
fn token_in_proc(run: &str) -> Option<String> {
    let prefix = format!("ANTHROPIC_API_KEY=sgw_{}_", uuid::Uuid::parse_str(run).ok()?.simple());
    for e in std::fs::read_dir("/proc").ok()?.filter_map(Result::ok) {
        let Ok(env) = std::fs::read(e.path().join("environ")) else { continue };
        for var in env.split(|b| *b == 0) {
            if let Some(rest) = var.strip_prefix(prefix.as_bytes()) {
                let token =
                    format!("sgw_{}_{}", uuid::Uuid::parse_str(run).ok()?.simple(), String::from_utf8_lossy(rest));
                return Some(token);
            }
        }
    }
    None
}

/// What a run's usage in the ledger holds.
async fn usage_of(app: &TestApp, token: &str, run: &str) -> Value {
    let q = "query($id: ID!) { run(id: $id) { costUsd usage { requests costUsd } } }";
    app.ok(token, q, json!({"id": run})).await["run"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_claude_a_run_leaves_serves_the_next_run_in_the_same_session() {
    let fake = fake_anthropic::start().await;
    let app = app_with(&fake, true).await;
    let (second, session, second_id, token, sb) = two_runs(&app, true).await;
    assert_eq!(second.last().unwrap()["status"], "SUCCEEDED", "{:?}", second.last());
    let id = uuid::Uuid::parse_str(&sb).unwrap();

    // The second run's own Claude waits for the next run: no new process.
    let warm = &app.services.runs.manager.warm;
    assert!(eventually(20, || warm.kept_from_a_run(id)).await, "the run's claude is kept");
    let held = token_in_proc(&second_id).expect("the kept claude holds the second run's token");
    // Between runs its token is refused.
    let status = crate::warm::gateway_status(&app, &held).await;
    assert_eq!(status, 401, "a kept claude's token is no good between runs");
    let second_usage = usage_of(&app, &token, &second_id).await;

    // The third run is that process: the same events as a cold run, the same session, and
    // Claude saw the whole conversation.
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    let asked = fake.requests.lock().unwrap().len();
    let third = stream(&mut ws, "3", &sb, "Say it once more.").await;
    let fin = third.last().unwrap();
    assert_eq!(fin["status"], "SUCCEEDED", "{fin}");
    let third_id = first_of(&third, "RunStarted")["runId"].as_str().unwrap().to_string();
    assert_eq!(first_of(&third, "SessionStarted")["sessionId"], session, "the session continued");
    assert!(fin["result"].as_str().unwrap().contains("Say it once more."), "{fin}");
    let requests = fake.requests.lock().unwrap()[asked..].to_vec();
    let convo = requests.iter().find(|r| r.to_string().contains("Say it once more.")).expect("the third prompt");
    assert!(convo.to_string().contains(TASK), "the earlier turns are in the conversation");
    assert!(token_in_proc(&third_id).is_none(), "no new claude was started for the third run");

    // Its usage is its own; the second run's did not grow, and its cost is not the sum.
    let mut third_usage = Value::Null;
    for _ in 0..50 {
        third_usage = usage_of(&app, &token, &third_id).await;
        if third_usage["usage"]["requests"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(third_usage["usage"]["requests"].as_u64().unwrap_or(0) >= 1, "{third_usage}");
    assert_eq!(
        usage_of(&app, &token, &second_id).await["usage"],
        second_usage["usage"],
        "run two's usage is unchanged"
    );
    let keys = fake.keys.lock().unwrap().clone();
    assert!(keys.iter().all(|k| k == "sk-ant-warm-real"), "upstream got the operator's key only");
}
