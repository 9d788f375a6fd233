//! Sandboxes that outlive their Modal sandbox: the fake ends one with IDLE_TIMEOUT; the
//! sandbox sleeps, its files are read from the volume without waking it, and five
//! concurrent runs and writes wake it with exactly one `SandboxCreate` on the same volume,
//! where Claude's HOME (and so its session) lives on.

use serde_json::{Value, json};

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp, fake_modal::FakeModal},
};

/// `GenericStatus::IdleTimeout` in Modal's API.
const IDLE_TIMEOUT: i32 = 7;

async fn spawn(kind: DbKind, fake: &FakeModal) -> TestApp {
    let url = fake.url();
    TestApp::spawn_with(
        kind,
        move |c| {
            c.backend = sandboxql::config::BackendKind::Modal;
            c.modal.modal_token_id = Some(sandboxql::config::Secret(crate::helpers::fake_modal::TOKEN_ID.into()));
            c.modal.modal_token_secret =
                Some(sandboxql::config::Secret(crate::helpers::fake_modal::TOKEN_SECRET.into()));
            c.modal.modal_server_url = url;
            c.modal.modal_retry_base_ms = 10;
            c.modal.modal_max_attempts = 3;
            c.gateway.gateway_public_url = Some("https://gateway.sandboxql.test".into());
        },
        None,
    )
    .await
}

async fn run_done(app: &TestApp, token: &str, sb: &str, run: &str) -> Value {
    app.wait_idle(token, sb).await;
    let q = "query($id: ID!) { run(id: $id) { status error claudeSessionId } }";
    app.ok(token, q, json!({"id": run})).await["run"].clone()
}

const STATUS: &str = "query($id: ID!) { sandbox(id: $id) { status } }";
const WRITE: &str =
    "mutation($id: ID!, $p: String!, $c: String!) { writeFile(sandboxId: $id, path: $p, content: $c) { size } }";
const START: &str = "mutation($s: ID!, $p: String!) { startRun(input: {sandboxId: $s, prompt: $p}) { id } }";

async fn sleep_and_wake(kind: DbKind) {
    let fake = FakeModal::start().await;
    let app = spawn(kind, &fake).await;
    let (_, token) = app.new_user("sol").await;
    let sb = app.create_sandbox(&token, "napper").await;
    app.ok(&token, WRITE, json!({"id": sb, "p": "notes/a.txt", "c": "before the nap\n"})).await;
    let first = app.start_run(&token, &sb, "first").await;
    let first = run_done(&app, &token, &sb, &first).await;
    assert_eq!(first["status"], "SUCCEEDED", "{first}");
    let session = first["claudeSessionId"].as_str().unwrap().to_string();

    // Modal ends the sandbox on its idle timeout.
    let modal_id = fake.st().sandboxes.keys().next().unwrap().clone();
    fake.end_sandbox(&modal_id, IDLE_TIMEOUT);

    // Reads answer from the volume; the sandbox is SLEEPING; nothing was created.
    let q = "query($id: ID!) { sandbox(id: $id) { files(recursive: true) { entries { path size } } \
             file(path: \"notes/a.txt\") { size isDirectory } \
             fileContent(path: \"notes/a.txt\") { content size truncated } } }";
    let got = app.ok(&token, q, json!({"id": sb})).await["sandbox"].clone();
    let paths: Vec<&str> =
        got["files"]["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["notes", "notes/a.txt"], "{got}");
    assert_eq!(got["file"], json!({"size": 15, "isDirectory": false}));
    assert_eq!(got["fileContent"], json!({"content": "before the nap\n", "size": 15, "truncated": false}));
    assert_eq!(app.ok(&token, STATUS, json!({"id": sb})).await["sandbox"]["status"], "SLEEPING");
    let again = app.ok(&token, q, json!({"id": sb})).await["sandbox"].clone();
    assert_eq!(again["fileContent"]["content"], "before the nap\n", "read at rest while asleep");
    assert_eq!(fake.count("SandboxCreateV2"), 1, "reads never wake it");
    assert!(fake.count("VolumeListFiles2") >= 2 && fake.count("VolumeGetFile2") >= 2);

    // One run and four writes at once: one wake, one SandboxCreate.
    let mut calls = Vec::new();
    for i in 0..5 {
        let (app, token, sb) = (&app, token.clone(), sb.clone());
        calls.push(async move {
            if i == 0 {
                app.ok(&token, START, json!({"s": sb, "p": "after the nap"})).await["startRun"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            } else {
                let p = format!("woke/{i}.txt");
                app.ok(&token, WRITE, json!({"id": sb, "p": p, "c": "up"})).await;
                String::new()
            }
        });
    }
    let ids = futures::future::join_all(calls).await;
    assert_eq!(fake.count("SandboxCreateV2"), 2, "exactly one wake");
    let run = run_done(&app, &token, &sb, &ids[0]).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["claudeSessionId"], session, "the run resumed the same Claude session");
    assert_eq!(app.ok(&token, STATUS, json!({"id": sb})).await["sandbox"]["status"], "RUNNING");

    // The new Modal sandbox mounts the same volume: files and Claude's HOME carried over.
    let (new_id, calls) = {
        let st = fake.st();
        let new_id = st.sandboxes.iter().find(|(_, s)| !s.terminated).map(|(id, _)| id.clone()).unwrap();
        let home = st.sandboxes[&new_id].dir.join("home/standin-calls.jsonl");
        (new_id, std::fs::read_to_string(home).unwrap())
    };
    assert_ne!(new_id, modal_id);
    // The runs' records (a warm Claude waiting for a prompt has no `--` argument).
    let calls: Vec<Value> = calls
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|c| c["argv"].as_array().unwrap().iter().any(|a| a == "--"))
        .collect();
    assert_eq!(calls.len(), 2, "both runs' records are in the one HOME on the volume");
    let resumed: Vec<String> = serde_json::from_value(calls[1]["argv"].clone()).unwrap();
    assert!(resumed.windows(2).any(|w| w[0] == "--resume" && w[1] == session), "{resumed:?}");
    let listing = app
        .ok(&token, "query($id: ID!) { sandbox(id: $id) { files(recursive: true) { totalCount } } }", json!({"id": sb}))
        .await;
    assert_eq!(listing["sandbox"]["files"]["totalCount"], 7, "notes, a.txt, woke and its four files: {listing}");
}
both_dbs!(an_ended_modal_sandbox_sleeps_reads_at_rest_and_wakes_once, sleep_and_wake);
