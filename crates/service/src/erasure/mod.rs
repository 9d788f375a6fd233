//! Erasing an account on an admin's request (`deleteAccount`): every sandbox stopped and
//! its workspace and volume removed, every object under the account's storage prefix
//! deleted, every row of the account deleted, and one audit record kept that names the
//! account's id and nothing else of it.
//!
//! The request is one transaction (the account disabled, its tokens revoked, the erasure
//! row and the audit record written), so from its commit nobody can act as the account.
//! The work then runs under the erasure row's lease, in stages that are each idempotent;
//! an instance that dies midway leaves an expired lease, and any instance's sweeper
//! resumes the stage it was in. Batches are bounded (`eraseBatch`) and paced
//! (`erasePauseMs`), and each one first checks the lease is still this instance's.

mod held;
mod rows;
mod stages;

use std::sync::Arc;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set, sea_query::Expr};
use uuid::Uuid;

use self::held::Held;
use crate::{
    accounts::{Actor, lock_account},
    config::Limits,
    entity::{
        account, account_erasure, api_token,
        change_log::{self, Change},
        enums::ErasureStage,
        lease::{self, Term},
        now,
    },
    error::{AppError, AppResult},
    lifecycle::Lifecycle,
    snapshots::gate::BlobGate,
    storage::BlobStore,
};

/// The audit record's action; the one row of the account that stays.
pub const ERASE_ACTION: &str = "erase";

/// Where an account's erasure stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureState {
    /// The account being (or that was) erased.
    pub account_id: Uuid,
    /// The stage it is in; None once done.
    pub stage: Option<ErasureStage>,
    /// Rows and objects removed so far (0 once done: the count went with the work).
    pub erased: i64,
    /// When it was asked for.
    pub requested_at: chrono::DateTime<chrono::Utc>,
    /// When it finished.
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Asking for, watching and doing account erasures.
#[derive(Clone)]
pub struct Erasure {
    db: DatabaseConnection,
    lifecycle: Lifecycle,
    blobs: Arc<dyn BlobStore>,
    gate: BlobGate,
    limits: Arc<Limits>,
    instance: Arc<str>,
}

impl Erasure {
    /// Erasures done with `lifecycle`'s sandbox teardown, in `blobs`, as `instance`.
    pub fn new(lifecycle: Lifecycle, blobs: Arc<dyn BlobStore>, gate: BlobGate, instance: &str) -> Self {
        let (db, limits) = (lifecycle.db.clone(), lifecycle.limits.clone());
        Self { db, lifecycle, blobs, gate, limits, instance: instance.into() }
    }

    /// Asks for `account`'s erasure (admins and the operator; not one's own account) and
    /// starts it on this instance. Asking again while it runs answers where it stands.
    pub async fn request(&self, actor: Actor<'_>, account: Uuid) -> AppResult<ErasureState> {
        let who = actor.check()?;
        if who == Some(account) {
            return Err(AppError::bad_input("an administrator cannot erase their own account"));
        }
        let txn = crate::entity::db::write_txn(&self.db).await?;
        lock_account(&txn, account).await?;
        account::Entity::find_by_id(account).one(&txn).await?.ok_or(AppError::NotFound("account"))?;
        let t = now();
        let row = account_erasure::ActiveModel {
            id: Set(account),
            requested_by: Set(who),
            stage: Set(ErasureStage::Sandboxes),
            erased: Set(0),
            lease_owner: Set(None),
            lease_until: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
        };
        let inserted = account_erasure::Entity::insert(row)
            .on_conflict_do_nothing_on([account_erasure::Column::Id])
            .exec_without_returning(&txn)
            .await?;
        if matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
            account::Entity::update_many()
                .col_expr(account::Column::Disabled, Expr::value(true))
                .filter(account::Column::Id.eq(account))
                .exec(&txn)
                .await?;
            // Revoked, not deleted: their rows and audit records go in the last stage.
            api_token::Entity::update_many()
                .col_expr(api_token::Column::RevokedAt, Expr::value(t))
                .filter(api_token::Column::AccountId.eq(account))
                .filter(api_token::Column::RevokedAt.is_null())
                .exec(&txn)
                .await?;
            let change = Change { actor: who, entity: "accounts", entity_id: account, action: ERASE_ACTION };
            change_log::record(&txn, change, None::<&()>, None::<&()>).await?;
        }
        txn.commit().await?;
        let this = self.clone();
        tokio::spawn(async move { this.resume_logged(account).await });
        self.state(actor, account).await?.ok_or(AppError::NotFound("account"))
    }

    /// Where `account`'s erasure stands (admins and the operator); None when none was
    /// asked for.
    pub async fn state(&self, actor: Actor<'_>, account: Uuid) -> AppResult<Option<ErasureState>> {
        actor.check()?;
        if let Some(row) = account_erasure::Entity::find_by_id(account).one(&self.db).await? {
            let state = ErasureState {
                account_id: account,
                stage: Some(row.stage),
                erased: row.erased,
                requested_at: row.created_at,
                finished_at: None,
            };
            return Ok(Some(state));
        }
        let audit = change_log::Entity::find()
            .filter(change_log::Column::Entity.eq("accounts"))
            .filter(change_log::Column::EntityId.eq(account))
            .filter(change_log::Column::Action.eq(ERASE_ACTION))
            .one(&self.db)
            .await?;
        Ok(audit.map(|a| ErasureState {
            account_id: account,
            stage: None,
            erased: 0,
            requested_at: a.created_at,
            finished_at: Some(a.updated_at),
        }))
    }

    async fn resume_logged(&self, account: Uuid) {
        match self.resume(account).await {
            Ok(true) => {
                tracing::info!(%account, "erased an account");
                match crate::entity::db::scrub_freed(&self.db).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(%account, "the database log could not be truncated after an erasure"),
                    Err(e) => tracing::warn!(%account, error = %e, "truncating the database log failed"),
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(%account, error = ?e.log_detail(), "erasing an account failed; retrying later"),
        }
    }

    /// Takes `account`'s erasure (when nobody holds it) and carries it on; true when it
    /// finished, false when another instance has it or it must wait for a sandbox.
    async fn resume(&self, account: Uuid) -> AppResult<bool> {
        let Some(held) = Held::take(&self.db, &self.instance, &self.limits, account).await? else {
            return Ok(false);
        };
        let done = self.carry_on(&held).await;
        held.release().await;
        done
    }

    async fn carry_on(&self, held: &Held) -> AppResult<bool> {
        loop {
            let Some(row) = account_erasure::Entity::find_by_id(held.account).one(&self.db).await? else {
                return Ok(true);
            };
            let next = match row.stage {
                ErasureStage::Sandboxes => {
                    if !self.sandboxes(held).await? {
                        return Ok(false);
                    }
                    ErasureStage::Objects
                }
                ErasureStage::Objects => {
                    if !self.objects(held).await? {
                        return Ok(false);
                    }
                    ErasureStage::Rows
                }
                ErasureStage::Rows => match self.rows(held).await? {
                    true => return Ok(true),
                    // A sandbox made by a request already past sign-in when the erasure
                    // began: back to the first stage for it.
                    false => ErasureStage::Sandboxes,
                },
            };
            held.set_stage(next).await?;
        }
    }

    /// Resumes, every third of a lease, the erasures whose holder is gone (and at start).
    pub fn spawn_sweeper(&self) {
        let this = self.clone();
        let every = Term::of(&self.limits).every;
        tokio::spawn(async move {
            loop {
                let stale = account_erasure::Entity::find()
                    .select_only()
                    .column(account_erasure::Column::Id)
                    .filter(lease::expired::<account_erasure::Entity>(now()))
                    .into_tuple::<Uuid>()
                    .all(&this.db)
                    .await;
                match stale {
                    Ok(ids) => {
                        for id in ids {
                            this.resume_logged(id).await;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not look for unfinished erasures"),
                }
                tokio::time::sleep(every).await;
            }
        });
    }
}
