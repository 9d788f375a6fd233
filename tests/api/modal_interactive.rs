//! An interactive run on the Modal backend (the in-process fake of Modal's API, which runs
//! each exec for real): the prompt and every follow-up travel as exec stdin
//! (`TaskExecStdinWrite`, in order, EOF when the run ends), each answered in the same run.

use serde_json::json;

use crate::{
    helpers::{DbKind, fake_modal::FakeModal, runs::EVENT_FIELDS, ws::WsClient},
    interactive::{START, until},
    modal_backend::spawn_tweaked,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interactive_run_on_modal_takes_follow_ups_over_exec_stdin() {
    let fake = FakeModal::start().await;
    let app = spawn_tweaked(DbKind::Sqlite, &fake, |_| {}).await;
    let (_, token) = app.new_user("marta").await;
    let sb = app.create_sandbox(&token, "modal-chat").await;
    let vars = json!({"s": sb, "p": "first question", "m": "BYPASS", "i": true});
    let run = app.ok(&token, START, vars).await["startRun"]["id"].as_str().unwrap().to_string();
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    let q = format!("subscription($r: ID!) {{ runEvents(runId: $r) {{ {EVENT_FIELDS} }} }}");
    ws.subscribe("e", &q, json!({"r": run})).await;
    let said = |events: &[serde_json::Value]| {
        events.iter().filter(|e| e["__typename"] == "AssistantText").map(|e| e["text"].to_string()).collect::<String>()
    };
    assert!(said(&until(&mut ws, "TurnFinished").await).contains("You said: first question"));

    let send = "mutation($r: ID!, $t: String!) { sendMessage(runId: $r, text: $t) { id } }";
    app.ok(&token, send, json!({"r": run, "t": "second question"})).await;
    let second = until(&mut ws, "TurnFinished").await;
    assert!(second.iter().any(|e| e["__typename"] == "UserMessage" && e["text"] == "second question"));
    assert!(said(&second).contains("You said: second question"));
    app.ok(&token, "mutation($r: ID!) { endRun(runId: $r) { id } }", json!({"r": run})).await;
    let fin = until(&mut ws, "RunFinished").await.pop().unwrap();
    assert_eq!(fin["status"], "SUCCEEDED", "{fin}");

    let st = fake.st();
    let writes = st.calls.iter().filter(|c| c.as_str() == "TaskExecStdinWrite").count();
    assert!(writes >= 3, "the prompt, the follow-up and EOF each reached Modal: {writes}");
    let claude =
        st.execs_requested.iter().find(|e| e.command_args.iter().any(|a| a.ends_with("claude-standin.py"))).unwrap();
    assert!(!claude.command_args.iter().any(|a| a.contains("question")), "prompts travel on stdin, not argv");
}
