//! A long command on Modal: every `TaskExecWait` is bounded (the fake refuses a wait
//! without a deadline of at most 60 s, and in fake time ends each after 20 ms, standing
//! for 60 s), asked again until the command exits, through a router that drops calls and
//! is away for longer than one call's retries; the run ends SUCCEEDED with every byte.

use std::time::Duration;

use crate::{
    helpers::{DbKind, fake_modal::FakeModal},
    modal_backend::spawn,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_command_is_waited_for_call_after_call_until_it_exits() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("patient").await;
    let sb = app.create_sandbox(&token, "long").await;
    fake.st().wait_call_ms = Some(20);
    fake.st().fail_next.insert("TaskExecWait".into(), 3);
    // A router away for five seconds in the middle of the run: longer than one call's
    // retries (~3.3 s), so the wait outlives failed calls, not only dropped ones.
    let outage = {
        let fake = fake.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            fake.st().fail_always.insert("TaskExecWait".into());
            tokio::time::sleep(Duration::from_secs(5)).await;
            fake.st().fail_always.remove("TaskExecWait");
        })
    };
    let script = "i=0; while [ $i -lt 300 ]; do echo line $i; sleep 0.01; i=$((i+1)); done";
    let run = app.start_run(&token, &sb, &format!("[sh {script} :sh]")).await;
    let fin = crate::bounds::finished(&app, &token, &run).await;
    outage.await.unwrap();
    assert_eq!(fin["status"], "SUCCEEDED", "{fin}");
    let said: serde_json::Value = serde_json::from_str(fin["result"].as_str().unwrap()).unwrap();
    let expected: String = (0..300).map(|i| format!("line {i}\n")).collect();
    assert_eq!(said["stdout"], expected.as_str(), "every byte of the command's output");
    let waits = fake.count("TaskExecWait");
    assert!(waits >= 10, "the wait was asked again and again, through the outage: {waits} calls");
}
