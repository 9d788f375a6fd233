//! The Modal backend when Modal misbehaves: auth tokens that expire, transient failures
//! retried with the same idempotency, persistent ones answered PROVIDER_UNAVAILABLE with
//! nothing left behind.

use serde_json::json;

use super::modal_backend::{run_to_end, spawn};
use crate::helpers::{DbKind, fake_modal::FakeModal};

/// Auth tokens that live 2 s are refreshed before they expire: a run and file calls over
/// several lifetimes never present an expired one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_auth_tokens_are_refreshed_without_failing_a_call() {
    let fake = FakeModal::start().await;
    fake.st().auth_ttl_secs = 2;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("ava").await;
    // Each round makes control-plane calls (create: volume, sandbox, task id, router
    // access) and router calls (a write).
    let write = "mutation($id: ID!) { writeFile(sandboxId: $id, path: \"a.txt\", content: \"x\") { size } }";
    let mut sb = String::new();
    for i in 0..6 {
        sb = app.create_sandbox(&token, &format!("tokens-{i}")).await;
        assert_eq!(app.ok(&token, write, json!({"id": sb})).await["writeFile"]["size"], 1);
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    }
    let run = run_to_end(&app, &token, &sb, "[delay 300] slow").await;
    assert_eq!(run["status"], "SUCCEEDED", "{}", run["error"]);
    let st = fake.st();
    assert!(st.unauthenticated.is_empty(), "calls with an expired or missing token: {:?}", st.unauthenticated);
    assert!(st.auth_tokens.len() >= 3, "refreshed: {} tokens", st.auth_tokens.len());
}

/// UNAVAILABLE twice, then success: retried, the caller never notices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("tess").await;
    fake.st().fail_next.insert("SandboxCreateV2".into(), 2);
    fake.st().fail_next.insert("TaskExecStart".into(), 2);
    let sb = app.create_sandbox(&token, "retried").await;
    assert_eq!(fake.count("SandboxCreateV2"), 3);
    let files =
        app.ok(&token, "query($id: ID!) { sandbox(id: $id) { files { totalCount } } }", json!({"id": sb})).await;
    assert_eq!(files["sandbox"]["files"]["totalCount"], 0);
    assert_eq!(fake.st().sandboxes.len(), 1);
}

/// A create whose answer was lost is retried with the same idempotency key and gets the
/// sandbox it made: one Modal sandbox (a concurrent create under another key finds it by
/// its stable name). A provider that keeps failing: PROVIDER_UNAVAILABLE without
/// detail, nothing left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_failure_is_provider_unavailable_and_leaves_no_orphan() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("otto").await;
    fake.st().lose_answer.insert("SandboxCreateV2".into(), 1);
    let sb = app.create_sandbox(&token, "retried").await;
    assert_eq!(fake.count("SandboxCreateV2"), 2, "retried once");
    assert_eq!(fake.count("SandboxGetFromNameV2"), 0, "the key found the first");
    assert_eq!(fake.st().sandboxes.len(), 1, "one Modal sandbox");
    let files =
        app.ok(&token, "query($id: ID!) { sandbox(id: $id) { files { totalCount } } }", json!({"id": sb})).await;
    assert_eq!(files["sandbox"]["files"]["totalCount"], 0);

    fake.st().fail_always.insert("SandboxCreateV2".into());
    let (_, body) =
        app.post(Some(&token), "mutation { createSandbox(input: {name: \"ghost\"}) { id } }", json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{body}");
    assert!(!body.to_string().contains("injected"), "Modal's message leaked: {body}");
    assert_eq!(fake.st().sandboxes.len(), 1, "nothing more was made");
    fake.st().fail_always.clear();

    // Files on a live sandbox while Modal is down.
    fake.st().fail_always.insert("TaskExecStart".into());
    let (_, body) = app
        .post(Some(&token), "query($id: ID!) { sandbox(id: $id) { files { totalCount } } }", json!({"id": sb}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "PROVIDER_UNAVAILABLE", "{body}");
}
