//! The one recovery path: whatever a dead instance held (a run, a create, a delete) is
//! finished by whichever instance looks once its lease has expired, and nothing that is
//! still held is touched.

use sandboxql_entity::{
    agent_run,
    enums::{RunStatus, SandboxStatus},
    now, sandbox,
};
use sandboxql_run::{events::EventBody, store};
use sandboxql_testkit::DbKind;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};

use crate::{both_dbs, harness::Harness};

async fn with_expired_lease(h: &Harness, id: uuid::Uuid, status: SandboxStatus, kind: &str) {
    let mut row = sandbox::Entity::find_by_id(id).one(&h.db).await.unwrap().unwrap().into_active_model();
    row.status = Set(status);
    row.lease_owner = Set(Some("a-dead-instance#1".into()));
    row.lease_kind = Set(Some(kind.into()));
    row.lease_until = Set(Some(now() - chrono::Duration::seconds(1)));
    row.created_at = Set(now() - chrono::Duration::hours(1));
    row.update(&h.db).await.unwrap();
}

async fn abandoned_create(kind: DbKind) {
    let h = Harness::new(kind).await;
    let sb = h.sandbox(&h.user("ann").await).await;
    with_expired_lease(&h, sb.id, SandboxStatus::Creating, "create").await;
    assert_eq!(h.services.lifecycle.recover(false).await.unwrap(), 1);
    let row = sandbox::Entity::find_by_id(sb.id).one(&h.db).await.unwrap().unwrap();
    assert_eq!(row.status, SandboxStatus::Error);
    assert!(row.status_reason.unwrap().contains("interrupted"));
    assert_eq!(h.services.lifecycle.recover(false).await.unwrap(), 0, "done once");
}
both_dbs!(an_abandoned_create_ends_in_error, abandoned_create);

async fn abandoned_delete(kind: DbKind) {
    let h = Harness::new(kind).await;
    let sb = h.sandbox(&h.user("bob").await).await;
    let workspace = h.workspace(&sb);
    assert!(workspace.exists());
    with_expired_lease(&h, sb.id, SandboxStatus::Deleting, "delete").await;
    assert_eq!(h.services.lifecycle.recover(false).await.unwrap(), 1);
    let row = sandbox::Entity::find_by_id(sb.id).one(&h.db).await.unwrap().unwrap();
    assert!(row.deleted_at.is_some(), "the delete was finished");
    assert!(!workspace.exists(), "and its workspace removed");
}
both_dbs!(an_abandoned_delete_is_finished, abandoned_delete);

async fn held_work(kind: DbKind) {
    let h = Harness::new(kind).await;
    let sb = h.sandbox(&h.user("cat").await).await;
    let mut row = sandbox::Entity::find_by_id(sb.id).one(&h.db).await.unwrap().unwrap().into_active_model();
    row.status = Set(SandboxStatus::Deleting);
    row.lease_owner = Set(Some("a-live-instance#1".into()));
    row.lease_until = Set(Some(now() + chrono::Duration::seconds(60)));
    row.update(&h.db).await.unwrap();
    let run = h.running_run(&sb, false).await;
    assert_eq!(h.services.lifecycle.recover(false).await.unwrap(), 0);
    let row = sandbox::Entity::find_by_id(sb.id).one(&h.db).await.unwrap().unwrap();
    assert!(row.deleted_at.is_none() && row.status == SandboxStatus::Deleting, "a held delete is its holder's");
    let run = agent_run::Entity::find_by_id(run.id).one(&h.db).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Running, "a run whose lease is live is left running");
}
both_dbs!(work_whose_lease_is_live_is_left_alone, held_work);

async fn expired_run(kind: DbKind) {
    let h = Harness::new(kind).await;
    let sb = h.sandbox(&h.user("dan").await).await;
    let run = h.running_run(&sb, true).await;
    let mut am = run.clone().into_active_model();
    am.lease_until = Set(Some(now() - chrono::Duration::seconds(1)));
    am.update(&h.db).await.unwrap();
    assert_eq!(h.services.lifecycle.recover(false).await.unwrap(), 1);
    let after = agent_run::Entity::find_by_id(run.id).one(&h.db).await.unwrap().unwrap();
    assert_eq!(after.status, RunStatus::Interrupted);
    assert!(after.lease_until.is_none());
    let events = store::after(&h.db, run.id, 0, 10).await.unwrap();
    let last = events.last().expect("a closing event");
    match &last.body {
        EventBody::RunFinished { status, reason, .. } => {
            assert_eq!((status.as_str(), reason.as_deref()), ("INTERRUPTED", Some("INTERRUPTED")));
        }
        other => panic!("the run ends with RunFinished, not {other:?}"),
    }
}
both_dbs!(a_run_whose_runner_died_ends_interrupted_with_a_closing_event, expired_run);

async fn own_runs_at_start(kind: DbKind) {
    let h = Harness::new(kind).await;
    let sb = h.sandbox(&h.user("eve").await).await;
    let run = h.running_run(&sb, false).await;
    let mut am = run.clone().into_active_model();
    am.runner_id = Set(Some("test-1".into()));
    am.update(&h.db).await.unwrap();
    assert_eq!(h.services.lifecycle.recover(false).await.unwrap(), 0, "its lease is live");
    assert_eq!(h.services.lifecycle.recover(true).await.unwrap(), 1, "but this instance restarted");
    let after = agent_run::Entity::find_by_id(run.id).one(&h.db).await.unwrap().unwrap();
    assert_eq!(after.status, RunStatus::Interrupted);
    assert!(after.error.unwrap().contains("server stopped"));
}
both_dbs!(a_restarted_instance_ends_the_runs_it_left_behind, own_runs_at_start);
