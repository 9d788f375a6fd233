//! Warm starts on Modal: after a run the next one's Claude waits in an exec kept open
//! through the task command router, behind a wrapper that gives up by itself (so a
//! server that dies leaves nothing waiting); the next run takes it over with the same
//! session, and its token is the one that exec was started with.

use serde_json::json;

use crate::{
    helpers::{
        DbKind,
        fake_modal::{FakeModal, exec_env},
    },
    modal_backend::spawn,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_run_on_modal_takes_over_a_warm_exec() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("modal-warm").await;
    let sb = app.create_sandbox(&token, "warm").await;
    let q = "query($id: ID!) { run(id: $id) { status claudeSessionId } }";
    let first = app.start_run(&token, &sb, "first").await;
    app.wait_idle(&token, &sb).await;
    let first = app.ok(&token, q, json!({"id": first})).await["run"].clone();
    assert_eq!(first["status"], "SUCCEEDED", "{first}");
    let warm = |fake: &FakeModal| {
        let st = fake.st();
        st.execs_requested.iter().rev().find(|e| e.command_args.iter().any(|a| a == "--input-format")).cloned()
    };
    assert!(crate::helpers::process::eventually(10, || warm(&fake).is_some()).await, "a warm exec started");
    let w = warm(&fake).unwrap();
    // Wrapped so it gives up by itself; the session resumed; no prompt in its argv.
    assert!(w.command_args.windows(2).any(|a| a == ["bash", "-c"]), "{:?}", w.command_args);
    let session = first["claudeSessionId"].as_str().unwrap();
    assert!(w.command_args.windows(2).any(|a| a == ["--resume", session]));
    assert!(!w.command_args.contains(&"--".to_string()));
    let key = exec_env(&w)["ANTHROPIC_API_KEY"].clone();

    let starts = fake.count("TaskExecStart");
    let second = app.start_run(&token, &sb, "second").await;
    app.wait_idle(&token, &sb).await;
    let got = app.ok(&token, q, json!({"id": second})).await["run"].clone();
    assert_eq!(got["status"], "SUCCEEDED", "{got}");
    assert_eq!(got["claudeSessionId"], session);
    let simple = uuid::Uuid::parse_str(&second).unwrap().simple().to_string();
    assert!(key.starts_with(&format!("sgw_{simple}_")), "the run is the warm exec");
    // The only exec started since is the next warm one.
    let since: Vec<_> = fake.st().execs_requested.iter().skip(starts).cloned().collect();
    assert!(since.iter().all(|e| !e.command_args.contains(&"--".to_string())), "no cold start");
}
