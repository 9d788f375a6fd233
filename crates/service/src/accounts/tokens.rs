//! API tokens: issued (the secret shown once), revoked, listed without their secrets.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    IssuedToken,
    admin::{Actor, audit, checked_name},
    lock_account,
};
use crate::{
    auth::{generate_token, hash_token},
    entity::{account, api_token, change_log, new_id, now},
    error::{AppError, AppResult},
};

/// A new token.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// A label.
    pub name: String,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// Queries and subscriptions only.
    pub read_only: bool,
}

impl NewToken {
    /// A full-access token that does not expire.
    pub fn named(name: &str) -> Self {
        Self { name: name.to_string(), expires_at: None, read_only: false }
    }
}

pub(super) async fn insert_token<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    new: &NewToken,
) -> AppResult<IssuedToken> {
    let token = generate_token();
    let t = now();
    let info = api_token::ActiveModel {
        id: Set(new_id()),
        account_id: Set(account_id),
        name: Set(new.name.clone()),
        token_sha256: Set(hash_token(&token)),
        last_used_at: Set(None),
        revoked_at: Set(None),
        expires_at: Set(new.expires_at),
        read_only: Set(new.read_only),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await?;
    Ok(IssuedToken { account_id, token_id: info.id, token, info })
}

/// Issues a token for an account; its secret is in the answer and nowhere else.
pub async fn issue_token(
    db: &DatabaseConnection,
    actor: Actor<'_>,
    account_id: Uuid,
    mut new: NewToken,
    max: u64,
) -> AppResult<IssuedToken> {
    let who = actor.check()?;
    new.name = checked_name(&new.name, "the token name", max)?;
    if new.expires_at.is_some_and(|e| e <= now()) {
        return Err(AppError::bad_input("`expiresAt` must be in the future"));
    }
    let txn = crate::entity::db::write_txn(db).await?;
    // Write first: the account row is locked (SQLite: the write lock is taken before the
    // read, so the transaction cannot be overtaken by a concurrent writer and fail).
    lock_account(&txn, account_id).await?;
    if account::Entity::find_by_id(account_id).one(&txn).await?.is_none() {
        return Err(AppError::NotFound("account"));
    }
    let issued = insert_token(&txn, account_id, &new).await?;
    change_log::record(&txn, audit(who, "api_tokens", issued.token_id, "create"), None::<&()>, Some(&issued.info))
        .await?;
    txn.commit().await?;
    Ok(issued)
}

/// Revokes a token; requests carrying it are refused from then on.
pub async fn revoke(db: &DatabaseConnection, actor: Actor<'_>, token_id: Uuid) -> AppResult<api_token::Model> {
    let who = actor.check()?;
    let txn = crate::entity::db::write_txn(db).await?;
    // The token row is locked before it is read (a no-op write), so of two revocations at
    // once the second sees the first's time, and SQLite's reader never has to upgrade.
    api_token::Entity::update_many()
        .col_expr(api_token::Column::UpdatedAt, Expr::col(api_token::Column::UpdatedAt))
        .filter(api_token::Column::Id.eq(token_id))
        .exec(&txn)
        .await?;
    let before = api_token::Entity::find_by_id(token_id).one(&txn).await?.ok_or(AppError::NotFound("token"))?;
    if before.revoked_at.is_some() {
        // Revoking twice changes nothing and records nothing.
        return Ok(before);
    }
    let mut am: api_token::ActiveModel = before.clone().into();
    let t = now();
    am.revoked_at = Set(Some(t));
    am.updated_at = Set(t);
    let after = am.update(&txn).await?;
    change_log::record(&txn, audit(who, "api_tokens", token_id, "revoke"), Some(&before), Some(&after)).await?;
    txn.commit().await?;
    Ok(after)
}

/// The newest `limit` tokens of an account (never their secrets): the operator and an
/// admin see anyone's, a user their own (another's is NOT_FOUND).
pub async fn tokens_of(
    db: &DatabaseConnection,
    actor: Actor<'_>,
    account_id: Uuid,
    limit: u64,
) -> AppResult<Vec<api_token::Model>> {
    if let Actor::Viewer(v) = actor
        && !v.can_see(account_id)
    {
        return Err(AppError::NotFound("account"));
    }
    Ok(api_token::Entity::find()
        .filter(api_token::Column::AccountId.eq(account_id))
        .order_by_desc(api_token::Column::Id)
        // SQL limits are signed: "everything" must not wrap around.
        .limit(limit.min(i64::MAX as u64))
        .all(db)
        .await?)
}
