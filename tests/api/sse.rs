//! Subscriptions over server-sent events with the stock npm `graphql-sse` client
//! (installed by scripts/install-test-deps.sh): `claudeStream` live and `runEvents`
//! replayed give the same events; a reconnect with `Last-Event-ID` continues after that
//! seq with no gap; errors arrive inside the stream.

use serde_json::Value;

use crate::helpers::{DbKind, TestApp, node};

async fn with_client(single: bool) {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("sse").await;
    let sb = app.create_sandbox(&token, "sse").await;
    let envs = vec![
        ("SSE_URL", format!("http://{}/graphql/stream", app.addr)),
        ("SSE_TOKEN", token),
        ("SANDBOX_ID", sb),
        ("SSE_SINGLE", if single { "1" } else { "0" }.to_string()),
    ];
    let text = node::run("sse/client.mjs", envs, "\"live\"").await;
    let seen: Value = serde_json::from_str(text.lines().find(|l| l.starts_with('{')).unwrap()).unwrap();
    assert_eq!(seen["single"], single);
    let live = seen["live"].as_array().unwrap();
    assert_eq!(live[0]["__typename"], "RunStarted");
    assert_eq!(live.last().unwrap()["__typename"], "RunFinished");
    assert_eq!(live.last().unwrap()["status"], "SUCCEEDED");
    let seqs: Vec<i64> = live.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "every event once, in order");
    assert_eq!(seen["replay"], seen["live"], "runEvents replays exactly what streamed live");
    let resumed = &seen["resumed"];
    assert_eq!(resumed["status"], 200);
    assert!(resumed["type"].as_str().unwrap().starts_with("text/event-stream"));
    let ids: Vec<i64> = resumed["ids"].as_array().unwrap().iter().map(|i| i.as_i64().unwrap()).collect();
    assert_eq!(ids, (4..=seqs.len() as i64).collect::<Vec<_>>(), "resumed after seq 3, no gap, no repeat");
    assert_eq!(resumed["last"], "complete");
    let missing = &seen["missing"];
    assert_eq!(missing[0]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_sse_client_in_distinct_connections_mode_streams_and_resumes() {
    with_client(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_sse_client_in_single_connection_mode_streams_and_resumes() {
    with_client(true).await;
}
