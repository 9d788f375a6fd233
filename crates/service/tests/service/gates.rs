//! The blob gate: a reclaim closes it only when nobody is inside; users wait while it is
//! closed; each user counts once however it leaves; a crashed user's count stops counting
//! once its lease runs out.

use std::time::Duration;

use sandboxql_core::error::reasons;
use sandboxql_service::snapshots::gate::BlobGate;
use sandboxql_testkit::DbKind;
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use crate::{both_dbs, harness::Harness};

async fn counted(kind: DbKind) {
    let h = Harness::with_flags(kind, &["--reclaim-wait-ms", "300"]).await;
    let gate = BlobGate::new(h.db.clone(), "instance-a", &h.services.limits);
    let account = Uuid::now_v7();
    let (one, two) = (gate.enter(account).await.unwrap(), gate.enter(account).await.unwrap());
    assert!(gate.close(account).await.unwrap().is_none(), "two are inside");
    one.leave().await;
    // Leaving is counted once: the other user is still inside.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(gate.close(account).await.unwrap().is_none(), "one is still inside");
    drop(two);
    let mut closed = None;
    for _ in 0..50 {
        closed = gate.close(account).await.unwrap();
        if closed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let closed = closed.expect("nobody inside: the reclaim closes it");
    let e = gate.enter(account).await.err().expect("closed: users wait, then are refused");
    assert_eq!((e.code(), e.reason()), ("CONFLICT", Some(reasons::RECLAIM_IN_PROGRESS)));
    assert!(closed.still_held().await.unwrap());
    closed.open().await.unwrap();
    gate.enter(account).await.expect("open again").leave().await;
}
both_dbs!(the_gate_closes_only_when_nobody_is_inside_and_counts_each_user_once, counted);

async fn crashed(kind: DbKind) {
    let h = Harness::new(kind).await;
    let gate = BlobGate::new(h.db.clone(), "instance-a", &h.services.limits);
    let account = Uuid::now_v7();
    gate.enter(account).await.unwrap().leave().await;
    // What a user whose instance died leaves behind: counted in, with a lease that is no
    // longer renewed.
    let left = sandboxql_entity::blob_gate::ActiveModel {
        id: Set(account),
        users: Set(1),
        use_until: Set(Some(sandboxql_entity::now() + chrono::Duration::seconds(2))),
        ..Default::default()
    };
    left.update(&h.db).await.unwrap();
    assert!(gate.close(account).await.unwrap().is_none(), "counted while its lease lasts");
    let mut closed = None;
    for _ in 0..100 {
        closed = gate.close(account).await.unwrap();
        if closed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(closed.is_some(), "a crashed user stops counting once its lease runs out");
}
both_dbs!(a_crashed_users_count_runs_out_with_its_lease, crashed);
