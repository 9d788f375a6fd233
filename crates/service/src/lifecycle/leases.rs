//! Leases on long work on a sandbox (a sync, its creation, its delete, a wake), held in
//! the database so the rule "one at a time" holds across instances, not only within one.
//! Built on [`entity::lease`](crate::entity::lease), the one lease mechanism runs use too:
//! this adds what a sandbox lease is for, a handle that renews it in the background while
//! held and gives it back when released or dropped.

use std::sync::Arc;

use sea_orm::{Condition, DatabaseConnection, EntityTrait};
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

use crate::{
    config::Limits,
    entity::{
        lease::{self, Term},
        sandbox,
    },
    error::{AppError, AppResult, reasons},
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
    /// A checkpoint being taken on demand.
    Checkpoint,
    /// The workspace being rewound to a checkpoint (no run may start meanwhile).
    Rewind,
    /// The sandbox being moved to another host.
    Move,
}

impl LeaseKind {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            LeaseKind::Sync => "sync",
            LeaseKind::Create => "create",
            LeaseKind::Delete => "delete",
            LeaseKind::Wake => "wake",
            LeaseKind::Checkpoint => "checkpoint",
            LeaseKind::Rewind => "rewind",
            LeaseKind::Move => "move",
        }
    }
}

/// Takes and renews sandbox leases for this instance.
#[derive(Clone)]
pub struct Leases {
    db: DatabaseConnection,
    instance: Arc<str>,
    term: Term,
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
        Prepared { leases: self.clone(), sandbox_id, owner: self.owner(), until: self.term.until() }
    }

    /// Leases taken in the name of `instance`.
    pub fn new(db: DatabaseConnection, instance: &str, limits: &Limits) -> Self {
        Self { db, instance: instance.into(), term: Term::of(limits) }
    }

    /// A new owner name: the instance and a nonce, so two pieces of work on one instance
    /// never mistake each other's lease for their own.
    fn owner(&self) -> String {
        format!("{}#{}", self.instance, Uuid::new_v4().simple())
    }

    /// Takes the sandbox's lease for `kind`, or CONFLICT (reason LEASE_HELD) when another
    /// holder has it.
    pub async fn acquire(&self, sandbox_id: Uuid, kind: LeaseKind) -> AppResult<Lease> {
        let owner = self.owner();
        let also = vec![(sandbox::Column::LeaseKind, kind.name().into())];
        let taken =
            lease::take::<sandbox::Entity>(&self.db, sandbox_id, &owner, self.term.until(), also, Condition::all())
                .await?;
        if !taken {
            let holder = sandbox::Entity::find_by_id(sandbox_id).one(&self.db).await?;
            let what = holder.and_then(|s| s.lease_kind).unwrap_or_else(|| "change".into());
            return Err(AppError::conflict_because(
                reasons::LEASE_HELD,
                format!("a {what} of this sandbox is in progress; retry when it is done"),
            ));
        }
        let renew = AbortOnDropHandle::new(tokio::spawn(self.renew_loop(sandbox_id, owner.clone())));
        Ok(Lease { db: self.db.clone(), sandbox_id, owner, released: false, _renew: renew })
    }

    fn renew_loop(&self, sandbox_id: Uuid, owner: String) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (db, term) = (self.db.clone(), self.term);
        async move {
            loop {
                tokio::time::sleep(term.every).await;
                let renewed =
                    lease::renew::<sandbox::Entity>(&db, sandbox_id, &owner, term.until(), Condition::all()).await;
                if let Err(e) = renewed {
                    tracing::warn!(%sandbox_id, error = %e, "could not renew a sandbox lease");
                }
            }
        }
    }
}

async fn release(db: DatabaseConnection, id: Uuid, owner: String) {
    if let Err(e) = lease::release::<sandbox::Entity>(&db, id, &owner, &[sandbox::Column::LeaseKind]).await {
        tracing::warn!(sandbox_id = %id, error = %e, "could not release a sandbox lease; it will expire");
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("sandbox_id", &self.sandbox_id).field("owner", &self.owner).finish()
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
