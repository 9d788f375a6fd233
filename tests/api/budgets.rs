//! Budgets: an admin caps an account's daily and monthly spend and its concurrent runs; a
//! run that crosses the spend cap is stopped at its next API request and ends FAILED with
//! the reason, and the next one is refused `BUDGET_EXCEEDED` before it starts.

use serde_json::json;

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp, fake_anthropic},
};

const SET_BUDGET: &str = "mutation($a: ID!, $d: Float, $m: Float, $c: Int) { \
    setAccountBudget(accountId: $a, dailyUsd: $d, monthlyUsd: $m, maxConcurrentRuns: $c) \
    { dailyUsd monthlyUsd maxConcurrentRuns } }";
const START: &str = "mutation($s: ID!, $p: String!) { startRun(input: {sandboxId: $s, prompt: $p}) { id } }";
const RUN: &str = "query($id: ID!) { run(id: $id) { status error usage { requests costUsd } } }";

async fn wait_ended(app: &TestApp, token: &str, run: &str) -> serde_json::Value {
    for _ in 0..300 {
        let got = app.ok(token, RUN, json!({"id": run})).await;
        if got["run"]["status"] != "RUNNING" {
            return got["run"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("run {run} did not end");
}

async fn spend_caps(kind: DbKind) {
    let fake = fake_anthropic::start().await;
    let app = TestApp::spawn_with(
        kind,
        |c| {
            c.gateway.anthropic_base_url = format!("http://{}", fake.addr);
            c.gateway.anthropic_api_key = Some(sandboxql::config::Secret("sk-ant-op".into()));
            // The fake's first answer (100 in, 20 out, 50 cache-write, 200 cache-read)
            // costs 370 tokens × $1000/MTok = $0.37.
            c.gateway.model_prices = vec!["fake-model=1000,1000,1000,1000".into()];
        },
        None,
    )
    .await;
    let admin = app.admin_token.clone();
    let (ada_id, ada) = app.new_user("ada").await;
    let sb = app.create_sandbox(&ada, "spender").await;

    // Users may read their budget but not set it.
    let code = app.err(Some(&ada), SET_BUDGET, json!({"a": ada_id, "d": 1000.0})).await.0;
    assert_eq!(code, "FORBIDDEN");
    let set = app.ok(&admin, SET_BUDGET, json!({"a": ada_id, "d": 0.30})).await;
    assert_eq!(set["setAccountBudget"], json!({"dailyUsd": 0.30, "monthlyUsd": null, "maxConcurrentRuns": null}));
    let mine = app.ok(&ada, "{ viewer { budget { dailyUsd } } }", json!({})).await;
    assert_eq!(mine["viewer"]["budget"]["dailyUsd"], 0.30);

    // Under budget, the run starts; its first call costs $0.37 and crosses the cap, so
    // its second call is refused and the run ends FAILED with that reason.
    let run = app.ok(&ada, START, json!({"s": sb, "p": "[api 4] [pause 100]"})).await["startRun"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ended = wait_ended(&app, &ada, &run).await;
    assert_eq!(ended["status"], "FAILED", "{ended}");
    let error = ended["error"].as_str().unwrap();
    assert!(error.starts_with("BUDGET_EXCEEDED: the account's daily budget of $0.30 is spent"), "{error}");
    assert_eq!(ended["usage"], json!({"requests": 1, "costUsd": 0.37}), "only the first call went upstream");
    assert_eq!(fake.usages.lock().unwrap().len(), 1);

    // The next run is refused before it starts, with the stable code.
    let (code, msg) = app.err(Some(&ada), START, json!({"s": sb, "p": "[api 1]"})).await;
    assert_eq!(code, "BUDGET_EXCEEDED", "{msg}");
    assert!(msg.contains("daily budget"), "{msg}");
    // A monthly cap counts the same spend; lifting both lets runs start again.
    app.ok(&admin, SET_BUDGET, json!({"a": ada_id, "m": 0.2})).await;
    assert_eq!(app.err(Some(&ada), START, json!({"s": sb, "p": "[api 1]"})).await.0, "BUDGET_EXCEEDED");
    app.ok(&admin, SET_BUDGET, json!({"a": ada_id, "m": 100.0})).await;
    // (The fake's second answer is 107 + 23 + 51 + 211 tokens: $0.392.)
    let again = app.ok(&ada, START, json!({"s": sb, "p": "[api 1]"})).await;
    let ended = wait_ended(&app, &ada, again["startRun"]["id"].as_str().unwrap()).await;
    assert_eq!(ended["status"], "SUCCEEDED", "{ended}");
    let total = app.ok(&ada, "{ viewer { usage { requests costUsd } } }", json!({})).await;
    assert_eq!(total["viewer"]["usage"], json!({"requests": 2, "costUsd": 0.762}));
}
both_dbs!(a_spend_cap_stops_a_run_mid_way_and_refuses_the_next, spend_caps);

async fn concurrency_cap(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let admin = app.admin_token.clone();
    let (bo_id, bo) = app.new_user("bo").await;
    let (one, two) = (app.create_sandbox(&bo, "one").await, app.create_sandbox(&bo, "two").await);
    app.ok(&admin, SET_BUDGET, json!({"a": bo_id, "c": 1})).await;
    let first = app.start_run(&bo, &one, "[hang]").await;
    let (code, msg) = app.err(Some(&bo), START, json!({"s": two, "p": "x"})).await;
    assert_eq!(code, "BUDGET_EXCEEDED");
    assert!(msg.contains("1 runs at once"), "{msg}");
    app.ok(&bo, "mutation($id: ID!) { cancelRun(id: $id) { id } }", json!({"id": first})).await;
    app.wait_idle(&bo, &one).await;
    let second = app.start_run(&bo, &two, "quick").await;
    let ended = wait_ended(&app, &bo, &second).await;
    assert_eq!(ended["status"], "SUCCEEDED");
    // Another account is not held back by bo's cap.
    let (_, cy) = app.new_user("cy").await;
    let sb = app.create_sandbox(&cy, "c").await;
    let a = app.start_run(&cy, &sb, "[delay 1] quick").await;
    assert_eq!(wait_ended(&app, &cy, &a).await["status"], "SUCCEEDED");
}
both_dbs!(max_concurrent_runs_is_enforced_per_account, concurrency_cap);
