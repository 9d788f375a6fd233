//! Sandbox leases: one holder at a time across instances, given back when released or
//! dropped, renewed while held, taken over once expired.

use std::time::Duration;

use sandboxql_core::error::reasons;
use sandboxql_entity::{now, sandbox};
use sandboxql_service::lifecycle::leases::{LeaseKind, Leases};
use sandboxql_testkit::DbKind;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};

use crate::{both_dbs, harness::Harness};

fn leases(h: &Harness, instance: &str) -> Leases {
    Leases::new(h.db.clone(), instance, &h.services.limits)
}

async fn one_holder(kind: DbKind) {
    let h = Harness::new(kind).await;
    let sb = h.sandbox(&h.user("ann").await).await;
    let (a, b) = (leases(&h, "instance-a"), leases(&h, "instance-b"));
    let held = a.acquire(sb.id, LeaseKind::Sync).await.unwrap();
    for other in [&b, &a] {
        let e = other.acquire(sb.id, LeaseKind::Delete).await.expect_err("the lease is held");
        assert_eq!((e.code(), e.reason()), ("CONFLICT", Some(reasons::LEASE_HELD)));
        assert!(e.to_string().contains("sync"), "names what holds it: {e}");
    }
    held.release().await;
    b.acquire(sb.id, LeaseKind::Delete).await.expect("free once released").release().await;
}
both_dbs!(a_held_lease_refuses_every_other_holder_until_released, one_holder);

async fn dropped(kind: DbKind) {
    let h = Harness::new(kind).await;
    let sb = h.sandbox(&h.user("bob").await).await;
    let l = leases(&h, "instance-a");
    drop(l.acquire(sb.id, LeaseKind::Sync).await.unwrap());
    let mut again = None;
    for _ in 0..50 {
        if let Ok(lease) = l.acquire(sb.id, LeaseKind::Sync).await {
            again = Some(lease);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a dropped lease is given back in the background");
    let row = sandbox::Entity::find_by_id(sb.id).one(&h.db).await.unwrap().unwrap();
    assert_eq!(row.lease_kind.as_deref(), Some("sync"));
}
both_dbs!(a_dropped_lease_is_given_back, dropped);

async fn expired(kind: DbKind) {
    let h = Harness::new(kind).await;
    let sb = h.sandbox(&h.user("cat").await).await;
    let mut row = sandbox::Entity::find_by_id(sb.id).one(&h.db).await.unwrap().unwrap().into_active_model();
    row.lease_owner = Set(Some("a-dead-instance#1".into()));
    row.lease_kind = Set(Some("delete".into()));
    row.lease_until = Set(Some(now() - chrono::Duration::seconds(1)));
    row.update(&h.db).await.unwrap();
    let lease = leases(&h, "instance-b").acquire(sb.id, LeaseKind::Sync).await.expect("an expired lease is free");
    let row = sandbox::Entity::find_by_id(sb.id).one(&h.db).await.unwrap().unwrap();
    assert!(row.lease_owner.unwrap().starts_with("instance-b#"));
    lease.release().await;
    let row = sandbox::Entity::find_by_id(sb.id).one(&h.db).await.unwrap().unwrap();
    assert_eq!((row.lease_owner, row.lease_kind, row.lease_until), (None, None, None), "released clears it");
}
both_dbs!(an_expired_lease_is_taken_over, expired);

async fn lease_until(h: &Harness, id: uuid::Uuid) -> chrono::DateTime<chrono::Utc> {
    sandbox::Entity::find_by_id(id).one(&h.db).await.unwrap().unwrap().lease_until.unwrap()
}

async fn renewed(kind: DbKind) {
    let h = Harness::with_flags(kind, &["--lease-secs", "3"]).await;
    let sb = h.sandbox(&h.user("dan").await).await;
    let lease = leases(&h, "instance-a").acquire(sb.id, LeaseKind::Sync).await.unwrap();
    let first = lease_until(&h, sb.id).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let later = lease_until(&h, sb.id).await;
    assert!(later > first, "renewed while held: {first} then {later}");
    assert!(later > now(), "never lapses while its holder lives");
    let e = leases(&h, "instance-b").acquire(sb.id, LeaseKind::Delete).await.err().unwrap();
    assert_eq!(e.reason(), Some(reasons::LEASE_HELD), "still held past its first expiry");
    lease.release().await;
}
both_dbs!(a_held_lease_is_renewed_past_its_first_expiry, renewed);
