//! What an administrator (over GraphQL) or the operator (the CLI) does to accounts and
//! tokens. One set of functions for both; every change leaves an audit row saying who.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::lock_account;
use crate::{
    auth::Viewer,
    entity::{
        account,
        change_log::{self, Change},
        constraints,
        enums::Role,
        new_id, now,
    },
    error::{AppError, AppResult, reasons},
    paging::{Page, PageRequest, into_page},
};

/// Who makes a change: the operator at the server's command line, or a signed-in viewer
/// (who must be an admin).
#[derive(Clone, Copy)]
pub enum Actor<'a> {
    /// `sandboxql accounts …` / `sandboxql tokens …` on the server host.
    Operator,
    /// A caller of the admin API.
    Viewer(&'a Viewer),
}

impl Actor<'_> {
    /// The account to record as the actor; FORBIDDEN for a viewer who is not an admin
    /// (or whose token may only read).
    pub(crate) fn check(self) -> AppResult<Option<Uuid>> {
        match self {
            Actor::Operator => Ok(None),
            Actor::Viewer(v) => {
                v.require_admin()?;
                v.require_writer()?;
                Ok(Some(v.account_id))
            }
        }
    }
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Display name.
    pub name: String,
    /// USER or ADMIN.
    pub role: Role,
    /// Organization, stamped on its sandboxes.
    pub organization_id: Option<Uuid>,
    /// The embedding product's id of the user (unique).
    pub external_id: Option<String>,
}

/// Narrowing of the account list.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    /// Only disabled (true) or enabled (false) accounts.
    pub disabled: Option<bool>,
    /// Only the account with this external id.
    pub external_id: Option<String>,
}

/// Changes to an account; None leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    /// New display name.
    pub name: Option<String>,
    /// Disable (all its tokens refused) or enable.
    pub disabled: Option<bool>,
}

pub(super) fn checked_name(name: &str, what: &str, max: u64) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() as u64 > max || name.chars().any(char::is_control) {
        return Err(AppError::bad_input(format!("{what} must be 1 to {max} printable characters")));
    }
    Ok(name.to_string())
}

pub(super) fn audit(actor: Option<Uuid>, entity: &'static str, id: Uuid, action: &'static str) -> Change<'static> {
    Change { actor, entity, entity_id: id, action }
}

pub(super) async fn insert_account<C: ConnectionTrait>(db: &C, new: &NewAccount) -> AppResult<account::Model> {
    let t = now();
    let row = account::ActiveModel {
        id: Set(new_id()),
        name: Set(new.name.clone()),
        role: Set(new.role),
        organization_id: Set(new.organization_id),
        disabled: Set(false),
        external_id: Set(new.external_id.clone()),
        created_at: Set(t),
        updated_at: Set(t),
    };
    row.insert(db).await.map_err(|e| match constraints::unique_violated(&e) {
        Some(&constraints::ACCOUNT_EXTERNAL_ID) => {
            AppError::conflict_because(reasons::ALREADY_EXISTS, "an account with this externalId exists")
        }
        _ => e.into(),
    })
}

/// Creates an account.
pub async fn create(
    db: &DatabaseConnection,
    actor: Actor<'_>,
    mut new: NewAccount,
    max: u64,
) -> AppResult<account::Model> {
    let who = actor.check()?;
    new.name = checked_name(&new.name, "the account name", max)?;
    if let Some(ext) = &new.external_id {
        new.external_id = Some(checked_name(ext, "externalId", 255)?);
    }
    let txn = crate::entity::db::write_txn(db).await?;
    let row = insert_account(&txn, &new).await?;
    change_log::record(&txn, audit(who, "accounts", row.id, "create"), None::<&()>, Some(&row)).await?;
    txn.commit().await?;
    Ok(row)
}

/// Renames, disables or enables an account.
pub async fn update(
    db: &DatabaseConnection,
    actor: Actor<'_>,
    id: Uuid,
    change: AccountChange,
    max: u64,
) -> AppResult<account::Model> {
    let who = actor.check()?;
    let txn = crate::entity::db::write_txn(db).await?;
    // The row is locked first, so two admins' changes apply one after the other and each
    // audit row's `before` is what that change really replaced.
    lock_account(&txn, id).await?;
    let before = account::Entity::find_by_id(id).one(&txn).await?.ok_or(AppError::NotFound("account"))?;
    let mut am: account::ActiveModel = before.clone().into();
    if let Some(name) = &change.name {
        am.name = Set(checked_name(name, "the account name", max)?);
    }
    if let Some(disabled) = change.disabled {
        am.disabled = Set(disabled);
    }
    am.updated_at = Set(now());
    let after = am.update(&txn).await?;
    change_log::record(&txn, audit(who, "accounts", id, "update"), Some(&before), Some(&after)).await?;
    txn.commit().await?;
    Ok(after)
}

/// A page of accounts, newest first (ids are UUID v7); admins only.
pub async fn list(
    db: &DatabaseConnection,
    actor: Actor<'_>,
    filter: &AccountFilter,
    page: PageRequest,
) -> AppResult<Page<account::Model>> {
    if let Actor::Viewer(v) = actor {
        v.require_admin()?;
    }
    let mut cond = matching(filter);
    if let Some(after) = page.after {
        cond = cond.add(account::Column::Id.lt(after));
    }
    let rows =
        account::Entity::find().filter(cond).order_by_desc(account::Column::Id).limit(page.first + 1).all(db).await?;
    Ok(into_page(rows, page.first))
}

/// How many accounts match `filter`, for `totalCount`; admins only.
pub async fn count(db: &DatabaseConnection, actor: Actor<'_>, filter: &AccountFilter) -> AppResult<u64> {
    if let Actor::Viewer(v) = actor {
        v.require_admin()?;
    }
    Ok(account::Entity::find().filter(matching(filter)).count(db).await?)
}

fn matching(filter: &AccountFilter) -> Condition {
    let mut cond = Condition::all();
    if let Some(d) = filter.disabled {
        cond = cond.add(account::Column::Disabled.eq(d));
    }
    if let Some(ext) = &filter.external_id {
        cond = cond.add(account::Column::ExternalId.eq(ext.clone()));
    }
    cond
}

/// An account the viewer may see (an admin any, a user its own), or None.
pub async fn get(db: &DatabaseConnection, viewer: &Viewer, id: Uuid) -> AppResult<Option<account::Model>> {
    if !viewer.can_see(id) {
        return Ok(None);
    }
    Ok(account::Entity::find_by_id(id).one(db).await?)
}
