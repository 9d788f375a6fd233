//! Reading, listing and deleting sandboxes, always scoped to the viewer.

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    Services,
    audit::{self, Change},
    paging::{Page, PageRequest, into_page},
};
use crate::{
    auth::Viewer,
    entity::{enums::SandboxStatus, now, sandbox, snapshot},
    error::{AppError, AppResult},
};

pub use super::sandbox_create::{CreateSandbox, create, recover_abandoned};

/// Narrowing of a sandbox list.
#[derive(Debug, Clone, Default)]
pub struct SandboxFilter {
    /// Only sandboxes in this state.
    pub status: Option<SandboxStatus>,
    /// Only this account's sandboxes (admins); for others it can only narrow to nothing.
    pub account_id: Option<Uuid>,
}

/// The viewer's visible, undeleted sandboxes: the root of every sandbox query.
pub fn visible(viewer: &Viewer) -> Select<sandbox::Entity> {
    let q = sandbox::Entity::find().filter(sandbox::Column::DeletedAt.is_null());
    if viewer.is_admin() { q } else { q.filter(sandbox::Column::AccountId.eq(viewer.account_id)) }
}

fn filtered(viewer: &Viewer, filter: &SandboxFilter) -> Select<sandbox::Entity> {
    let mut cond = Condition::all();
    if let Some(status) = filter.status {
        cond = cond.add(sandbox::Column::Status.eq(status));
    }
    if let Some(account) = filter.account_id {
        cond = cond.add(sandbox::Column::AccountId.eq(account));
    }
    visible(viewer).filter(cond)
}

/// A sandbox the viewer may see, or None — whether it is missing or someone else's.
pub async fn get(svc: &Services, viewer: &Viewer, id: Uuid) -> AppResult<Option<sandbox::Model>> {
    Ok(visible(viewer).filter(sandbox::Column::Id.eq(id)).one(&svc.db).await?)
}

/// Like [`get`], but a missing sandbox is NOT_FOUND: for operations on a sandbox.
pub async fn require(svc: &Services, viewer: &Viewer, id: Uuid) -> AppResult<sandbox::Model> {
    get(svc, viewer, id).await?.ok_or(AppError::NotFound("sandbox"))
}

/// A page of sandboxes, newest first (ids are UUID v7, so id order is creation order).
pub async fn list(
    svc: &Services,
    viewer: &Viewer,
    filter: &SandboxFilter,
    page: PageRequest,
) -> AppResult<Page<sandbox::Model>> {
    let mut q = filtered(viewer, filter);
    if let Some(after) = page.after {
        q = q.filter(sandbox::Column::Id.lt(after));
    }
    let rows = q.order_by_desc(sandbox::Column::Id).limit(page.first + 1).all(&svc.db).await?;
    Ok(into_page(rows, page.first))
}

/// How many sandboxes match, for `totalCount`.
pub async fn count(svc: &Services, viewer: &Viewer, filter: &SandboxFilter) -> AppResult<u64> {
    Ok(filtered(viewer, filter).count(&svc.db).await?)
}

/// Terminates the backend sandbox and soft-deletes the row; the row vanishes from the API.
///
/// A backend that cannot terminate leaves the row as it was (PROVIDER_UNAVAILABLE), so
/// nothing keeps running unseen; a sandbox the backend no longer has is simply removed.
pub async fn delete(
    svc: &Services,
    viewer: &Viewer,
    id: Uuid,
    sync_first: bool,
) -> AppResult<(sandbox::Model, Option<snapshot::Model>)> {
    let row = require(svc, viewer, id).await?;
    super::runs::cancel_all_in_sandbox(svc, row.id).await?;
    let has_workspace = row.external_id.is_some() && row.status != SandboxStatus::Error;
    let snap = if sync_first && has_workspace {
        Some(super::sync::sync_sandbox(svc, viewer, &row).await?.snapshot)
    } else {
        None
    };
    if let Some(ext) = &row.external_id
        && matches!(row.status, SandboxStatus::Running | SandboxStatus::Creating)
    {
        svc.backend.terminate(ext).await?;
    }
    let txn = svc.db.begin().await?;
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
    audit::record(&txn, change, Some(&row), Some(&after)).await?;
    txn.commit().await?;
    Ok((after, snap))
}
