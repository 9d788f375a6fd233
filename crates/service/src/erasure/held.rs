//! An erasure's lease, held by this instance while it works: renewed in the background,
//! checked before every batch (a holder that lost it stops before removing more), and the
//! place the work's progress is counted and paced.

use std::time::Duration;

use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, UpdateMany, sea_query::Expr,
    sea_query::ExprTrait,
};
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

use crate::{
    config::Limits,
    entity::{
        account_erasure,
        enums::ErasureStage,
        lease::{self, Term},
        now,
    },
    error::{AppError, AppResult},
};

/// This instance's hold on one account's erasure.
pub(super) struct Held {
    db: DatabaseConnection,
    /// The account being erased.
    pub account: Uuid,
    owner: String,
    pause: Duration,
    _renew: AbortOnDropHandle<()>,
}

impl Held {
    /// Takes the erasure of `account` when nobody holds it; None when someone does.
    pub async fn take(
        db: &DatabaseConnection,
        instance: &str,
        limits: &Limits,
        account: Uuid,
    ) -> AppResult<Option<Self>> {
        let term = Term::of(limits);
        let owner = format!("{instance}#{}", Uuid::new_v4().simple());
        let taken =
            lease::take::<account_erasure::Entity>(db, account, &owner, term.until(), vec![], Condition::all()).await?;
        if !taken {
            return Ok(None);
        }
        let (rdb, rowner) = (db.clone(), owner.clone());
        let renew = tokio::spawn(async move {
            loop {
                tokio::time::sleep(term.every).await;
                let r = lease::renew::<account_erasure::Entity>(&rdb, account, &rowner, term.until(), Condition::all());
                if let Err(e) = r.await {
                    tracing::warn!(%account, error = %e, "could not renew an erasure's lease");
                }
            }
        });
        let pause = Duration::from_millis(limits.storage.erase_pause_ms);
        Ok(Some(Self { db: db.clone(), account, owner, pause, _renew: AbortOnDropHandle::new(renew) }))
    }

    fn mine(&self) -> Condition {
        Condition::all()
            .add(account_erasure::Column::Id.eq(self.account))
            .add(account_erasure::Column::LeaseOwner.eq(self.owner.clone()))
    }

    /// Applies `update` to the erasure row while the lease is this instance's; fails
    /// when it is not (it expired and another took over).
    async fn while_mine(&self, update: UpdateMany<account_erasure::Entity>) -> AppResult<()> {
        let r = update
            .col_expr(account_erasure::Column::UpdatedAt, Expr::value(now()))
            .filter(self.mine())
            .exec(&self.db)
            .await?;
        if r.rows_affected == 0 {
            return Err(AppError::Internal(anyhow::anyhow!("lost the erasure lease of {}", self.account)));
        }
        Ok(())
    }

    /// Counts `n` more removed after a batch and pauses before the next; fails when the
    /// lease is no longer this instance's.
    pub async fn step(&self, n: u64) -> AppResult<()> {
        let erased = Expr::col(account_erasure::Column::Erased).add(n as i64);
        self.while_mine(account_erasure::Entity::update_many().col_expr(account_erasure::Column::Erased, erased))
            .await?;
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        Ok(())
    }

    /// Moves on to `stage`.
    pub async fn set_stage(&self, stage: ErasureStage) -> AppResult<()> {
        let set = account_erasure::Entity::update_many().col_expr(account_erasure::Column::Stage, Expr::value(stage));
        self.while_mine(set).await?;
        tracing::info!(account = %self.account, ?stage, "erasure moved on");
        Ok(())
    }

    /// The owner to match in the final transaction.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Gives the lease back (a no-op once the row is gone).
    pub async fn release(self) {
        if let Err(e) = lease::release::<account_erasure::Entity>(&self.db, self.account, &self.owner, &[]).await {
            tracing::warn!(account = %self.account, error = %e, "could not release an erasure's lease");
        }
    }
}
