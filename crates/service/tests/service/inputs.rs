//! The input queue between users and a running Claude: follow-ups, interrupts and ends
//! wait in order until the run's executor takes them, each once; the queue is bounded;
//! permission answers are first-come; only a live, interactive run of one's own account
//! takes any of it.

use sandboxql_core::error::reasons;
use sandboxql_entity::{
    agent_run,
    enums::{PermissionStatus, RunPermissionMode, RunStatus},
};
use sandboxql_run::interactive::inputs::{self, Asked, Input, InputKind};
use sandboxql_service::runs::PermissionAnswer;
use sandboxql_testkit::DbKind;
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};

use crate::{both_dbs, harness::Harness};

async fn in_order(kind: DbKind) {
    let h = Harness::new(kind).await;
    let ann = h.user("ann").await;
    let run = h.running_run(&h.sandbox(&ann).await, true).await;
    let runs = &h.services.runs;
    runs.send_message(&ann, run.id, "first".into()).await.unwrap();
    runs.interrupt(&ann, run.id).await.unwrap();
    runs.send_message(&ann, run.id, "second".into()).await.unwrap();
    runs.end(&ann, run.id).await.unwrap();
    let taken = inputs::take(&h.db, run.id).await.unwrap();
    let msg = |t: &str| Input { kind: InputKind::Message, text: Some(t.into()) };
    let bare = |kind| Input { kind, text: None };
    assert_eq!(taken, vec![msg("first"), bare(InputKind::Interrupt), msg("second"), bare(InputKind::End)]);
    assert!(inputs::take(&h.db, run.id).await.unwrap().is_empty(), "each input is taken once");
}
both_dbs!(inputs_are_taken_in_the_order_sent_and_only_once, in_order);

async fn bounded(kind: DbKind) {
    let h = Harness::with_flags(kind, &["--max-pending-run-inputs", "2"]).await;
    let ann = h.user("ann").await;
    let run = h.running_run(&h.sandbox(&ann).await, true).await;
    let runs = &h.services.runs;
    for t in ["a", "b"] {
        runs.send_message(&ann, run.id, t.into()).await.unwrap();
    }
    let e = runs.send_message(&ann, run.id, "c".into()).await.expect_err("the queue is full");
    assert_eq!(e.code(), "RATE_LIMITED");
    assert_eq!(inputs::take(&h.db, run.id).await.unwrap().len(), 2, "the refused one was not queued");
    runs.send_message(&ann, run.id, "c".into()).await.expect("taking makes room");
}
both_dbs!(the_queue_of_one_run_is_bounded, bounded);

async fn ended(kind: DbKind) {
    let h = Harness::new(kind).await;
    let ann = h.user("ann").await;
    let sb = h.sandbox(&ann).await;
    let run = h.running_run(&sb, true).await;
    let mut am = run.clone().into_active_model();
    am.status = Set(RunStatus::Succeeded);
    am.update(&h.db).await.unwrap();
    let e = h.services.runs.send_message(&ann, run.id, "late".into()).await.err().unwrap();
    assert_eq!((e.code(), e.reason()), ("CONFLICT", Some(reasons::RUN_ENDED)));
    let e = inputs::enqueue(&h.db, run.id, ann.account_id, InputKind::End, None, 10).await.err().unwrap();
    assert_eq!(e.reason(), Some(reasons::RUN_ENDED), "the queue itself refuses too (a run ending meanwhile)");

    let plain = h.running_run(&h.sandbox(&ann).await, false).await;
    let e = h.services.runs.send_message(&ann, plain.id, "hi".into()).await.err().unwrap();
    assert_eq!((e.code(), e.reason()), ("CONFLICT", Some(reasons::NOT_INTERACTIVE)));
}
both_dbs!(an_ended_run_and_a_non_interactive_one_take_no_input, ended);

async fn first_answer(kind: DbKind) {
    let h = Harness::new(kind).await;
    let ann = h.user("ann").await;
    let run = h.running_run(&h.sandbox(&ann).await, true).await;
    let asked = Asked {
        request_id: "req-1".into(),
        tool_name: "Bash".into(),
        tool_use_id: "toolu_1".into(),
        input: serde_json::json!({"command": "ls"}),
    };
    inputs::record_request(&h.db, &run, &asked).await.unwrap();
    let answer = |allow| PermissionAnswer { request_id: "req-1".into(), allow, updated_input: None, message: None };
    h.services.runs.answer_permission(&ann, run.id, answer(false)).await.unwrap();
    let e = h.services.runs.answer_permission(&ann, run.id, answer(true)).await.err().unwrap();
    assert_eq!((e.code(), e.reason()), ("CONFLICT", Some(reasons::ALREADY_ANSWERED)));
    let stored = inputs::answer_of(&h.db, run.id, "req-1").await.unwrap().unwrap();
    assert_eq!((stored.status, stored.by), (PermissionStatus::Denied, Some(ann.account_id)), "the first stands");
    let e =
        h.services.runs.answer_permission(&ann, run.id, PermissionAnswer { request_id: "nope".into(), ..answer(true) });
    assert_eq!(e.await.err().unwrap().code(), "NOT_FOUND");
}
both_dbs!(the_first_answer_to_a_permission_request_wins, first_answer);

async fn withdrawn(kind: DbKind) {
    let h = Harness::new(kind).await;
    let ann = h.user("ann").await;
    let run = h.running_run(&h.sandbox(&ann).await, true).await;
    let asked = Asked {
        request_id: "r".into(),
        tool_name: "Edit".into(),
        tool_use_id: "t".into(),
        input: serde_json::json!({}),
    };
    inputs::record_request(&h.db, &run, &asked).await.unwrap();
    inputs::withdraw_all(&h.db, run.id).await.unwrap();
    let stored = inputs::answer_of(&h.db, run.id, "r").await.unwrap().expect("closed");
    assert_eq!((stored.status, stored.by), (PermissionStatus::Withdrawn, None), "the server closed it");
}
both_dbs!(an_ending_run_withdraws_its_pending_requests, withdrawn);

async fn others(kind: DbKind) {
    let h = Harness::new(kind).await;
    let (ann, bob) = (h.user("ann").await, h.user("bob").await);
    let run = h.running_run(&h.sandbox(&ann).await, true).await;
    let e = h.services.runs.send_message(&bob, run.id, "hi".into()).await.err().unwrap();
    assert_eq!(e.code(), "NOT_FOUND", "another account's run does not exist for bob");
    let mut reader = ann.clone();
    reader.read_only = true;
    assert_eq!(h.services.runs.end(&reader, run.id).await.err().unwrap().code(), "FORBIDDEN");
    assert!(inputs::take(&h.db, run.id).await.unwrap().is_empty());
    let ask = h.running_run(&h.sandbox(&ann).await, false).await;
    let mut am: agent_run::ActiveModel = ask.clone().into_active_model();
    am.permission_mode = Set(RunPermissionMode::Ask);
    am.update(&h.db).await.unwrap();
    h.services.runs.end(&ann, ask.id).await.expect("an ASK run talks over stdin, so it takes input");
}
both_dbs!(only_the_runs_own_writers_talk_to_it, others);
