//! Accounts and tokens: what the operator (CLI) and admins (GraphQL) manage, and the
//! first-start bootstrap. Both go through the same functions, each change audited.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Statement,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::Viewer,
    entity::{account, api_token, enums::Role, now},
    error::{AppError, AppResult},
};

/// A freshly created token: the plain value exists only here, to be shown once.
#[derive(Debug)]
pub struct IssuedToken {
    /// Account it belongs to.
    pub account_id: Uuid,
    /// Id of the token (to revoke it).
    pub token_id: Uuid,
    /// The bearer token; not stored anywhere.
    pub token: String,
    /// The stored row (without the secret).
    pub info: api_token::Model,
}

mod admin;
mod tokens;

pub use self::{
    admin::{AccountChange, AccountFilter, Actor, NewAccount, count, create, get, list, update},
    tokens::{NewToken, issue_token, revoke, tokens_of},
};

/// Locks the account's row until the transaction ends (Postgres: a row lock; SQLite: the
/// write lock), so checks of the account's quotas and the inserts they guard, and two
/// admins' changes to one account, are atomic across connections and instances.
pub(crate) async fn lock_account<C: ConnectionTrait>(txn: &C, account_id: Uuid) -> AppResult<()> {
    account::Entity::update_many()
        .col_expr(account::Column::UpdatedAt, Expr::col(account::Column::UpdatedAt))
        .filter(account::Column::Id.eq(account_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Creates an account with a first token (the CLI's `accounts create`).
pub async fn create_account(
    db: &DatabaseConnection,
    name: &str,
    role: Role,
    max_name_chars: u64,
) -> AppResult<IssuedToken> {
    let new = NewAccount { name: name.to_string(), role, organization_id: None, external_id: None };
    let acct = create(db, Actor::Operator, new, max_name_chars).await?;
    issue_token(db, Actor::Operator, acct.id, NewToken::named("initial"), max_name_chars).await
}

/// Issues another token for an existing account (the CLI's `tokens create`).
pub async fn create_token(db: &DatabaseConnection, account_id: Uuid, name: &str) -> AppResult<IssuedToken> {
    issue_token(db, Actor::Operator, account_id, NewToken::named(name), u64::MAX).await
}

/// Revokes a token; requests carrying it are refused from then on.
pub async fn revoke_token(db: &DatabaseConnection, token_id: Uuid) -> AppResult<()> {
    revoke(db, Actor::Operator, token_id).await.map(|_| ())
}

/// Disables an account; all its tokens are refused from then on.
pub async fn disable_account(db: &DatabaseConnection, account_id: Uuid) -> AppResult<()> {
    let change = AccountChange { name: None, disabled: Some(true) };
    update(db, Actor::Operator, account_id, change, u64::MAX).await.map(|_| ())
}

/// On an empty database, creates the first admin so a new install can be used at once.
/// Returns its token, or None when accounts already exist. Of several instances starting
/// together, exactly one does it: each first claims a marker row (a primary key insert,
/// which waits for and then loses to a concurrent one), inside the same transaction.
pub async fn bootstrap_admin(db: &DatabaseConnection) -> AppResult<Option<IssuedToken>> {
    let txn = crate::entity::db::write_txn(db).await?;
    let backend = txn.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO server_markers (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
        }
        _ => "INSERT INTO server_markers (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
    };
    let claim = Statement::from_sql_and_values(backend, sql, ["bootstrap_admin".into(), now().into()]);
    let claimed = txn.execute_raw(claim).await?.rows_affected() == 1;
    if !claimed || account::Entity::find().count(&txn).await? > 0 {
        txn.commit().await?;
        return Ok(None);
    }
    let new = NewAccount { name: "admin".into(), role: Role::Admin, organization_id: None, external_id: None };
    let acct = admin::insert_account(&txn, &new).await?;
    let issued = tokens::insert_token(&txn, acct.id, &NewToken::named("initial")).await?;
    txn.commit().await?;
    Ok(Some(issued))
}

/// The caller's own account.
pub async fn viewer_account(db: &DatabaseConnection, viewer: &Viewer) -> AppResult<account::Model> {
    account::Entity::find_by_id(viewer.account_id).one(db).await?.ok_or(AppError::NotFound("account"))
}
