//! A run of hours on Modal, in fake time: every `TaskExecWait` is bounded (the fake
//! refuses a wait without a deadline of at most 60 s, and ends each after 20 ms, standing
//! for 60 s), asked again until the command exits; meanwhile the router drops a call now
//! and then, is away for five seconds, and restarts once (every
//! connection to it cut, back at the same URL). The run ends SUCCEEDED with every byte.

use std::time::Duration;

use crate::{
    helpers::{DbKind, fake_modal::FakeModal},
    modal_backend::spawn_tweaked,
};

/// Wait calls in two hours of fake time (one per 60 s).
const TWO_HOURS_OF_WAITS: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_two_hours_survives_dropped_calls_and_a_router_restart() {
    let fake = FakeModal::start().await;
    // Fake time for the client too: its pause between waits (1 s) scaled like the waits.
    let app = spawn_tweaked(DbKind::Sqlite, &fake, |c| c.modal.modal_retry_cap_ms = 20).await;
    let (_, token) = app.new_user("patient").await;
    let sb = app.create_sandbox(&token, "long").await;
    {
        let mut st = fake.st();
        st.wait_call_ms = Some(20);
        st.fail_next.insert("TaskExecWait".into(), 3);
        st.drop_router_every = Some(9);
    }
    let trouble = {
        let fake = fake.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            fake.restart_router(Duration::from_millis(800)).await;
            // Away for five seconds: the wait outlives failed calls, not only dropped ones.
            tokio::time::sleep(Duration::from_millis(500)).await;
            fake.st().fail_always.insert("TaskExecWait".into());
            tokio::time::sleep(Duration::from_secs(5)).await;
            fake.st().fail_always.remove("TaskExecWait");
        })
    };
    let script = "i=0; while [ $i -lt 300 ]; do echo line $i; sleep 0.035; i=$((i+1)); done";
    let run = app.start_run(&token, &sb, &format!("[sh {script} :sh]")).await;
    let fin = crate::bounds::finished(&app, &token, &run).await;
    trouble.await.unwrap();
    assert_eq!(fin["status"], "SUCCEEDED", "{fin}");
    let said: serde_json::Value = serde_json::from_str(fin["result"].as_str().unwrap()).unwrap();
    let expected: String = (0..300).map(|i| format!("line {i}\n")).collect();
    assert_eq!(said["stdout"], expected.as_str(), "every byte of the command's output");
    let waits = fake.count("TaskExecWait");
    eprintln!("{waits} TaskExecWait calls of 60 s fake time each");
    assert!(waits >= TWO_HOURS_OF_WAITS, "two hours of fake time in bounded waits: {waits} calls");
    assert!(fake.st().router_calls >= 9, "calls were dropped");
}
