//! A run flooded with permission requests (as a process in the sandbox could fake them
//! in Claude's output) keeps at most `max_pending_run_inputs` open; the rest are denied
//! unasked, nothing is recorded for them, and the run still ends. Uses the stand-in
//! claude's stream-json mode.

use serde_json::json;

use crate::{
    helpers::{DbKind, TestApp, runs::EVENT_FIELDS, ws::WsClient},
    interactive::{START, until},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_permission_requests_is_bounded() {
    let app = TestApp::spawn_with(
        DbKind::Sqlite,
        |c| {
            c.limits.max_pending_run_inputs = 3;
            c.limits.permission_timeout_secs = 1;
        },
        None,
    )
    .await;
    let (_, token) = app.new_user("flood").await;
    let sb = app.create_sandbox(&token, "flood").await;
    let vars = json!({"s": sb, "p": "[ask 50]", "m": "ASK", "i": false});
    let run = app.ok(&token, START, vars).await["startRun"]["id"].as_str().unwrap().to_string();
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    let q = format!("subscription($r: ID!) {{ runEvents(runId: $r) {{ {EVENT_FIELDS} }} }}");
    ws.subscribe("e", &q, json!({"r": run})).await;
    let events = until(&mut ws, "RunFinished").await;
    let count = |kind: &str| events.iter().filter(|e| e["__typename"] == kind).count();
    assert_eq!(count("PermissionRequested"), 3, "only the cap is ever open");
    let timeouts = events.iter().filter(|e| e["__typename"] == "PermissionAnswered" && e["decidedBy"] == "TIMEOUT");
    assert_eq!(timeouts.count(), 3);
    assert_eq!(events.last().unwrap()["status"], "SUCCEEDED");
    let open =
        app.ok(&token, "query($r: ID!) { run(id: $r) { pendingPermissions { requestId } } }", json!({"r": run})).await;
    assert_eq!(open["run"]["pendingPermissions"], json!([]));
    assert!(app.ok(&token, "{ viewer { id } }", json!({})).await["viewer"]["id"].is_string());
}
