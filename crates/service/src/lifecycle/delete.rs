//! Deleting a sandbox: under its lease, mark it DELETING (from then on no run can start),
//! cancel its runs, take a final snapshot, stop the backend sandbox (the local backend
//! kills its processes and removes its workspace), then soft-delete the row. The work
//! runs in its own task; if this instance dies midway, recovery finishes it.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use super::Lifecycle;
use crate::{
    auth::Viewer,
    entity::{
        change_log::{self, Change},
        enums::SandboxStatus,
        now, sandbox, snapshot,
    },
    error::{AppError, AppResult},
    work,
    {lifecycle::leases::LeaseKind, sandboxes::VisibleSandbox},
};

impl Lifecycle {
    /// Deletes the sandbox; the row vanishes from the API. With `sync_first` a final
    /// snapshot is taken, and if that fails nothing is deleted (the sandbox goes back to
    /// its state). A backend that cannot terminate leaves the row DELETING for recovery
    /// to retry, so nothing keeps running unseen.
    pub async fn delete(
        &self,
        viewer: &Viewer,
        row: VisibleSandbox,
        sync_first: bool,
    ) -> AppResult<(sandbox::Model, Option<snapshot::Model>)> {
        let (this, viewer) = (self.clone(), viewer.clone());
        work::detached(async move {
            let lease = this.leases.acquire(row.id, LeaseKind::Delete).await?;
            let done = this.delete_under_lease(&viewer, row, sync_first).await;
            lease.release().await;
            done
        })
        .await
    }

    async fn delete_under_lease(
        &self,
        viewer: &Viewer,
        row: VisibleSandbox,
        sync_first: bool,
    ) -> AppResult<(sandbox::Model, Option<snapshot::Model>)> {
        let marked = sandbox::Entity::update_many()
            .col_expr(sandbox::Column::Status, Expr::value(SandboxStatus::Deleting))
            .col_expr(sandbox::Column::UpdatedAt, Expr::value(now()))
            .filter(sandbox::Column::Id.eq(row.id))
            .filter(sandbox::Column::DeletedAt.is_null())
            .exec(&self.db)
            .await?;
        if marked.rows_affected == 0 {
            return Err(AppError::NotFound("sandbox"));
        }
        self.runs.cancel_all_in(&row).await?;
        let has_workspace = row.external_id.is_some() && row.status != SandboxStatus::Error;
        let snap = if sync_first && has_workspace {
            match self.sync.sync_under_lease(viewer, &row).await {
                Ok(done) => Some(done.snapshot),
                Err(e) => {
                    self.set_status(row.id, row.status).await;
                    return Err(e);
                }
            }
        } else {
            None
        };
        if let Some(ext) = row.backend_id() {
            self.backend.terminate(&ext).await?;
            self.backend.destroy(row.id, &ext).await?;
        }
        let after = self.mark_deleted(&row, Some(viewer.account_id), "deleted").await?;
        self.files.listings.invalidate(row.id);
        Ok((after, snap))
    }

    async fn set_status(&self, id: Uuid, status: SandboxStatus) {
        let reset = sandbox::Entity::update_many()
            .col_expr(sandbox::Column::Status, Expr::value(status))
            .filter(sandbox::Column::Id.eq(id))
            .filter(sandbox::Column::Status.eq(SandboxStatus::Deleting))
            .exec(&self.db)
            .await;
        if let Err(e) = reset {
            tracing::error!(sandbox_id = %id, error = %e, "could not undo DELETING after a failed delete");
        }
    }

    /// Soft-deletes the row (TERMINATED, `deleted_at` set) with its audit row; only one
    /// caller wins, the other gets NOT_FOUND.
    pub(super) async fn mark_deleted(
        &self,
        before: &sandbox::Model,
        actor: Option<Uuid>,
        reason: &str,
    ) -> AppResult<sandbox::Model> {
        let id = before.id;
        let txn = crate::entity::db::write_txn(&self.db).await?;
        let t = now();
        let done = sandbox::Entity::update_many()
            .col_expr(sandbox::Column::Status, Expr::value(SandboxStatus::Terminated))
            .col_expr(sandbox::Column::StatusReason, Expr::value(reason))
            .col_expr(sandbox::Column::DeletedAt, Expr::value(t))
            .col_expr(sandbox::Column::UpdatedAt, Expr::value(t))
            .filter(sandbox::Column::Id.eq(id))
            .filter(sandbox::Column::DeletedAt.is_null())
            .exec(&txn)
            .await?;
        if done.rows_affected == 0 {
            return Err(AppError::NotFound("sandbox"));
        }
        let after = sandbox::Entity::find_by_id(id).one(&txn).await?.ok_or(AppError::NotFound("sandbox"))?;
        let change = Change { actor, entity: "sandboxes", entity_id: id, action: "delete" };
        change_log::record(&txn, change, Some(before), Some(&after)).await?;
        crate::entity::webhook_event::of_sandbox(&txn, crate::entity::webhook_event::SANDBOX_DELETED, &after).await?;
        txn.commit().await?;
        Ok(after)
    }
}
