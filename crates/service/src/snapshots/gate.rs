//! Each account's blob gate (see [`entity::blob_gate`](crate::entity::blob_gate)): every
//! sync, checkpoint, rewind and restore enters it for as long as it may reference blobs
//! no committed manifest names yet; a reclaim closes it, and only when nobody is in, so
//! the blobs it finds unreferenced stay unreferenced until it is done. Each step is one
//! conditional UPDATE of the account's row, so instances never both win.

use std::{sync::Arc, time::Duration};

use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, Set, sea_query::Expr, sea_query::ExprTrait,
};
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

use crate::{
    config::Limits,
    entity::{blob_gate, lease::Term, now},
    error::{AppError, AppResult, reasons},
};

/// How often a waiting user looks again.
const RETRY: Duration = Duration::from_millis(25);

/// Enters and closes accounts' gates for this instance.
#[derive(Clone)]
pub struct BlobGate {
    db: DatabaseConnection,
    instance: Arc<str>,
    term: Term,
    wait: Duration,
}

/// Inside an account's gate: renewed in the background, left when dropped.
pub struct Inside {
    db: DatabaseConnection,
    account: Uuid,
    left: bool,
    _renew: AbortOnDropHandle<()>,
}

/// An account's gate closed by this instance's reclaim.
pub struct Closed {
    db: DatabaseConnection,
    account: Uuid,
    owner: String,
    term: Term,
}

fn open_for_users() -> Condition {
    let c = blob_gate::Column::ReclaimUntil;
    Condition::any().add(c.is_null()).add(c.lt(now()))
}

fn stale_users() -> Condition {
    let c = blob_gate::Column::UseUntil;
    Condition::any().add(blob_gate::Column::Users.lte(0)).add(c.is_null()).add(c.lt(now()))
}

impl BlobGate {
    /// Gates on `db`, held as `instance`, waiting at most `reclaim_wait_ms` to enter.
    pub fn new(db: DatabaseConnection, instance: &str, limits: &Limits) -> Self {
        let wait = Duration::from_millis(limits.checkpoints.reclaim_wait_ms);
        Self { db, instance: instance.into(), term: Term::of(limits), wait }
    }

    async fn ensure_row(&self, account: Uuid) -> AppResult<()> {
        let t = now();
        let row = blob_gate::ActiveModel {
            id: Set(account),
            users: Set(0),
            use_until: Set(None),
            reclaim_owner: Set(None),
            reclaim_until: Set(None),
            reclaim_wanted_at: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
        };
        blob_gate::Entity::insert(row).on_conflict_do_nothing_on([blob_gate::Column::Id]).exec(&self.db).await?;
        Ok(())
    }

    async fn try_enter(&self, account: Uuid) -> AppResult<bool> {
        let until = self.term.until();
        let by = |users: Expr| {
            blob_gate::Entity::update_many()
                .col_expr(blob_gate::Column::Users, users)
                .col_expr(blob_gate::Column::UseUntil, Expr::value(until))
                .filter(blob_gate::Column::Id.eq(account))
                .filter(open_for_users())
        };
        // A count whose holders' leases all ran out (a crash) starts again at one.
        let fresh = by(Expr::value(1i64)).filter(stale_users()).exec(&self.db).await?;
        if fresh.rows_affected > 0 {
            return Ok(true);
        }
        let joined = by(Expr::col(blob_gate::Column::Users).add(1i64)).exec(&self.db).await?;
        Ok(joined.rows_affected > 0)
    }

    /// Enters `account`'s gate, waiting while a reclaim holds it (CONFLICT
    /// `RECLAIM_IN_PROGRESS` once the wait runs out).
    pub async fn enter(&self, account: Uuid) -> AppResult<Inside> {
        self.ensure_row(account).await?;
        let deadline = tokio::time::Instant::now() + self.wait;
        while !self.try_enter(account).await? {
            if tokio::time::Instant::now() >= deadline {
                return Err(AppError::conflict_because(
                    reasons::RECLAIM_IN_PROGRESS,
                    "the account's stored files are being cleaned up; retry shortly",
                ));
            }
            tokio::time::sleep(RETRY).await;
        }
        let (db, term) = (self.db.clone(), self.term);
        let renew = tokio::spawn(async move {
            let mut tick = tokio::time::interval(term.every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let r = blob_gate::Entity::update_many()
                    .col_expr(blob_gate::Column::UseUntil, Expr::value(term.until()))
                    .filter(blob_gate::Column::Id.eq(account))
                    .exec(&db)
                    .await;
                if let Err(e) = r {
                    tracing::warn!(%account, error = %e, "could not renew a blob gate");
                }
            }
        });
        Ok(Inside { db: self.db.clone(), account, left: false, _renew: AbortOnDropHandle::new(renew) })
    }

    /// Closes `account`'s gate for a reclaim when nobody is inside; None when someone is
    /// (or another reclaim holds it).
    pub async fn close(&self, account: Uuid) -> AppResult<Option<Closed>> {
        self.ensure_row(account).await?;
        let owner = format!("{}:{}", self.instance, Uuid::now_v7().simple());
        let r = blob_gate::Entity::update_many()
            .col_expr(blob_gate::Column::ReclaimOwner, Expr::value(owner.clone()))
            .col_expr(blob_gate::Column::ReclaimUntil, Expr::value(self.term.until()))
            .col_expr(blob_gate::Column::Users, Expr::value(0i64))
            .filter(blob_gate::Column::Id.eq(account))
            .filter(open_for_users())
            .filter(stale_users())
            .exec(&self.db)
            .await?;
        let closed = Closed { db: self.db.clone(), account, owner, term: self.term };
        Ok((r.rows_affected > 0).then_some(closed))
    }
}

/// Marks `account` for the next reclaim pass (snapshots or checkpoints were removed).
pub async fn want_reclaim(db: &DatabaseConnection, account: Uuid) -> AppResult<()> {
    blob_gate::Entity::update_many()
        .col_expr(blob_gate::Column::ReclaimWantedAt, Expr::value(now()))
        .filter(blob_gate::Column::Id.eq(account))
        .exec(db)
        .await?;
    Ok(())
}

impl Inside {
    /// Leaves the gate now (dropping leaves it too, in the background); once.
    pub async fn leave(mut self) {
        self.left = true;
        leave(&self.db, self.account).await;
    }
}

async fn leave(db: &DatabaseConnection, account: Uuid) {
    let r = blob_gate::Entity::update_many()
        .col_expr(blob_gate::Column::Users, Expr::col(blob_gate::Column::Users).sub(1i64))
        .filter(blob_gate::Column::Id.eq(account))
        .filter(blob_gate::Column::Users.gt(0))
        .exec(db)
        .await;
    if let Err(e) = r {
        tracing::warn!(%account, error = %e, "could not leave a blob gate");
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        if self.left {
            return;
        }
        let (db, account) = (self.db.clone(), self.account);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { leave(&db, account).await });
        }
    }
}

impl Closed {
    /// Extends the hold; false when it was lost (expired and taken), so the reclaim must
    /// stop before deleting anything more.
    pub async fn still_held(&self) -> AppResult<bool> {
        let r = blob_gate::Entity::update_many()
            .col_expr(blob_gate::Column::ReclaimUntil, Expr::value(self.term.until()))
            .filter(blob_gate::Column::Id.eq(self.account))
            .filter(blob_gate::Column::ReclaimOwner.eq(self.owner.clone()))
            .filter(blob_gate::Column::ReclaimUntil.gt(now()))
            .exec(&self.db)
            .await?;
        Ok(r.rows_affected > 0)
    }

    /// Opens the gate again.
    pub async fn open(self) -> AppResult<()> {
        blob_gate::Entity::update_many()
            .col_expr(blob_gate::Column::ReclaimOwner, Expr::value(Option::<String>::None))
            .col_expr(blob_gate::Column::ReclaimUntil, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
            .filter(blob_gate::Column::Id.eq(self.account))
            .filter(blob_gate::Column::ReclaimOwner.eq(self.owner.clone()))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
