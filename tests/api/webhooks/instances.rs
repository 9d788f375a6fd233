//! Webhooks over two real `sandboxql serve` processes on one Postgres: the instance
//! delivering is killed with SIGKILL mid-delivery, and the other one takes its leased
//! deliveries up when the lease ends: every event arrives, and only what the dead one was
//! sending when it died may arrive twice (at-least-once).

use std::collections::HashMap;

use serde_json::json;

use super::{
    CREATE,
    receiver::{Receiver, free_port},
};
use crate::helpers::{
    db,
    process::serve,
    remote::{create, gql},
    standin_claude,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivering_instance_killed_with_sigkill_leaves_nothing_undelivered() {
    let (dir, db_url, claude) = (tempfile::tempdir().unwrap(), db::fresh_postgres().await, standin_claude());
    let envs = |id: &'static str| {
        vec![
            ("DATABASE_URL", db_url.clone()),
            ("CLAUDE_BIN", claude.clone()),
            ("SANDBOXQL_INSTANCE_ID", id.to_string()),
            ("SANDBOXQL_WEBHOOK_ALLOW_PRIVATE", "true".to_string()),
            ("SANDBOXQL_WEBHOOK_LEASE_SECS", "4".to_string()),
            ("SANDBOXQL_WEBHOOK_RETRY_SECS", "1,1,1,1,1,1,1,1".to_string()),
            ("SANDBOXQL_WEBHOOK_POLL_MS", "100".to_string()),
        ]
    };
    let node = |id: &'static str| {
        let e = envs(id);
        let pairs: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        serve(dir.path(), &[], &pairs)
    };
    let a = node("instance-a");
    let token = a.token.clone().unwrap();
    let mut rx = Receiver::on(free_port());
    rx.start("slow");
    let made = gql(&a.addr, &token, CREATE, json!({"u": rx.url(), "t": ["sandbox.created"]})).await;
    rx.secret(made["data"]["createWebhook"]["secret"].as_str().unwrap());
    let mut sandboxes = vec![];
    for _ in 0..4 {
        sandboxes.push(create(&a.addr, &token).await);
    }
    // A is delivering (the receiver holds each answer two seconds): kill it mid-delivery.
    let arrived = |rx: &Receiver| -> Vec<String> {
        rx.seen().iter().filter(|e| e["status"] == "arrived").map(|e| e["id"].as_str().unwrap().to_string()).collect()
    };
    for _ in 0..300 {
        if !arrived(&rx).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    a.kill9();
    let in_flight: std::collections::HashSet<String> = arrived(&rx).into_iter().collect();
    assert!(!in_flight.is_empty(), "A was delivering when it died");
    let b = node("instance-b");
    let hook = made["data"]["createWebhook"]["webhook"]["id"].clone();
    let q = "query($w: ID!) { webhookDeliveries(webhookId: $w, first: 50) { status } }";
    let mut delivered = false;
    for _ in 0..300 {
        let d = gql(&b.addr, &token, q, json!({"w": hook})).await["data"]["webhookDeliveries"].clone();
        let d = d.as_array().cloned().unwrap_or_default();
        if d.len() == sandboxes.len() && d.iter().all(|x| x["status"] == "DELIVERED") {
            delivered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(delivered, "B delivered everything: {:?}", rx.seen());
    let events: std::collections::HashSet<_> =
        rx.seen().iter().map(|e| e["payload"]["data"]["sandboxId"].clone()).collect();
    assert!(sandboxes.iter().all(|s| events.contains(&json!(s))), "every event arrived");
    // Each event has one webhook-id; what A had in flight came again (B took it up), and
    // nothing else came twice.
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for id in arrived(&rx) {
        *per_id.entry(id).or_default() += 1;
    }
    assert_eq!(per_id.len(), sandboxes.len(), "{per_id:?}");
    for (id, n) in &per_id {
        let expected = if in_flight.contains(id) { 2 } else { 1 };
        assert_eq!(*n, expected, "{id}: in flight at the kill {}: {per_id:?}", in_flight.contains(id));
    }
    drop(b);
}
