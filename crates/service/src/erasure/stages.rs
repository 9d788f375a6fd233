//! The three stages of an erasure. Sandboxes: each torn down under its delete lease
//! (runs cancelled, processes killed, workspace and volume removed) and its rows deleted.
//! Objects: with the account's blob gate closed, every object under its prefix deleted.
//! Rows: the rest of the account's rows, then — in one transaction that first checks no
//! sandbox appeared meanwhile — the account row and the erasure row, the audit record
//! stamped finished.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};

use super::{ERASE_ACTION, Erasure, held::Held, rows::Scope};
use crate::{
    accounts::lock_account,
    entity::{account, account_erasure, change_log, now, sandbox},
    error::{AppError, AppResult},
    storage,
};

/// Sandboxes looked at per query.
const SANDBOXES: u64 = 20;

impl Erasure {
    /// Tears down every sandbox of the account; false when one must be waited for.
    pub(super) async fn sandboxes(&self, held: &Held) -> AppResult<bool> {
        let mut after = uuid::Uuid::nil();
        let mut waiting = false;
        loop {
            let page = sandbox::Entity::find()
                .filter(sandbox::Column::AccountId.eq(held.account))
                .filter(sandbox::Column::Id.gt(after))
                .order_by_asc(sandbox::Column::Id)
                .limit(SANDBOXES)
                .all(&self.db)
                .await?;
            let Some(last) = page.last() else { return Ok(!waiting) };
            after = last.id;
            for row in page {
                let Some(lease) = self.lifecycle.tear_down_for_erasure(&row).await? else {
                    tracing::info!(sandbox_id = %row.id, "erasure waits for a sandbox's other work");
                    waiting = true;
                    continue;
                };
                self.purge_scope(held, Scope::Sandbox(row.id)).await?;
                sandbox::Entity::delete_by_id(row.id).exec(&self.db).await?;
                drop(lease);
                held.step(1).await?;
            }
        }
    }

    /// Deletes every object the account stored; false when its blob gate is held (a
    /// reclaim runs) and must be waited for.
    pub(super) async fn objects(&self, held: &Held) -> AppResult<bool> {
        let account = held.account;
        let Some(closed) = self.gate.close(account).await? else { return Ok(false) };
        let prefix = storage::account_prefix(account);
        let keys = self.blobs.list(&prefix).await?;
        let batch = self.limits.storage.erase_batch.max(1) as usize;
        for chunk in keys.chunks(batch) {
            if !closed.still_held().await? {
                return Err(AppError::Internal(anyhow::anyhow!("the blob gate of {account} was lost mid-erasure")));
            }
            for key in chunk {
                self.blobs.delete(key).await?;
            }
            held.step(chunk.len() as u64).await?;
        }
        self.blobs.clear_prefix(&prefix).await?;
        // The gate stays closed: its row goes with the account's other rows.
        Ok(true)
    }

    /// Deletes the remaining rows and then the account; false when a sandbox appeared
    /// meanwhile (the erasure goes back for it).
    pub(super) async fn rows(&self, held: &Held) -> AppResult<bool> {
        let account = held.account;
        self.purge_account_rows(held).await?;
        let txn = crate::entity::db::write_txn(&self.db).await?;
        lock_account(&txn, account).await?;
        let late = sandbox::Entity::find().filter(sandbox::Column::AccountId.eq(account)).count(&txn).await?;
        if late > 0 {
            txn.commit().await?;
            return Ok(false);
        }
        let mine = account_erasure::Entity::delete_many()
            .filter(account_erasure::Column::Id.eq(account))
            .filter(account_erasure::Column::LeaseOwner.eq(held.owner()))
            .exec(&txn)
            .await?;
        if mine.rows_affected == 0 {
            return Err(AppError::Internal(anyhow::anyhow!("lost the erasure lease of {account}")));
        }
        account::Entity::delete_by_id(account).exec(&txn).await?;
        change_log::Entity::update_many()
            .col_expr(change_log::Column::UpdatedAt, Expr::value(now()))
            .filter(change_log::Column::Entity.eq("accounts"))
            .filter(change_log::Column::EntityId.eq(account))
            .filter(change_log::Column::Action.eq(ERASE_ACTION))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(true)
    }
}
