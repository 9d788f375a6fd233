//! Budgets: set by admins (audited), read back as set, and held when a run starts: runs
//! at once, and spend per UTC day and month from the usage ledger.

use sandboxql_entity::{
    change_log,
    enums::{Role, RunPermissionMode},
    new_id, now, usage_record,
};
use sandboxql_service::{
    accounts::Actor,
    billing::budgets::{self, Budget},
    runs::StartRun,
};
use sandboxql_testkit::DbKind;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::{both_dbs, harness::Harness};

fn prompt() -> StartRun {
    StartRun {
        prompt: "hello".into(),
        model: None,
        max_turns: None,
        permission_mode: RunPermissionMode::Bypass,
        interactive: false,
    }
}

async fn set_and_read(kind: DbKind) {
    let h = Harness::new(kind).await;
    let ann = h.user("ann").await;
    assert_eq!(budgets::get(&h.db, ann.account_id).await.unwrap(), Budget::default(), "unset is no cap");
    let b = Budget { daily_usd: Some(2.5), monthly_usd: Some(40.0), max_concurrent_runs: Some(3) };
    assert_eq!(budgets::set(&h.db, Actor::Operator, ann.account_id, b).await.unwrap(), b);
    assert_eq!(budgets::get(&h.db, ann.account_id).await.unwrap(), b);
    let audit = change_log::Entity::find()
        .filter(change_log::Column::EntityId.eq(ann.account_id))
        .filter(change_log::Column::Action.eq("set_budget"))
        .all(&h.db)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "the change is audited");

    let e = budgets::set(&h.db, Actor::Viewer(&ann), ann.account_id, Budget::default()).await.err().unwrap();
    assert_eq!(e.code(), "FORBIDDEN", "a user cannot lift their own budget");
    let mut admin = ann.clone();
    admin.role = Role::Admin;
    let bad = Budget { daily_usd: Some(-1.0), ..b };
    assert_eq!(
        budgets::set(&h.db, Actor::Viewer(&admin), ann.account_id, bad).await.err().unwrap().code(),
        "BAD_USER_INPUT"
    );
    let e = budgets::set(&h.db, Actor::Viewer(&admin), new_id(), b).await.err().unwrap();
    assert_eq!(e.code(), "NOT_FOUND");
    assert_eq!(budgets::get(&h.db, ann.account_id).await.unwrap(), b, "refused changes changed nothing");
}
both_dbs!(budgets_are_set_by_admins_audited_and_read_back, set_and_read);

async fn runs_at_once(kind: DbKind) {
    let h = Harness::new(kind).await;
    let ann = h.user("ann").await;
    let (busy, idle) = (h.sandbox(&ann).await, h.sandbox(&ann).await);
    h.running_run(&busy, false).await;
    let one = Budget { max_concurrent_runs: Some(1), ..Budget::default() };
    budgets::set(&h.db, Actor::Operator, ann.account_id, one).await.unwrap();
    let e = h.services.runs.start(&ann, &idle, prompt()).await.expect_err("one run at once");
    assert_eq!(e.code(), "BUDGET_EXCEEDED");
    assert!(e.to_string().contains("1 runs at once"), "{e}");
}
both_dbs!(a_budget_of_one_run_at_once_refuses_a_second, runs_at_once);

async fn spend(kind: DbKind) {
    let h = Harness::new(kind).await;
    let ann = h.user("ann").await;
    let sb = h.sandbox(&ann).await;
    let run = h.running_run(&sb, false).await;
    usage_record::ActiveModel {
        id: Set(new_id()),
        account_id: Set(ann.account_id),
        sandbox_id: Set(sb.id),
        run_id: Set(run.id),
        model: Set("claude-test".into()),
        input_tokens: Set(1000),
        output_tokens: Set(1000),
        cache_creation_input_tokens: Set(0),
        cache_read_input_tokens: Set(0),
        cost_micros: Set(1_500_000),
        created_at: Set(now()),
        updated_at: Set(now()),
    }
    .insert(&h.db)
    .await
    .unwrap();
    let other = h.sandbox(&ann).await;
    for (b, period) in [
        (Budget { daily_usd: Some(1.0), ..Budget::default() }, "daily"),
        (Budget { monthly_usd: Some(1.0), ..Budget::default() }, "monthly"),
    ] {
        budgets::set(&h.db, Actor::Operator, ann.account_id, b).await.unwrap();
        let e = h.services.runs.start(&ann, &other, prompt()).await.expect_err("the budget is spent");
        assert_eq!(e.code(), "BUDGET_EXCEEDED");
        assert!(e.to_string().contains(period), "says which budget: {e}");
    }
}
both_dbs!(a_spent_daily_or_monthly_budget_refuses_the_next_run, spend);
