//! Interactive runs with the real Claude Code CLI, jailed, against the fake Anthropic API:
//! tool approvals over the stdio control protocol (allow, deny, who may answer, the first
//! answer counts, the timeout), follow-up messages in the same run and session, and an
//! interrupt that stops a long turn while the session goes on.

use serde_json::{Value, json};

use crate::{
    helpers::{DbKind, TestApp, fake_anthropic, runs::EVENT_FIELDS, ws::WsClient},
    real_claude::claude_cli,
};

pub(crate) const START: &str = "mutation($s: ID!, $p: String!, $m: PermissionMode!, $i: Boolean!) {
  startRun(input: {sandboxId: $s, prompt: $p, permissionMode: $m, interactive: $i}) { id permissionMode interactive } }";
pub(crate) const ANSWER: &str = "mutation($r: ID!, $q: String!, $a: Boolean!, $msg: String) {
  answerPermission(runId: $r, requestId: $q, allow: $a, message: $msg) { id status } }";

pub(crate) async fn app_with_claude(
    fake: &fake_anthropic::FakeAnthropic,
    tweak: impl FnOnce(&mut sandboxql::config::Config),
) -> TestApp {
    let cli = claude_cli();
    let base = format!("http://{}", fake.addr);
    TestApp::spawn_with(
        DbKind::Sqlite,
        |c| {
            c.runs.claude_bin = cli.display().to_string();
            c.gateway.anthropic_base_url = base.clone();
            c.gateway.anthropic_api_key = Some(sandboxql::config::Secret("sk-ant-test-key".into()));
            tweak(c);
        },
        None,
    )
    .await
}

pub(crate) async fn start(app: &TestApp, token: &str, sb: &str, prompt: &str, mode: &str, interactive: bool) -> String {
    let data = app.ok(token, START, json!({"s": sb, "p": prompt, "m": mode, "i": interactive})).await;
    assert_eq!(data["startRun"]["permissionMode"], mode);
    data["startRun"]["id"].as_str().unwrap().to_string()
}

pub(crate) async fn follow(app: &TestApp, token: &str, run: &str) -> WsClient {
    let mut ws = WsClient::connect(app.addr, Some(token)).await.unwrap();
    let q = format!("subscription($r: ID!) {{ runEvents(runId: $r) {{ {EVENT_FIELDS} }} }}");
    ws.subscribe("e", &q, json!({"r": run})).await;
    ws
}

/// Events of the stream up to and including the first of `kind`.
pub(crate) async fn until(ws: &mut WsClient, kind: &str) -> Vec<Value> {
    let mut seen = vec![];
    loop {
        let msg = ws.next().await;
        assert_eq!(msg["type"], "next", "stream ended before {kind}: {msg} after {seen:?}");
        let ev = msg["payload"]["data"]["runEvents"].clone();
        let done = ev["__typename"] == kind;
        seen.push(ev);
        if done {
            return seen;
        }
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["__typename"].as_str().unwrap_or("?")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_mode_allows_and_denies_tool_calls() {
    let fake = fake_anthropic::start().await;
    let app = app_with_claude(&fake, |_| {}).await;
    let (_, token) = app.new_user("asker").await;
    let (_, other) = app.new_user("stranger").await;
    let sb = app.create_sandbox(&token, "ask").await;
    let workspace = app.sandbox_dir(&sb).join("disk/workspace");

    // Allowed: the command runs only after the answer.
    let run = start(&app, &token, &sb, "Please [bash: echo yes > allowed.txt :bash]", "ASK", false).await;
    let mut ws = follow(&app, &token, &run).await;
    let asked = until(&mut ws, "PermissionRequested").await;
    let req = asked.last().unwrap().clone();
    assert_eq!(req["toolName"], "Bash");
    assert_eq!(req["input"]["command"], "echo yes > allowed.txt");
    let tool = asked.iter().find(|e| e["__typename"] == "ToolUse").expect("ToolUse before the request");
    assert_eq!(tool["toolUseId"], req["toolUseId"]);
    assert!(!workspace.join("allowed.txt").exists(), "nothing ran before the answer");
    let q = req["requestId"].as_str().unwrap();
    let pending = app
        .ok(
            &token,
            "query($r: ID!) { run(id: $r) { pendingPermissions { requestId toolName input } } }",
            json!({"r": run}),
        )
        .await;
    assert_eq!(pending["run"]["pendingPermissions"][0]["requestId"], q);
    // Another account cannot answer, or even see the run.
    let (code, _) = app.err(Some(&other), ANSWER, json!({"r": run, "q": q, "a": true})).await;
    assert_eq!(code, "NOT_FOUND");
    let (code, _) = app.err(Some(&app.admin_token), ANSWER, json!({"r": run, "q": q, "a": true})).await;
    assert_eq!(code, "FORBIDDEN", "an admin sees the run but only its account answers");
    app.ok(&token, ANSWER, json!({"r": run, "q": q, "a": true})).await;
    let (code, _) = app.err(Some(&token), ANSWER, json!({"r": run, "q": q, "a": false})).await;
    assert_eq!(code, "CONFLICT", "the first answer counts");
    let rest = until(&mut ws, "RunFinished").await;
    let k = kinds(&rest);
    let answered = rest.iter().find(|e| e["__typename"] == "PermissionAnswered").expect("answered");
    assert_eq!((answered["allow"].as_bool(), answered["decidedBy"].as_str()), (Some(true), Some("USER")));
    let result = rest.iter().find(|e| e["__typename"] == "ToolResult").expect("tool result");
    assert_eq!(result["isError"], false, "{result}");
    assert!(k.iter().position(|x| *x == "PermissionAnswered") < k.iter().position(|x| *x == "ToolResult"));
    assert_eq!(rest.last().unwrap()["status"], "SUCCEEDED", "{:?}", rest.last());
    assert_eq!(std::fs::read_to_string(workspace.join("allowed.txt")).unwrap(), "yes\n");
    ws.close().await;

    // Allowed with the input changed: what runs is the user's version.
    let run = start(&app, &token, &sb, "Please [bash: echo theirs > theirs.txt :bash]", "ASK", false).await;
    let mut ws = follow(&app, &token, &run).await;
    let req = until(&mut ws, "PermissionRequested").await.pop().unwrap();
    let edit = "mutation($r: ID!, $q: String!, $i: JSON!) {
      answerPermission(runId: $r, requestId: $q, allow: true, updatedInput: $i) { id } }";
    let mine = json!({"command": "echo mine > mine.txt", "description": "edited by the user"});
    app.ok(&token, edit, json!({"r": run, "q": req["requestId"], "i": mine})).await;
    until(&mut ws, "RunFinished").await;
    assert_eq!(std::fs::read_to_string(workspace.join("mine.txt")).unwrap(), "mine\n");
    assert!(!workspace.join("theirs.txt").exists(), "Claude's own input did not run");
    ws.close().await;

    // Denied: the command never runs and the model is told why.
    let run = start(&app, &token, &sb, "Please [bash: echo no > denied.txt :bash]", "ASK", false).await;
    let mut ws = follow(&app, &token, &run).await;
    let req = until(&mut ws, "PermissionRequested").await.pop().unwrap();
    let q = req["requestId"].as_str().unwrap();
    let why = "Not in this workspace, thanks.";
    app.ok(&token, ANSWER, json!({"r": run, "q": q, "a": false, "msg": why})).await;
    let rest = until(&mut ws, "RunFinished").await;
    let result = rest.iter().find(|e| e["__typename"] == "ToolResult").expect("tool result");
    assert_eq!(result["isError"], true);
    assert!(result["content"].as_str().unwrap().contains(why), "{result}");
    assert!(!workspace.join("denied.txt").exists(), "a denied command never runs");
    let saw_denial = fake.requests.lock().unwrap().iter().any(|r| r["messages"].to_string().contains(why));
    assert!(saw_denial, "the model received the denial");
    assert_eq!(rest.last().unwrap()["status"], "SUCCEEDED");
    let audit = app.ok(&token, "{ viewer { id } }", json!({})).await;
    assert!(audit["viewer"]["id"].is_string(), "the server still answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_request_is_denied_after_the_timeout() {
    let fake = fake_anthropic::start().await;
    let app = app_with_claude(&fake, |c| c.limits.permission_timeout_secs = 1).await;
    let (_, token) = app.new_user("slow").await;
    let sb = app.create_sandbox(&token, "timeout").await;
    let run = start(&app, &token, &sb, "Please [bash: echo late > late.txt :bash]", "ASK", false).await;
    let mut ws = follow(&app, &token, &run).await;
    let req = until(&mut ws, "PermissionRequested").await.pop().unwrap();
    let answered = until(&mut ws, "PermissionAnswered").await.pop().unwrap();
    assert_eq!((answered["allow"].as_bool(), answered["decidedBy"].as_str()), (Some(false), Some("TIMEOUT")));
    let q = req["requestId"].as_str().unwrap();
    let (code, _) = app.err(Some(&token), ANSWER, json!({"r": run, "q": q, "a": true})).await;
    assert_eq!(code, "CONFLICT", "a late answer does not count");
    until(&mut ws, "RunFinished").await;
    assert!(!app.sandbox_dir(&sb).join("disk/workspace/late.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_and_interrupts_keep_the_session() {
    let fake = fake_anthropic::start().await;
    let app = app_with_claude(&fake, |_| {}).await;
    let (_, token) = app.new_user("chatty").await;
    let sb = app.create_sandbox(&token, "chat").await;
    let send = "mutation($r: ID!, $t: String!) { sendMessage(runId: $r, text: $t) { id status } }";
    let run = start(&app, &token, &sb, "Hello [bash: echo first :bash]", "BYPASS", true).await;
    let mut ws = follow(&app, &token, &run).await;
    let first = until(&mut ws, "TurnFinished").await;
    let session = first.iter().find(|e| e["__typename"] == "SessionStarted").unwrap()["sessionId"].clone();

    // A follow-up: a second assistant turn in the same run and Claude session.
    app.ok(&token, send, json!({"r": run, "t": "What did I ask?"})).await;
    let second = until(&mut ws, "TurnFinished").await;
    let k = kinds(&second);
    assert!(k.contains(&"UserMessage") && k.contains(&"AssistantText"), "{k:?}");
    let text = second.iter().find(|e| e["__typename"] == "AssistantText").unwrap();
    assert_eq!(text["text"], "You said: What did I ask?");
    for s in second.iter().filter(|e| e["__typename"] == "SessionStarted") {
        assert_eq!(s["sessionId"], session, "the same Claude session");
    }
    assert!(second.iter().all(|e| e["runId"] == run.as_str()));

    // A long turn, interrupted: the turn stops, the run goes on and answers the next one.
    app.ok(
        &token,
        send,
        json!({"r": run, "t": "Wait [bash: python3 -c 'import time; time.sleep(60)' && echo slept > slept.txt :bash]"}),
    )
    .await;
    until(&mut ws, "ToolUse").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let at = std::time::Instant::now();
    app.ok(&token, "mutation($r: ID!) { interruptRun(runId: $r) { id } }", json!({"r": run})).await;
    let stopped = until(&mut ws, "TurnFinished").await.pop().unwrap();
    assert_eq!(stopped["interrupted"], true, "{stopped}");
    assert!(at.elapsed().as_secs() < 20, "the interrupt stopped the 60 s command");
    let status = app.ok(&token, "query($r: ID!) { run(id: $r) { status } }", json!({"r": run})).await;
    assert_eq!(status["run"]["status"], "RUNNING");
    app.ok(&token, send, json!({"r": run, "t": "Are you still there?"})).await;
    let after = until(&mut ws, "TurnFinished").await;
    assert_eq!(after.last().unwrap()["interrupted"], false);
    assert!(
        after.iter().any(|e| e["__typename"] == "AssistantText"
            && e["text"].as_str().unwrap().starts_with("You said: Are you still there?")),
        "{after:?}"
    );
    assert!(!app.sandbox_dir(&sb).join("disk/workspace/slept.txt").exists());

    // Ended on request.
    app.ok(&token, "mutation($r: ID!) { endRun(runId: $r) { id } }", json!({"r": run})).await;
    let fin = until(&mut ws, "RunFinished").await.pop().unwrap();
    assert_eq!(fin["status"], "SUCCEEDED", "{fin}");
    let (code, _) = app.err(Some(&token), send, json!({"r": run, "t": "too late"})).await;
    assert_eq!(code, "CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_interactive_run_ends_by_itself() {
    let fake = fake_anthropic::start().await;
    let app = app_with_claude(&fake, |c| c.limits.run_idle_secs = 1).await;
    let (_, token) = app.new_user("idle").await;
    let sb = app.create_sandbox(&token, "idle").await;
    let run = start(&app, &token, &sb, "Hello [bash: echo hi :bash]", "BYPASS", true).await;
    let mut ws = follow(&app, &token, &run).await;
    let events = until(&mut ws, "RunFinished").await;
    assert_eq!(events.last().unwrap()["status"], "SUCCEEDED");
    assert_eq!(kinds(&events).iter().filter(|k| **k == "TurnFinished").count(), 1);
}

/// The playground in a real browser: approve a tool from the page, see its result, see
/// the tree update live, send a follow-up, end the conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_approves_a_tool_and_the_tree_follows() {
    let fake = fake_anthropic::start().await;
    let app = app_with_claude(&fake, |_| {}).await;
    let (_, token) = app.new_user("browser").await;
    let sb = app.create_sandbox(&token, "live").await;
    let envs = vec![
        ("PLAYGROUND_URL", format!("http://{}", app.addr)),
        ("PLAYGROUND_TOKEN", token),
        ("SANDBOX_ID", sb.clone()),
    ];
    crate::helpers::node::run("browser/interactive.mjs", envs, "interactive browser test passed").await;
    assert_eq!(
        std::fs::read_to_string(app.sandbox_dir(&sb).join("disk/workspace/approved.txt")).unwrap(),
        "approved\n"
    );
}
