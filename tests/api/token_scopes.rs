//! Tokens with an expiry and read-only tokens, over HTTP and websocket: an expired token is
//! UNAUTHENTICATED (and its open socket closed), a read-only token's mutations FORBIDDEN
//! while its queries and subscriptions work.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    both_dbs,
    helpers::{
        DbKind, TestApp, remote,
        runs::{collect, first_of, run_events_query},
        ws::{Closed, WsClient},
    },
};

const CREATE_TOKEN: &str = "mutation($a: ID!, $e: DateTime, $r: Boolean) {
    createToken(accountId: $a, expiresAt: $e, readOnly: $r) { token info { expiresAt readOnly } } }";

async fn issue(
    app: &TestApp,
    account: &str,
    expires: Option<chrono::DateTime<chrono::Utc>>,
    read_only: bool,
) -> String {
    let vars = json!({"a": account, "e": expires.map(|e| e.to_rfc3339()), "r": read_only});
    let data = app.ok(&app.admin_token, CREATE_TOKEN, vars).await;
    assert_eq!(data["createToken"]["info"]["readOnly"], read_only);
    data["createToken"]["token"].as_str().unwrap().to_string()
}

/// The first error code of a websocket operation's `error` (or errored `next`) message.
async fn ws_code(ws: &mut WsClient, id: &str) -> Value {
    let msg = ws.next().await;
    assert_eq!(msg["id"], id, "{msg}");
    match msg["type"].as_str() {
        Some("error") => msg["payload"][0]["extensions"]["code"].clone(),
        Some("next") => {
            let done = ws.next().await;
            assert_eq!((done["id"].as_str(), done["type"].as_str()), (Some(id), Some("complete")), "{done}");
            msg["payload"]["errors"][0]["extensions"]["code"].clone()
        }
        _ => panic!("expected an error: {msg}"),
    }
}

async fn expiring(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (account, _) = app.new_user("temp").await;
    let expires = chrono::Utc::now() + chrono::Duration::seconds(2);
    let token = issue(&app, &account, Some(expires), false).await;

    // Valid until then, on both transports.
    app.ok(&token, "{ viewer { id } }", json!({})).await;
    let mut open = WsClient::connect(app.addr, Some(&token)).await.expect("accepted before expiry");

    let wait = (expires - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200);
    tokio::time::sleep(wait).await;

    let (code, message) = app.err(Some(&token), "{ viewer { id } }", json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert!(!message.contains("expire") || message.len() < 80, "{message}");
    let (code, _) = app.err(Some(&token), "mutation { createSandbox(input: {}) { id } }", json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert_eq!(WsClient::connect(app.addr, Some(&token)).await.err(), Some(Closed { code: 4403 }));
    // The socket opened before the expiry is closed by the periodic recheck.
    let closed = tokio::time::timeout(Duration::from_secs(5), open.next_raw()).await.expect("closed within 5 s");
    assert_eq!(closed, Some(Err(4403)));
    assert_eq!(app.count("SELECT COUNT(*) FROM sandboxes").await, 0);
}
both_dbs!(an_expired_token_is_unauthenticated_on_http_and_websocket, expiring);

async fn read_only(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (account, writer) = app.new_user("watcher").await;
    let reader = issue(&app, &account, None, true).await;
    let sandbox = app.create_sandbox(&writer, "shared").await;

    // Queries work; every mutation is FORBIDDEN and changes nothing.
    let seen = app.ok(&reader, "{ viewer { id } sandboxes { totalCount } }", json!({})).await;
    assert_eq!(seen["viewer"]["id"], account);
    assert_eq!(seen["sandboxes"]["totalCount"], 1);
    let mutations = [
        ("mutation { createSandbox(input: {}) { id } }", json!({})),
        ("mutation($id: ID!) { deleteSandbox(id: $id) { id } }", json!({"id": sandbox})),
        (
            "mutation($s: ID!) { writeFile(sandboxId: $s, path: \"x.txt\", content: \"x\") { path } }",
            json!({"s": sandbox}),
        ),
        (
            "mutation($s: ID!, $p: String!) { startRun(input: {sandboxId: $s, prompt: $p}) { id } }",
            json!({"s": sandbox, "p": "hi"}),
        ),
        // A query and a mutation in one document: refused whichever is chosen.
        ("query Q { viewer { id } } mutation M { createSandbox(input: {}) { id } }", json!({})),
    ];
    for (q, vars) in &mutations {
        let (code, message) = app.err(Some(&reader), q, vars.clone()).await;
        assert_eq!(code, "FORBIDDEN", "{q}: {message}");
        assert!(message.contains("read-only"), "{message}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM sandboxes").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM agent_runs").await, 0);
    assert!(!app.sandbox_dir(&sandbox).join("x.txt").exists());

    // Over websocket: a mutation and a run-starting subscription are FORBIDDEN, a query
    // and a subscription to someone else's run of the same account work.
    let mut ws = WsClient::connect(app.addr, Some(&reader)).await.expect("read-only tokens may subscribe");
    ws.subscribe("m", "mutation { createSandbox(input: {}) { id } }", json!({})).await;
    assert_eq!(ws_code(&mut ws, "m").await, "FORBIDDEN");
    let stream = "subscription($s: ID!) { claudeStream(sandboxId: $s, prompt: \"hi\") { __typename } }";
    ws.subscribe("c", stream, json!({"s": sandbox})).await;
    assert_eq!(ws_code(&mut ws, "c").await, "FORBIDDEN");
    ws.subscribe("q", "{ viewer { id } }", json!({})).await;
    let got = ws.next().await;
    assert_eq!(got["payload"]["data"]["viewer"]["id"], account, "{got}");
    assert_eq!(ws.next().await["type"], "complete");
    assert_eq!(app.count("SELECT COUNT(*) FROM sandboxes").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM agent_runs").await, 0);

    let addr = app.addr.to_string();
    let run = remote::start(&addr, &writer, &sandbox, "hello").await;
    ws.subscribe("e", &run_events_query(), json!({"r": run, "a": 0})).await;
    let events = collect(&mut ws, "e").await;
    assert_eq!(first_of(&events, "RunFinished")["status"], "SUCCEEDED");
}
both_dbs!(a_read_only_token_reads_and_subscribes_but_never_mutates, read_only);
