//! claudeStream and runEvents over a real websocket: order, types, replay, resume.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::{
    both_dbs,
    helpers::{
        DbKind, TestApp,
        runs::{claude_stream_query, collect, first_of, run_events_query, seqs, take},
        ws::WsClient,
    },
};

async fn stream_matches_store(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("lea").await;
    let sb = app.create_sandbox(&token, "chat").await;
    std::fs::write(app.sandbox_dir(&sb).join("disk/workspace/hello.txt"), "hi").unwrap();

    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    ws.subscribe("1", &claude_stream_query(), json!({"s": sb, "p": "What is here?"})).await;
    let events = collect(&mut ws, "1").await;

    let kinds: Vec<&str> = events.iter().map(|e| e["__typename"].as_str().unwrap()).collect();
    assert_eq!(kinds[..2], ["RunStarted", "SessionStarted"], "the run's own first event, then Claude's");
    assert_eq!(kinds.last(), Some(&"RunFinished"));
    for k in ["AssistantThinking", "TextDelta", "AssistantText", "ToolUse", "ToolResult"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert_eq!(seqs(&events), (1..=events.len() as i64).collect::<Vec<_>>(), "seq 1, 2, 3…");
    let run_id = events[0]["runId"].as_str().unwrap().to_string();
    assert!(events.iter().all(|e| e["runId"] == run_id));

    let started = first_of(&events, "SessionStarted");
    assert_eq!(started["model"], "claude-standin-1");
    assert!(started["tools"].as_array().unwrap().contains(&json!("Bash")));
    let tool_use = events.iter().find(|e| e["__typename"] == "ToolUse").unwrap();
    assert_eq!(tool_use["name"], "Bash");
    assert_eq!(tool_use["input"]["command"], "ls -a");
    let result = events.iter().find(|e| e["__typename"] == "ToolResult").unwrap();
    assert_eq!(result["toolUseId"], tool_use["toolUseId"]);
    assert!(result["content"].as_str().unwrap().contains("hello.txt"), "tool result shows the workspace");
    assert_eq!(result["isError"], false);
    let text = events.iter().find(|e| e["__typename"] == "AssistantText").unwrap();
    assert_eq!(text["text"], "Let me look at the workspace.");
    let fin = events.last().unwrap();
    assert_eq!(fin["status"], "SUCCEEDED");
    assert_eq!(fin["subtype"], "success");
    assert_eq!(fin["isError"], false);
    assert_eq!(fin["totalCostUsd"], 0.0123);
    assert_eq!(fin["numTurns"], 2);
    assert_eq!(fin["durationMs"], 321);
    assert_eq!(fin["usage"]["output_tokens"], 40);
    assert_eq!(fin["exitCode"], 0);

    // The run row and the stored events say the same as the stream.
    let q = "query($id: ID!) { run(id: $id) { status costUsd durationMs numTurns claudeSessionId error prompt events(first: 1000) { __typename ... on AssistantText { seq text } ... on RunFinished { seq status } } } }";
    let run = app.ok(&token, q, json!({"id": run_id})).await["run"].clone();
    assert_eq!(run["status"], "SUCCEEDED");
    assert_eq!(run["costUsd"], 0.0123);
    assert_eq!(run["numTurns"], 2);
    assert_eq!(run["durationMs"], 321);
    assert_eq!(run["claudeSessionId"], started["sessionId"]);
    assert_eq!(run["prompt"], "What is here?");
    assert!(run["error"].is_null());
    let stored = run["events"].as_array().unwrap();
    assert_eq!(stored.len(), events.len());
    let streamed: Vec<&Value> = events.iter().map(|e| &e["__typename"]).collect();
    let kept: Vec<&Value> = stored.iter().map(|e| &e["__typename"]).collect();
    assert_eq!(streamed, kept);
    assert_eq!(app.count("SELECT COUNT(*) FROM agent_run_events").await, events.len() as i64);

    // One fragment on the RunEvent interface reads where every event sits, whatever its type.
    let q = "query($id: ID!) { run(id: $id) { events(first: 1000) { __typename ... on RunEvent { runId seq at } } } }";
    let placed = app.ok(&token, q, json!({"id": run_id})).await["run"]["events"].clone();
    let placed = placed.as_array().unwrap();
    assert_eq!(placed.len(), events.len());
    for (i, e) in placed.iter().enumerate() {
        assert_eq!((&e["runId"], e["seq"].as_i64()), (&json!(run_id), Some(i as i64 + 1)), "{e}");
        assert!(e["at"].is_string(), "{e}");
    }

    // The sandbox remembers the session and has no active run any more.
    let q = "query($id: ID!) { sandbox(id: $id) { activeRun { id } runs { totalCount nodes { id status } } } }";
    let s = app.ok(&token, q, json!({"id": sb})).await;
    assert!(s["sandbox"]["activeRun"].is_null());
    assert_eq!(s["sandbox"]["runs"]["totalCount"], 1);
    assert_eq!(s["sandbox"]["runs"]["nodes"][0]["id"], run_id);
}
both_dbs!(claude_stream_delivers_every_event_in_order, stream_matches_store);

async fn reconnect_resumes(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("max").await;
    let sb = app.create_sandbox(&token, "slow").await;
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    ws.subscribe("1", &claude_stream_query(), json!({"s": sb, "p": "slowly [delay 150]"})).await;
    let first = take(&mut ws, "1", 3).await;
    ws.close().await; // the tab closes mid-run
    let k = first.last().unwrap()["seq"].as_i64().unwrap();
    let run_id = first[0]["runId"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await; // events happen meanwhile

    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    ws.subscribe("2", &run_events_query(), json!({"r": run_id, "a": k})).await;
    let rest = collect(&mut ws, "2").await;
    let all: Vec<i64> = seqs(&first).into_iter().chain(seqs(&rest)).collect();
    assert_eq!(all, (1..=all.len() as i64).collect::<Vec<_>>(), "no gap, no duplicate: {all:?}");
    assert_eq!(rest.last().unwrap()["__typename"], "RunFinished");

    // Replaying a finished run from the start gives the same events again and ends.
    ws.subscribe("3", &run_events_query(), json!({"r": run_id, "a": 0})).await;
    let replay = collect(&mut ws, "3").await;
    assert_eq!(seqs(&replay), all);
}
both_dbs!(reconnect_with_after_seq_has_no_gap_or_duplicate, reconnect_resumes);

async fn two_subscribers(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("ned").await;
    let sb = app.create_sandbox(&token, "shared").await;
    let run_id = app.start_run(&token, &sb, "watch me [delay 40]").await;
    let mut a = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    let mut b = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    a.subscribe("a", &run_events_query(), json!({"r": run_id, "a": 0})).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    b.subscribe("b", &run_events_query(), json!({"r": run_id, "a": 0})).await;
    let (ea, eb) = (collect(&mut a, "a").await, collect(&mut b, "b").await);
    assert_eq!(ea, eb);
    assert_eq!(ea.last().unwrap()["__typename"], "RunFinished");
    let by_kind = ea.iter().fold(HashMap::<String, usize>::new(), |mut m, e| {
        *m.entry(e["__typename"].as_str().unwrap().to_string()).or_default() += 1;
        m
    });
    assert_eq!(by_kind["RunFinished"], 1);
}
both_dbs!(two_subscribers_see_identical_sequences, two_subscribers);

/// `runEvents(kinds:)` keeps only the asked types, filtered on the server; RunFinished
/// still ends the stream, for stored and live events alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_events_can_be_filtered_by_kind() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("kim").await;
    let sb = app.create_sandbox(&token, "filtered").await;
    let run = app.start_run(&token, &sb, "[delay 30] What is here?").await;
    let q = "subscription($r: ID!, $k: [String!]) { runEvents(runId: $r, kinds: $k) { __typename ... on AssistantText { seq text } ... on RunFinished { seq status } } }";
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    ws.subscribe("1", q, json!({"r": run, "k": ["AssistantText"]})).await;
    let events = collect(&mut ws, "1").await;
    let kinds: Vec<&str> = events.iter().map(|e| e["__typename"].as_str().unwrap()).collect();
    assert!(kinds.len() >= 3, "{kinds:?}");
    assert!(kinds[..kinds.len() - 1].iter().all(|k| *k == "AssistantText"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"RunFinished"));
    // Replayed from the store after the run, the same selection.
    ws.subscribe("2", q, json!({"r": run, "k": ["AssistantText"]})).await;
    let again = collect(&mut ws, "2").await;
    assert_eq!(again, events);
}
