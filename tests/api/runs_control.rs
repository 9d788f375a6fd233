//! Starting, cancelling and resuming runs; their limits; who may touch them.

use serde_json::{Value, json};

use crate::{
    both_dbs,
    helpers::{
        DbKind, TestApp,
        process::{eventually, processes_with},
        runs::{collect, first_of, run_events_query},
        ws::WsClient,
    },
};

const CANCEL: &str = "mutation($id: ID!) { cancelRun(id: $id) { id status error } }";
const START: &str = "mutation($s: ID!, $p: String!) { startRun(input: {sandboxId: $s, prompt: $p}) { id } }";

async fn cancel_and_conflict(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("olga").await;
    let sb = app.create_sandbox(&token, "busy").await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4().simple());
    let run = app.start_run(&token, &sb, &format!("[hang] {marker}")).await;
    assert!(eventually(10, || processes_with(&marker).len() >= 2).await, "claude and its child are running");

    let (code, msg) = app.err(Some(&token), START, json!({"s": sb, "p": "another"})).await;
    assert_eq!(code, "CONFLICT", "{msg}");
    let active =
        app.ok(&token, "query($id: ID!) { sandbox(id: $id) { activeRun { id status } } }", json!({"id": sb})).await;
    assert_eq!(active["sandbox"]["activeRun"], json!({"id": run, "status": "RUNNING"}));

    let done = app.ok(&token, CANCEL, json!({"id": run})).await;
    assert_eq!(done["cancelRun"]["status"], "CANCELLED");
    assert!(
        eventually(5, || processes_with(&marker).is_empty()).await,
        "process tree gone: {:?}",
        processes_with(&marker)
    );

    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    ws.subscribe("1", &run_events_query(), json!({"r": run, "a": 0})).await;
    let events = collect(&mut ws, "1").await;
    let fin = events.last().unwrap();
    assert_eq!((fin["__typename"].as_str(), fin["status"].as_str()), (Some("RunFinished"), Some("CANCELLED")));

    // The sandbox is free again.
    let next = app.start_run(&token, &sb, "after cancel").await;
    assert_ne!(next, run);
}
both_dbs!(cancel_kills_process_tree_and_second_start_conflicts, cancel_and_conflict);

async fn resume(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("pia").await;
    let sb = app.create_sandbox(&token, "talk").await;
    let first = app.start_run(&token, &sb, "first").await;
    app.wait_idle(&token, &sb).await;
    let q = "query($id: ID!) { run(id: $id) { status claudeSessionId } }";
    let row = app.ok(&token, q, json!({"id": first})).await;
    let session = row["run"]["claudeSessionId"].as_str().unwrap().to_string();
    let second = app.start_run(&token, &sb, "second").await;
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    ws.subscribe("1", &run_events_query(), json!({"r": second, "a": 0})).await;
    let events = collect(&mut ws, "1").await;
    assert_eq!(first_of(&events, "RunStarted")["resumeSessionId"], session, "it says it resumes");
    assert_eq!(
        first_of(&events, "SessionStarted")["sessionId"],
        session,
        "the second run continues the first's session"
    );

    // The first run started cold; the second either cold or handed to a warm Claude
    // started after the first (stream-json input, no prompt argument); either way it
    // resumes the first's session. Another warm one may already wait for a third.
    let calls = app.standin_calls(&sb);
    let argv_of = |c: &Value| -> Vec<String> { serde_json::from_value(c["argv"].clone()).unwrap() };
    let (cold, warm): (Vec<Vec<String>>, Vec<Vec<String>>) =
        calls.iter().map(argv_of).partition(|a| a.iter().any(|x| x == "--"));
    assert!(!cold.is_empty() && cold.len() <= 2, "{calls:?}");
    let argv0 = cold[0].clone();
    let argv1 = cold.get(1).or(warm.first()).cloned().expect("the second run's process");
    assert!(!argv0.contains(&"--resume".to_string()), "{argv0:?}");
    let i = argv1.iter().position(|a| a == "--resume").expect("--resume passed");
    assert_eq!(argv1[i + 1], session);
    for flag in ["-p", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions"] {
        assert!(argv1.contains(&flag.to_string()), "{flag} missing: {argv1:?}");
    }
    // Each sandbox has its own HOME; another sandbox starts a fresh session.
    let other = app.create_sandbox(&token, "other").await;
    app.start_run(&token, &other, "elsewhere").await;
    assert!(eventually(10, || app.standin_calls(&other).len() == 1).await);
    let argv: Vec<String> = serde_json::from_value(app.standin_calls(&other)[0]["argv"].clone()).unwrap();
    assert!(!argv.contains(&"--resume".to_string()));
    assert_ne!(app.standin_calls(&other)[0]["env"]["HOME"], json!(null));

    // Model and turn limit reach the command line when given.
    app.wait_idle(&token, &other).await;
    let q = "mutation($s: ID!) { startRun(input: {sandboxId: $s, prompt: \"m\", model: \"claude-opus-4-1\", maxTurns: 7}) { id model maxTurns } }";
    let r = app.ok(&token, q, json!({"s": other})).await;
    assert_eq!(
        (r["startRun"]["model"].as_str(), r["startRun"]["maxTurns"].as_i64()),
        (Some("claude-opus-4-1"), Some(7))
    );
    // It does not fit the warm Claude (another model): a cold start with the flags.
    let cold = |app: &TestApp| -> Vec<Value> {
        let started = |c: &Value| c["argv"].as_array().unwrap().iter().any(|a| a == "--");
        app.standin_calls(&other).into_iter().filter(started).collect()
    };
    assert!(eventually(10, || cold(&app).len() == 2).await);
    let argv: Vec<String> = serde_json::from_value(cold(&app)[1]["argv"].clone()).unwrap();
    let after = |flag: &str| argv.iter().position(|a| a == flag).map(|i| argv[i + 1].clone());
    assert_eq!(after("--model").as_deref(), Some("claude-opus-4-1"));
    assert_eq!(after("--max-turns").as_deref(), Some("7"));
}
both_dbs!(second_run_resumes_the_first_session, resume);

async fn bad_runs(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("quinn").await;
    let sb = app.create_sandbox(&token, "x").await;
    let before = app.count("SELECT COUNT(*) FROM agent_runs").await;
    let big = "x".repeat(100_001);
    for (prompt, why) in [("", "empty"), ("   \n", "blank"), (big.as_str(), "too long"), ("a\u{0}b", "NUL")] {
        let (code, msg) = app.err(Some(&token), START, json!({"s": sb, "p": prompt})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{why}: {msg}");
    }
    let q = "mutation($s: ID!) { startRun(input: {sandboxId: $s, prompt: \"hi\", model: \"x; rm -rf /\"}) { id } }";
    assert_eq!(app.err(Some(&token), q, json!({"s": sb})).await.0, "BAD_USER_INPUT");
    let q = "mutation($s: ID!) { startRun(input: {sandboxId: $s, prompt: \"hi\", maxTurns: 0}) { id } }";
    assert_eq!(app.err(Some(&token), q, json!({"s": sb})).await.0, "BAD_USER_INPUT");
    assert_eq!(app.err(Some(&token), START, json!({"s": "nope", "p": "hi"})).await.0, "BAD_USER_INPUT");
    assert_eq!(app.count("SELECT COUNT(*) FROM agent_runs").await, before);

    app.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id) { id } }", json!({"id": sb})).await;
    assert_eq!(app.err(Some(&token), START, json!({"s": sb, "p": "hi"})).await.0, "NOT_FOUND", "deleted sandbox");
}
both_dbs!(bad_run_input_is_refused, bad_runs);

async fn failing_runs(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("rita").await;
    let sb = app.create_sandbox(&token, "f").await;
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    let cases = [
        ("[fail]", "claude exited with code 3: fatal: something broke", Some(3)),
        ("[error-result]", "claude reported error_max_turns", Some(1)),
    ];
    for (i, (prompt, error, exit)) in cases.into_iter().enumerate() {
        let run = app.start_run(&token, &sb, prompt).await;
        let id = format!("f{i}");
        ws.subscribe(&id, &run_events_query(), json!({"r": run, "a": 0})).await;
        let events = collect(&mut ws, &id).await;
        let fin = events.last().unwrap();
        assert_eq!(fin["status"], "FAILED", "{prompt}");
        assert_eq!(fin["isError"], true);
        assert_eq!(fin["error"], error);
        assert_eq!(fin["exitCode"], json!(exit));
        if prompt == "[fail]" {
            assert!(events.iter().any(|e| e["__typename"] == "RawEvent"
                && e["source"] == "stderr"
                && e["text"] == "fatal: something broke"));
        }
        let row = app.ok(&token, "query($id: ID!) { run(id: $id) { status error } }", json!({"id": run})).await;
        assert_eq!(row["run"], json!({"status": "FAILED", "error": error}));
    }
    // Lines that are not JSON, or JSON of unknown types, are kept as RawEvents.
    let run = app.start_run(&token, &sb, "[garbage]").await;
    ws.subscribe("g", &run_events_query(), json!({"r": run, "a": 0})).await;
    let events = collect(&mut ws, "g").await;
    let raw: Vec<&str> =
        events.iter().filter(|e| e["__typename"] == "RawEvent").map(|e| e["text"].as_str().unwrap()).collect();
    assert!(raw.contains(&"this is not json") && raw.contains(&"{\"half\": "), "{raw:?}");
    assert!(events.iter().any(|e| e["__typename"] == "RawEvent" && e["json"]["type"] == "brand_new_type"));
    // An API retry is a known line: typed, with its attempt.
    assert!(events.iter().any(|e| e["__typename"] == "ApiRetry" && e["attempt"] == 1), "{events:?}");
    assert_eq!(events.last().unwrap()["status"], "SUCCEEDED");
}
both_dbs!(failures_and_unknown_output_are_visible, failing_runs);

async fn delete_cancels(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("sam").await;
    let sb = app.create_sandbox(&token, "bye").await;
    let marker = format!("marker-{}", uuid::Uuid::new_v4().simple());
    let run = app.start_run(&token, &sb, &format!("[hang] {marker}")).await;
    assert!(eventually(10, || !processes_with(&marker).is_empty()).await);
    app.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id) { id } }", json!({"id": sb})).await;
    assert!(eventually(5, || processes_with(&marker).is_empty()).await);
    let row = app.ok(&token, "query($id: ID!) { run(id: $id) { status } }", json!({"id": run})).await;
    assert_eq!(row["run"]["status"], "CANCELLED");
}
both_dbs!(deleting_a_sandbox_cancels_its_run, delete_cancels);
