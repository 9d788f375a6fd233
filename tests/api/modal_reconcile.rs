//! A Modal sandbox that ends while nobody calls (its idle timeout) is listed SLEEPING
//! within one reconcile interval, without any request touching it; running ones stay
//! RUNNING, found in a paged `SandboxListV2` rather than asked about one by one.

use std::time::Duration;

use serde_json::json;

use crate::{
    both_dbs,
    helpers::{DbKind, fake_modal::FakeModal},
    modal_backend::spawn_tweaked,
};

async fn ended_sandboxes_sleep_without_being_touched(kind: DbKind) {
    let fake = FakeModal::start().await;
    let app = spawn_tweaked(kind, &fake, |c| c.limits.io.reconcile_secs = 1).await;
    let (_, token) = app.new_user("idle").await;
    let ended = app.create_sandbox(&token, "ends").await;
    let stays = app.create_sandbox(&token, "stays").await;
    for n in 0..3 {
        app.create_sandbox(&token, &format!("also-stays-{n}")).await;
    }
    let modal_id = {
        let st = fake.st();
        let tag = |id: &str| {
            st.sandboxes.iter().find(|(_, s)| s.tags.iter().any(|t| t.tag_value == id)).map(|(k, _)| k.clone())
        };
        tag(&ended).unwrap()
    };
    // Modal ends it on its idle timeout (status 7).
    fake.end_sandbox(&modal_id, 7);
    let list = "{ sandboxes(first: 10) { edges { node { id status statusReason } } } }";
    let status_of = |data: &serde_json::Value, id: &str| {
        data["sandboxes"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["id"] == id).unwrap()["node"].clone()
    };
    let mut seen = json!(null);
    for _ in 0..40 {
        let data = app.ok(&token, list, json!({})).await;
        seen = status_of(&data, &ended);
        if seen["status"] == "SLEEPING" {
            assert_eq!(status_of(&data, &stays)["status"], "RUNNING", "a running sandbox stays RUNNING");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen["status"], "SLEEPING", "listed SLEEPING within a reconcile interval: {seen}");
    // Only the one missing from the listing (pages of two) was asked about.
    let waits = fake.count("SandboxWaitV2");
    assert!(fake.count("SandboxListV2") >= 3, "paged: {:?}", fake.st().calls);
    assert!((1..=2).contains(&waits), "asked about the ended one only (once per pass): {waits}");
    assert!(seen["statusReason"].as_str().unwrap().contains("wakes it"), "{seen}");
}

both_dbs!(an_ended_modal_sandbox_is_listed_sleeping_without_being_touched, ended_sandboxes_sleep_without_being_touched);
