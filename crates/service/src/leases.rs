//! Leases on long work on a sandbox (a sync, its creation, its delete), held in the
//! database so the rule "one at a time" holds across instances, not only within one.
//!
//! Taking a lease is one conditional UPDATE: it succeeds only when nobody holds an
//! unexpired lease. The holder renews it while it works; if the holder dies, the lease
//! expires and another instance may take over (or recovery may finish the work).

use std::{sync::Arc, time::Duration};

use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

use crate::{
    config::Limits,
    entity::{now, sandbox},
    error::{AppError, AppResult},
};

/// What a lease is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseKind {
    /// A snapshot being taken.
    Sync,
    /// The sandbox being created.
    Create,
    /// The sandbox being deleted.
    Delete,
    /// The sandbox being woken (a new backend sandbox on its volume).
    Wake,
}

impl LeaseKind {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            LeaseKind::Sync => "sync",
            LeaseKind::Create => "create",
            LeaseKind::Delete => "delete",
            LeaseKind::Wake => "wake",
        }
    }
}

/// Takes and renews sandbox leases for this instance.
#[derive(Clone)]
pub struct Leases {
    db: DatabaseConnection,
    instance: Arc<str>,
    limits: Arc<Limits>,
}

/// A held lease; renewed in the background until released (or dropped).
pub struct Lease {
    db: DatabaseConnection,
    sandbox_id: Uuid,
    owner: String,
    released: bool,
    _renew: AbortOnDropHandle<()>,
}

/// A lease to be written with a new row (no one else can hold it yet).
pub struct Prepared {
    leases: Leases,
    sandbox_id: Uuid,
    owner: String,
    until: chrono::DateTime<chrono::Utc>,
}

impl Prepared {
    /// The owner to store.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The expiry to store.
    pub fn until(&self) -> chrono::DateTime<chrono::Utc> {
        self.until
    }

    /// The row is written: hold (and renew) the lease.
    pub fn hold(self) -> Lease {
        let renew = AbortOnDropHandle::new(tokio::spawn(self.leases.renew_loop(self.sandbox_id, self.owner.clone())));
        Lease {
            db: self.leases.db.clone(),
            sandbox_id: self.sandbox_id,
            owner: self.owner,
            released: false,
            _renew: renew,
        }
    }
}

impl Leases {
    /// A create lease for a row about to be inserted.
    pub fn prepare(&self, sandbox_id: Uuid) -> Prepared {
        let owner = format!("{}#{}", self.instance, Uuid::new_v4().simple());
        Prepared { leases: self.clone(), sandbox_id, owner, until: now() + self.length() }
    }

    /// Leases taken in the name of `instance`.
    pub fn new(db: DatabaseConnection, instance: &str, limits: Arc<Limits>) -> Self {
        Self { db, instance: instance.into(), limits }
    }

    fn length(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.limits.lease_secs.max(1) as i64)
    }

    /// Takes the sandbox's lease for `kind`, or CONFLICT when another holder has it.
    pub async fn acquire(&self, sandbox_id: Uuid, kind: LeaseKind) -> AppResult<Lease> {
        let owner = format!("{}#{}", self.instance, Uuid::new_v4().simple());
        let t = now();
        let free = Condition::any().add(sandbox::Column::LeaseUntil.is_null()).add(sandbox::Column::LeaseUntil.lt(t));
        let taken = sandbox::Entity::update_many()
            .col_expr(sandbox::Column::LeaseOwner, Expr::value(owner.clone()))
            .col_expr(sandbox::Column::LeaseKind, Expr::value(kind.name()))
            .col_expr(sandbox::Column::LeaseUntil, Expr::value(t + self.length()))
            .filter(sandbox::Column::Id.eq(sandbox_id))
            .filter(free)
            .exec(&self.db)
            .await?;
        if taken.rows_affected == 0 {
            let holder = sandbox::Entity::find_by_id(sandbox_id).one(&self.db).await?;
            let what = holder.and_then(|s| s.lease_kind).unwrap_or_else(|| "change".into());
            return Err(AppError::conflict(format!("a {what} of this sandbox is in progress; retry when it is done")));
        }
        let renew = self.renew_loop(sandbox_id, owner.clone());
        let renew = AbortOnDropHandle::new(tokio::spawn(renew));
        Ok(Lease { db: self.db.clone(), sandbox_id, owner, released: false, _renew: renew })
    }

    fn renew_loop(&self, sandbox_id: Uuid, owner: String) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (db, length) = (self.db.clone(), self.length());
        let every = Duration::from_secs((self.limits.lease_secs / 3).max(1));
        async move {
            loop {
                tokio::time::sleep(every).await;
                let renewed = sandbox::Entity::update_many()
                    .col_expr(sandbox::Column::LeaseUntil, Expr::value(now() + length))
                    .filter(sandbox::Column::Id.eq(sandbox_id))
                    .filter(sandbox::Column::LeaseOwner.eq(owner.clone()))
                    .exec(&db)
                    .await;
                if let Err(e) = renewed {
                    tracing::warn!(%sandbox_id, error = %e, "could not renew a sandbox lease");
                }
            }
        }
    }
}

async fn release(db: DatabaseConnection, id: Uuid, owner: String) {
    let released = sandbox::Entity::update_many()
        .col_expr(sandbox::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(sandbox::Column::LeaseKind, Expr::value(Option::<String>::None))
        .col_expr(sandbox::Column::LeaseUntil, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
        .filter(sandbox::Column::Id.eq(id))
        .filter(sandbox::Column::LeaseOwner.eq(owner))
        .exec(&db)
        .await;
    if let Err(e) = released {
        tracing::warn!(sandbox_id = %id, error = %e, "could not release a sandbox lease; it will expire");
    }
}

impl Lease {
    /// Gives the lease back now that the work is done.
    pub async fn release(mut self) {
        self.released = true;
        release(self.db.clone(), self.sandbox_id, self.owner.clone()).await;
    }
}

impl Drop for Lease {
    /// A lease not released (the work failed or was dropped) is released in the
    /// background; if even that fails, it simply expires.
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        rt.spawn(release(self.db.clone(), self.sandbox_id, self.owner.clone()));
    }
}
