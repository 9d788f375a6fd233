//! Deleting a sandbox: cancel its runs, take a final snapshot, stop the backend sandbox,
//! then soft-delete the row (only one of two concurrent deletes wins).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};

use super::Lifecycle;
use crate::{
    auth::Viewer,
    entity::{
        change_log::{self, Change},
        enums::SandboxStatus,
        now, sandbox, snapshot,
    },
    error::{AppError, AppResult},
    service::sandboxes::VisibleSandbox,
};

impl Lifecycle {
    /// Terminates the backend sandbox and soft-deletes the row; the row vanishes from the API.
    ///
    /// A backend that cannot terminate leaves the row as it was (PROVIDER_UNAVAILABLE), so
    /// nothing keeps running unseen; a sandbox the backend no longer has is simply removed.
    pub async fn delete(
        &self,
        viewer: &Viewer,
        row: VisibleSandbox,
        sync_first: bool,
    ) -> AppResult<(sandbox::Model, Option<snapshot::Model>)> {
        self.runs.cancel_all_in(&row).await?;
        let has_workspace = row.external_id.is_some() && row.status != SandboxStatus::Error;
        let snap = if sync_first && has_workspace { Some(self.sync.sync(viewer, &row).await?.snapshot) } else { None };
        if let Some(ext) = &row.external_id
            && matches!(row.status, SandboxStatus::Running | SandboxStatus::Creating)
        {
            self.backend.terminate(ext).await?;
        }
        let id = row.id;
        let txn = self.db.begin().await?;
        let t = now();
        // Only one of two concurrent deletes wins; the other answers NOT_FOUND.
        let done = sandbox::Entity::update_many()
            .col_expr(sandbox::Column::Status, Expr::value(SandboxStatus::Terminated))
            .col_expr(sandbox::Column::StatusReason, Expr::value("deleted"))
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
        let change = Change { actor: Some(viewer.account_id), entity: "sandboxes", entity_id: id, action: "delete" };
        change_log::record(&txn, change, Some(&*row), Some(&after)).await?;
        txn.commit().await?;
        self.files.listings.invalidate(id);
        Ok((after, snap))
    }
}
