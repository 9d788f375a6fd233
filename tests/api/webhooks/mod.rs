//! Webhooks against a real receiver that verifies every delivery with the Standard
//! Webhooks reference library: a run is heard as `run.started` then `run.finished`
//! (same run, final status and cost); a receiver down for 30 s gets every event after, in
//! order per sandbox, retries carrying the same `webhook-id`; private addresses are
//! refused without `--webhook-allow-private` and redirects are not followed; another
//! account sees and hears none of it.

mod claude;
mod instances;
mod receiver;

use serde_json::{Value, json};

use self::receiver::{Receiver, free_port};
use crate::helpers::{DbKind, TestApp};

pub(crate) const CREATE: &str = "mutation($u: String!, $t: [String!]) { createWebhook(input: {url: $u, eventTypes: $t}) { secret webhook { id url eventTypes } } }";
const DELIVERIES: &str = "query($w: ID!) { webhookDeliveries(webhookId: $w, first: 50) { id eventType status attempts responseStatus latencyMs error nextAttemptAt } }";

/// A server delivering to loopback (the receiver's), retrying after `retry` seconds.
async fn app(allow_private: bool, retry: Vec<u64>) -> TestApp {
    TestApp::spawn_with(
        DbKind::Sqlite,
        move |c| {
            c.webhook_allow_private = allow_private;
            // Secrets rest sealed under a key, as in production.
            c.broker.secrets_key =
                Some(sandboxql::config::Secret("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()));
            c.limits.webhooks.webhook_retry_secs = retry;
            c.limits.webhooks.webhook_poll_ms = 100;
        },
        None,
    )
    .await
}

/// Makes an endpoint for `url` hearing `types`; its id and secret.
async fn endpoint(app: &TestApp, token: &str, url: &str, types: &[&str]) -> (String, String) {
    let made = app.ok(token, CREATE, json!({"u": url, "t": types})).await["createWebhook"].clone();
    (made["webhook"]["id"].as_str().unwrap().to_string(), made["secret"].as_str().unwrap().to_string())
}

/// The endpoint's newest delivery once its first attempt is recorded.
async fn first_attempt(app: &TestApp, token: &str, hook: &str) -> Value {
    for _ in 0..100 {
        let last = app.ok(token, DELIVERIES, json!({"w": hook})).await["webhookDeliveries"][0].clone();
        if last["attempts"] == 1 {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{hook}: no attempt was recorded");
}

fn types(taken: &[Value]) -> Vec<String> {
    taken.iter().map(|p| p["type"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_heard_as_started_then_finished_verified_by_the_reference_library() {
    let app = app(true, vec![1]).await;
    let (_, token) = app.new_user("hana").await;
    let mut rx = Receiver::on(free_port());
    rx.start("ok");
    let (hook, secret) = endpoint(&app, &token, &rx.url(), &[]).await;
    assert!(secret.starts_with("whsec_"));
    rx.secret(&secret);
    let sb = app.create_sandbox(&token, "hooked").await;
    let run = app.start_run(&token, &sb, "say hello").await;
    let taken = rx.until("run.finished", |t| t.iter().any(|p| p["type"] == "run.finished")).await;
    assert_eq!(types(&taken), vec!["sandbox.created", "run.started", "run.finished"], "{taken:?}");
    let (started, finished) = (&taken[1]["data"], &taken[2]["data"]);
    assert_eq!(started["runId"], json!(run));
    assert_eq!(finished["runId"], json!(run));
    assert_eq!(finished["sandboxId"], json!(sb));
    assert_eq!(finished["status"], "SUCCEEDED");
    let q = "query($id: ID!) { run(id: $id) { costUsd numTurns } }";
    let row = app.ok(&token, q, json!({"id": run})).await["run"].clone();
    assert_eq!(finished["costUsd"], row["costUsd"], "{finished}");
    assert_eq!(finished["numTurns"], row["numTurns"]);
    assert!(taken.iter().all(|p| p["timestamp"].is_string()));
    assert!(rx.seen().iter().all(|e| e["verified"] == true), "every delivery verifies: {:?}", rx.seen());
    let listed = app.ok(&token, DELIVERIES, json!({"w": hook})).await["webhookDeliveries"].clone();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed.iter().all(|d| d["status"] == "DELIVERED" && d["attempts"] == 1 && d["responseStatus"] == 204),
        "{listed:?}"
    );
    assert!(listed.iter().all(|d| d["latencyMs"].is_i64() && d["nextAttemptAt"].is_null()));
    // testWebhook: to this endpoint only, signed the same way.
    app.ok(&token, "mutation($w: ID!) { testWebhook(id: $w) { id } }", json!({"w": hook})).await;
    rx.until("webhook.test", |t| t.iter().any(|p| p["type"] == "webhook.test")).await;
    // The secret rests sealed; after a rotation the new one verifies (the old one still
    // signs beside it through the overlap).
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks WHERE secret LIKE '%whsec_%'").await, 0);
    let q = "mutation($w: ID!) { rotateWebhookSecret(id: $w) { secret webhook { previousSecretUntil } } }";
    let rotated = app.ok(&token, q, json!({"w": hook})).await["rotateWebhookSecret"].clone();
    assert!(rotated["webhook"]["previousSecretUntil"].is_string());
    rx.secret(rotated["secret"].as_str().unwrap());
    app.ok(&token, "mutation($w: ID!) { testWebhook(id: $w) { id } }", json!({"w": hook})).await;
    rx.until("a delivery under the new secret", |t| t.iter().filter(|p| p["type"] == "webhook.test").count() == 2)
        .await;
    assert!(rx.seen().iter().all(|e| e["verified"] == true), "{:?}", rx.seen());
    // A process's exit, with its code and never its command line.
    let process = app.start_process(&token, &sb, &["sh", "-c", "exit 3 # argv-marker"]).await;
    let taken = rx.until("process.exited", |t| t.iter().any(|p| p["type"] == "process.exited")).await;
    let exited = taken.iter().find(|p| p["type"] == "process.exited").unwrap();
    assert_eq!((exited["data"]["processId"].clone(), exited["data"]["exitCode"].clone()), (json!(process), json!(3)));
    assert!(!exited.to_string().contains("argv-marker"), "{exited}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_30_seconds_gets_every_event_after_in_order_with_one_id_per_event() {
    let app = app(true, vec![1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]).await;
    let (_, token) = app.new_user("dora").await;
    let mut rx = Receiver::on(free_port());
    let (hook, secret) = endpoint(&app, &token, &rx.url(), &[]).await;
    rx.secret(&secret);
    // Events of two sandboxes while nothing listens.
    let a = app.create_sandbox(&token, "a").await;
    let b = app.create_sandbox(&token, "b").await;
    app.start_run(&token, &a, "one").await;
    app.start_run(&token, &b, "two").await;
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    let listed = app.ok(&token, DELIVERIES, json!({"w": hook})).await["webhookDeliveries"].clone();
    assert!(listed.as_array().unwrap().iter().all(|d| d["status"] == "PENDING"), "{listed}");
    assert!(listed.as_array().unwrap().iter().any(|d| d["attempts"].as_i64().unwrap() >= 3 && d["error"].is_string()));
    // Up again, refusing each first attempt once: every event arrives.
    rx.start("fail-first");
    let taken = rx.until("all six", |t| t.len() >= 6).await;
    for sb in [&a, &b] {
        let of: Vec<String> = taken
            .iter()
            .filter(|p| p["data"]["sandboxId"] == json!(sb))
            .map(|p| p["type"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(of, vec!["sandbox.created", "run.started", "run.finished"], "in order for {sb}: {taken:?}");
    }
    // Each event came with one webhook-id, refused once and taken once.
    let seen = rx.seen();
    let mut ids: Vec<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "{seen:?}");
    for id in ids {
        let statuses: Vec<&Value> = seen.iter().filter(|e| e["id"] == id).map(|e| &e["status"]).collect();
        assert_eq!(statuses, vec![&json!(503), &json!(204)], "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_and_redirects_are_not_followed() {
    let app = app(false, vec![60]).await;
    let (_, token) = app.new_user("pia").await;
    let port = free_port();
    let mut rx = Receiver::on(port);
    rx.start("ok");
    let urls = [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        "http://10.0.0.1/hook".to_string(),
        "http://169.254.169.254/latest/meta-data".to_string(),
        format!("http://[::1]:{port}/hook"),
    ];
    for url in &urls {
        let (hook, _) = endpoint(&app, &token, url, &[]).await;
        app.ok(&token, "mutation($w: ID!) { testWebhook(id: $w) { id } }", json!({"w": hook})).await;
        let last = first_attempt(&app, &token, &hook).await;
        assert_eq!(last["status"], "PENDING", "{url}: {last}");
        assert!(last["responseStatus"].is_null(), "{url}: never reached: {last}");
        let why = last["error"].as_str().unwrap_or_default();
        assert!(why.contains("public address"), "{url}: {why}");
    }
    assert!(rx.seen().is_empty(), "nothing reached the receiver: {:?}", rx.seen());

    // Allowed to loopback, a 302 is recorded as it is, never followed.
    let app = self::app(true, vec![60]).await;
    let (_, token) = app.new_user("rita").await;
    let mut rx = Receiver::on(free_port());
    rx.start("redirect");
    let (hook, secret) = endpoint(&app, &token, &rx.url(), &[]).await;
    rx.secret(&secret);
    app.ok(&token, "mutation($w: ID!) { testWebhook(id: $w) { id } }", json!({"w": hook})).await;
    let last = first_attempt(&app, &token, &hook).await;
    assert_eq!((last["status"].as_str(), last["responseStatus"].as_i64()), (Some("PENDING"), Some(302)), "{last}");
    assert!(rx.seen().iter().all(|e| e["path"] != "/elsewhere"), "the redirect was not followed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_account_cannot_see_test_redeliver_or_hear_an_accounts_events() {
    let app = app(true, vec![1]).await;
    let (_, ann) = app.new_user("ann").await;
    let (_, bob) = app.new_user("bob").await;
    let (mut ra, mut rb) = (Receiver::on(free_port()), Receiver::on(free_port()));
    ra.start("ok");
    rb.start("ok");
    let (hook, secret) = endpoint(&app, &ann, &ra.url(), &[]).await;
    ra.secret(&secret);
    let (_, bob_secret) = endpoint(&app, &bob, &rb.url(), &[]).await;
    rb.secret(&bob_secret);
    app.create_sandbox(&ann, "anns").await;
    ra.until("ann's event", |t| !t.is_empty()).await;
    let delivery = app.ok(&ann, DELIVERIES, json!({"w": hook})).await["webhookDeliveries"][0]["id"].clone();

    let listed = app.ok(&bob, "{ webhooks { id } }", json!({})).await["webhooks"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1, "Bob sees his own only: {listed}");
    assert_ne!(listed[0]["id"], json!(hook));
    for (q, v) in [
        (DELIVERIES, json!({"w": hook})),
        ("mutation($w: ID!) { testWebhook(id: $w) { id } }", json!({"w": hook})),
        ("mutation($d: ID!) { redeliverWebhook(deliveryId: $d) { id } }", json!({"d": delivery})),
        ("mutation($w: ID!) { rotateWebhookSecret(id: $w) { secret } }", json!({"w": hook})),
    ] {
        let (_, body) = app.post(Some(&bob), q, v).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{q}: {body}");
    }
    let (_, body) = app.post(Some(&bob), "mutation($w: ID!) { deleteWebhook(id: $w) }", json!({"w": hook})).await;
    assert_eq!(body["data"]["deleteWebhook"], false, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(rb.taken().is_empty(), "Bob hears none of Ann's events: {:?}", rb.taken());
    // A bad event type is refused with a clear error.
    let (_, body) = app.post(Some(&ann), CREATE, json!({"u": ra.url(), "t": ["run.exploded"]})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
}
