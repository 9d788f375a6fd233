//! Webhooks of the real Claude Code CLI's runs: an ASK run's permission request is heard
//! as `run.permission_requested` (the tool's name, never its input), and each turn of an
//! interactive run as `run.turn_finished`, each verified by the reference library.

use serde_json::json;

use super::{
    endpoint,
    receiver::{Receiver, free_port},
};
use crate::{
    helpers::fake_anthropic,
    interactive::{ANSWER, app_with_claude, follow, start, until},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_requests_and_turns_of_the_real_cli_are_heard() {
    let fake = fake_anthropic::start().await;
    let app = app_with_claude(&fake, |c| {
        c.webhook_allow_private = true;
        c.limits.webhooks.webhook_poll_ms = 100;
    })
    .await;
    let (_, token) = app.new_user("ivy").await;
    let mut rx = Receiver::on(free_port());
    rx.start("ok");
    let (_, secret) = endpoint(&app, &token, &rx.url(), &["run.permission_requested", "run.turn_finished"]).await;
    rx.secret(&secret);
    let sb = app.create_sandbox(&token, "asks").await;

    let run = start(&app, &token, &sb, "Please [bash: echo secret-content > f.txt :bash]", "ASK", false).await;
    let mut ws = follow(&app, &token, &run).await;
    let req = until(&mut ws, "PermissionRequested").await.pop().unwrap();
    let heard = rx.until("the permission request", |t| !t.is_empty()).await;
    assert_eq!(heard[0]["type"], "run.permission_requested");
    assert_eq!(heard[0]["data"]["runId"], json!(run));
    assert_eq!(heard[0]["data"]["toolName"], "Bash");
    assert_eq!(heard[0]["data"]["requestId"], req["requestId"]);
    assert!(!heard[0].to_string().contains("secret-content"), "no tool input: {}", heard[0]);
    let q = req["requestId"].as_str().unwrap();
    app.ok(&token, ANSWER, json!({"r": run, "q": q, "a": true})).await;
    until(&mut ws, "RunFinished").await;

    let run = start(&app, &token, &sb, "Hello [bash: echo first :bash]", "BYPASS", true).await;
    let mut ws = follow(&app, &token, &run).await;
    until(&mut ws, "TurnFinished").await;
    let of_run = |p: &serde_json::Value| p["type"] == "run.turn_finished" && p["data"]["runId"] == json!(run);
    let heard = rx.until("the turn", |t| t.iter().any(of_run)).await;
    let turn = heard.iter().find(|p| of_run(p)).unwrap();
    assert_eq!((turn["data"]["isError"].clone(), turn["data"]["interrupted"].clone()), (json!(false), json!(false)));
    app.ok(&token, "mutation($r: ID!) { cancelRun(id: $r) { id } }", json!({"r": run})).await;
}
