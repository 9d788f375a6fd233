//! Finding sandboxes, always scoped to the viewer, and the type that proves it was.
//!
//! [`VisibleSandbox`] can only be made here, by a lookup that applied the viewer's
//! account filter; functions that work on a sandbox take it instead of a bare row, so a
//! caller that skipped the check does not compile.

use std::ops::Deref;

use sandboxql_entity::external_id::ExternalId;

use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
};
use uuid::Uuid;

use super::paging::{Page, PageRequest, into_page};
use crate::{
    auth::Viewer,
    entity::{enums::SandboxStatus, sandbox},
    error::{AppError, AppResult, reasons},
};

/// A sandbox the viewer may see: produced only by the lookups of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibleSandbox(sandbox::Model);

impl Deref for VisibleSandbox {
    type Target = sandbox::Model;
    fn deref(&self) -> &sandbox::Model {
        &self.0
    }
}

impl VisibleSandbox {
    /// The row, for callers that need to own it.
    pub fn into_row(self) -> sandbox::Model {
        self.0
    }

    /// A row the caller obtained some other way (just inserted, just updated), admitted
    /// only when the viewer may see it.
    pub(super) fn vouch(viewer: &Viewer, row: sandbox::Model) -> AppResult<Self> {
        if viewer.can_see(row.account_id) && row.deleted_at.is_none() {
            Ok(Self(row))
        } else {
            Err(AppError::NotFound("sandbox"))
        }
    }

    /// A row reached by a credential that names it, not by a viewer (a preview's signed
    /// cookie, or a preview its owner made PUBLIC): admitted while undeleted.
    pub(crate) fn by_credential(row: sandbox::Model) -> AppResult<Self> {
        match row.deleted_at {
            None => Ok(Self(row)),
            Some(_) => Err(AppError::NotFound("sandbox")),
        }
    }

    /// A row its account's erasure reaches (an admin asked for it; deleted or not), so
    /// the erasure can cancel its runs like a delete does.
    pub(crate) fn for_erasure(row: sandbox::Model) -> Self {
        Self(row)
    }

    /// A fresh copy of this sandbox's row (same id and owner), still visible.
    pub(super) fn reloaded(&self, row: sandbox::Model) -> AppResult<Self> {
        if row.id == self.0.id && row.account_id == self.0.account_id && row.deleted_at.is_none() {
            Ok(Self(row))
        } else {
            Err(AppError::NotFound("sandbox"))
        }
    }

    /// The id, as a key that proves the sandbox was checked (for batched loads).
    pub fn visible_id(&self) -> VisibleId {
        VisibleId(self.0.id)
    }

    /// The backend's id, or CONFLICT when the sandbox never got one.
    pub fn external_id(&self) -> AppResult<ExternalId> {
        self.0.external_id.as_deref().map(ExternalId::from).ok_or_else(|| {
            AppError::conflict_because(reasons::NO_WORKSPACE, "the sandbox has no workspace (it failed to start)")
        })
    }
}

/// The id of a [`VisibleSandbox`]: a cheap key for batched loads (DataLoaders) that
/// still only a checked sandbox can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VisibleId(Uuid);

impl VisibleId {
    /// The plain id.
    pub fn id(self) -> Uuid {
        self.0
    }
}

/// Narrowing of a sandbox list.
#[derive(Debug, Clone, Default)]
pub struct SandboxFilter {
    /// Only sandboxes in this state.
    pub status: Option<SandboxStatus>,
    /// Only this account's sandboxes (admins); for others it can only narrow to nothing.
    pub account_id: Option<Uuid>,
}

/// The viewer's visible, undeleted sandboxes: the root of every sandbox query.
fn visible(viewer: &Viewer) -> Select<sandbox::Entity> {
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
pub async fn get(db: &DatabaseConnection, viewer: &Viewer, id: Uuid) -> AppResult<Option<VisibleSandbox>> {
    Ok(visible(viewer).filter(sandbox::Column::Id.eq(id)).one(db).await?.map(VisibleSandbox))
}

/// Like [`get`], but a missing sandbox is NOT_FOUND: for operations on a sandbox.
pub async fn require(db: &DatabaseConnection, viewer: &Viewer, id: Uuid) -> AppResult<VisibleSandbox> {
    get(db, viewer, id).await?.ok_or(AppError::NotFound("sandbox"))
}

/// A page of sandboxes, newest first (ids are UUID v7, so id order is creation order).
pub async fn list(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: &SandboxFilter,
    page: PageRequest,
) -> AppResult<Page<VisibleSandbox>> {
    let mut q = filtered(viewer, filter);
    if let Some(after) = page.after {
        q = q.filter(sandbox::Column::Id.lt(after));
    }
    let rows = q.order_by_desc(sandbox::Column::Id).limit(page.first + 1).all(db).await?;
    Ok(into_page(rows.into_iter().map(VisibleSandbox).collect(), page.first))
}

/// How many sandboxes match, for `totalCount`.
pub async fn count(db: &DatabaseConnection, viewer: &Viewer, filter: &SandboxFilter) -> AppResult<u64> {
    Ok(filtered(viewer, filter).count(db).await?)
}
