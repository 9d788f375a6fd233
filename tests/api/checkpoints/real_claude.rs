//! The real Claude Code CLI, jailed, against the fake Anthropic API: an interactive run of
//! three turns each writing a file leaves three checkpoints; a rewind to the first brings
//! the files and the conversation back to it; a fork at the second goes on in a session
//! of its own; neither changes the other. Another account sees none of it, and a rewind
//! during a run is refused.

use serde_json::{Value, json};

use crate::{
    helpers::{
        TestApp, fake_anthropic,
        runs::{claude_stream_query, collect, first_of},
        ws::WsClient,
    },
    interactive::{app_with_claude, follow, start, until},
};

const CHECKPOINTS: &str = "query($s: ID!) { sandbox(id: $s) { checkpoints(first: 50) {
  id runId turn hasSession changesTotal changes { path kind } fileCount bytes } } }";
const REWIND: &str = "mutation($s: ID!, $c: ID!) { rewindSandbox(sandboxId: $s, checkpointId: $c) {
  filesWritten pathsDeleted sandbox { id } } }";
const FORK: &str =
    "mutation($s: ID!, $c: ID!) { forkSandbox(sandboxId: $s, checkpointId: $c, name: \"fork\") { id status } }";

fn turn(n: &str, file: &str) -> String {
    format!("[bash: echo {n} > {file} :bash] turn {n}")
}

/// The text of every user message of a request to the fake API.
fn user_texts(request: &Value) -> String {
    serde_json::to_string(&request["messages"]).unwrap()
}

/// The last request to the fake API that carried the conversation (not a title request).
fn last_conversation(fake: &fake_anthropic::FakeAnthropic) -> Value {
    let requests = fake.requests.lock().unwrap();
    requests.iter().rev().find(|r| r["tools"].as_array().is_some_and(|t| !t.is_empty())).cloned().unwrap()
}

async fn say(app: &TestApp, token: &str, sb: &str, prompt: &str) -> Vec<Value> {
    let mut ws = WsClient::connect(app.addr, Some(token)).await.unwrap();
    ws.subscribe("1", &claude_stream_query(), json!({"s": sb, "p": prompt})).await;
    let events = collect(&mut ws, "1").await;
    assert_eq!(events.last().unwrap()["status"], "SUCCEEDED", "{events:?}");
    events
}

fn ws_file(app: &TestApp, sb: &str, name: &str) -> Option<String> {
    std::fs::read_to_string(app.sandbox_dir(sb).join("disk/workspace").join(name)).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_turns_rewind_and_fork_with_their_conversations() {
    let fake = fake_anthropic::start().await;
    let app = app_with_claude(&fake, |_| {}).await;
    let (_, token) = app.new_user("ada").await;
    let sb = app.create_sandbox(&token, "turns").await;

    // One interactive run, three turns, each writing one file.
    let run = start(&app, &token, &sb, &turn("one", "f1.txt"), "BYPASS", true).await;
    let mut ws = follow(&app, &token, &run).await;
    until(&mut ws, "TurnFinished").await;
    let send = "mutation($r: ID!, $t: String!) { sendMessage(runId: $r, text: $t) { id } }";
    for (n, f) in [("two", "f2.txt"), ("three", "f3.txt")] {
        app.ok(&token, send, json!({"r": run, "t": turn(n, f)})).await;
        until(&mut ws, "TurnFinished").await;
    }
    // Must-show 3: no rewind while the run is active.
    let cps = app.ok(&token, CHECKPOINTS, json!({"s": sb})).await["sandbox"]["checkpoints"].clone();
    let cps: Vec<Value> = cps.as_array().unwrap().iter().rev().cloned().collect();
    assert_eq!(cps.len(), 3, "one checkpoint per turn: {cps:?}");
    let (_, body) = app.post(Some(&token), REWIND, json!({"s": sb, "c": cps[0]["id"]})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "RUN_ACTIVE", "{body}");
    app.ok(&token, "mutation($r: ID!) { endRun(runId: $r) { id } }", json!({"r": run})).await;
    until(&mut ws, "RunFinished").await;

    let cps = app.ok(&token, CHECKPOINTS, json!({"s": sb})).await["sandbox"]["checkpoints"].clone();
    let cps: Vec<Value> = cps.as_array().unwrap().iter().rev().cloned().collect();
    assert_eq!(cps.len(), 3, "the run's end after a kept turn adds none: {cps:?}");
    for (i, (cp, f)) in cps.iter().zip(["f1.txt", "f2.txt", "f3.txt"]).enumerate() {
        assert_eq!(cp["runId"], run.as_str());
        assert_eq!(cp["turn"], i as i64 + 1);
        assert_eq!(cp["hasSession"], true, "{cp}");
        let added: Vec<&Value> = cp["changes"].as_array().unwrap().iter().filter(|c| c["path"] == f).collect();
        assert_eq!(added.len(), 1, "turn {} lists {f}: {cp}", i + 1);
        assert_eq!(added[0]["kind"], "ADDED");
    }
    assert_eq!(cps[1]["changesTotal"], 1, "turn two changed one path: {}", cps[1]);
    assert_eq!(cps[2]["changes"], json!([{"path": "f3.txt", "kind": "ADDED"}]));

    // Files at a checkpoint, and the difference between two.
    let q =
        "query($s: ID!, $c: ID) { sandbox(id: $s) { files(source: CHECKPOINT, checkpointId: $c) { entries { path } }
      fileContent(source: CHECKPOINT, checkpointId: $c, path: \"f2.txt\") { content } } }";
    let at2 = app.ok(&token, q, json!({"s": sb, "c": cps[1]["id"]})).await;
    let paths: Vec<&str> =
        at2["sandbox"]["files"]["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"f1.txt") && paths.contains(&"f2.txt") && !paths.contains(&"f3.txt"), "{paths:?}");
    assert_eq!(at2["sandbox"]["fileContent"]["content"], "two\n");
    let diff = "query($a: ID!, $b: ID!) { checkpointDiff(fromId: $a, toId: $b) { totalCount changes { path kind } } }";
    let d = app.ok(&token, diff, json!({"a": cps[0]["id"], "b": cps[2]["id"]})).await["checkpointDiff"].clone();
    assert_eq!(d["changes"], json!([{"path": "f2.txt", "kind": "ADDED"}, {"path": "f3.txt", "kind": "ADDED"}]));

    // Must-show 2: a fork at turn two.
    let fork = app.ok(&token, FORK, json!({"s": sb, "c": cps[1]["id"]})).await["forkSandbox"].clone();
    assert_eq!(fork["status"], "RUNNING", "{fork}");
    let fork = fork["id"].as_str().unwrap().to_string();
    assert_eq!(ws_file(&app, &fork, "f1.txt").as_deref(), Some("one\n"));
    assert_eq!(ws_file(&app, &fork, "f2.txt").as_deref(), Some("two\n"));
    assert_eq!(ws_file(&app, &fork, "f3.txt"), None);
    assert_eq!(ws_file(&app, &sb, "f3.txt").as_deref(), Some("three\n"), "the original is untouched");

    // Must-show 1: rewind to after turn one.
    let r = app.ok(&token, REWIND, json!({"s": sb, "c": cps[0]["id"]})).await["rewindSandbox"].clone();
    assert_eq!(r["pathsDeleted"], 2, "{r}");
    assert_eq!(r["filesWritten"], 0, "f1.txt is as it was: {r}");
    assert_eq!(ws_file(&app, &sb, "f1.txt").as_deref(), Some("one\n"));
    assert_eq!((ws_file(&app, &sb, "f2.txt"), ws_file(&app, &sb, "f3.txt")), (None, None));
    let original_session = {
        let events = say(&app, &token, &sb, "after the rewind").await;
        let history = user_texts(&last_conversation(&fake));
        assert!(history.contains("turn one") && history.contains("after the rewind"), "{history}");
        assert!(
            !history.contains("turn two") && !history.contains("turn three"),
            "later turns are not seen: {history}"
        );
        first_of(&events, "SessionStarted")["sessionId"].as_str().unwrap().to_string()
    };

    // The fork goes on from turn two in its own session.
    let events = say(&app, &token, &fork, "in the fork").await;
    let history = user_texts(&last_conversation(&fake));
    assert!(history.contains("turn one") && history.contains("turn two"), "{history}");
    assert!(!history.contains("turn three") && !history.contains("after the rewind"), "{history}");
    let fork_session = first_of(&events, "SessionStarted")["sessionId"].as_str().unwrap().to_string();
    assert_ne!(fork_session, original_session);

    // And the original goes on where it was, unchanged by the fork.
    let events = say(&app, &token, &sb, "and on").await;
    let history = user_texts(&last_conversation(&fake));
    assert!(history.contains("after the rewind") && history.contains("turn one"), "{history}");
    assert!(!history.contains("in the fork") && !history.contains("turn two"), "{history}");
    assert_eq!(first_of(&events, "SessionStarted")["sessionId"], original_session.as_str());
    assert_eq!(ws_file(&app, &fork, "f2.txt").as_deref(), Some("two\n"));

    // Must-show 3: another account sees nothing of it.
    let (_, other) = app.new_user("eve").await;
    let theirs = app.create_sandbox(&other, "theirs").await;
    let q = "query($c: ID!) { checkpoint(id: $c) { id } }";
    assert_eq!(app.ok(&other, q, json!({"c": cps[0]["id"]})).await["checkpoint"], Value::Null);
    for (query, vars) in [
        (REWIND, json!({"s": sb, "c": cps[0]["id"]})),
        (REWIND, json!({"s": theirs, "c": cps[0]["id"]})),
        (FORK, json!({"s": sb, "c": cps[1]["id"]})),
        (FORK, json!({"s": theirs, "c": cps[1]["id"]})),
        (CHECKPOINTS, json!({"s": sb})),
    ] {
        let (_, body) = app.post(Some(&other), query, vars).await;
        let code = &body["errors"][0]["extensions"]["code"];
        assert!(code == "NOT_FOUND" || body["data"]["sandbox"].is_null(), "{body}");
    }
    let diff_err = app.err(Some(&other), diff, json!({"a": cps[0]["id"], "b": cps[2]["id"]})).await;
    assert_eq!(diff_err.0, "NOT_FOUND");
    assert!(ws_file(&app, &sb, "f1.txt").is_some(), "nothing was done to the owner's sandbox");
}
