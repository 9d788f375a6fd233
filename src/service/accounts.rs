//! Accounts and tokens: creation from the CLI and the first-start bootstrap.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set, Statement,
    TransactionTrait,
};
use uuid::Uuid;

use crate::{
    auth::{Viewer, generate_token, hash_token},
    entity::{account, api_token, enums::Role, new_id, now},
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
}

/// Creates an account with a first token; the name may have at most `max_name_chars`.
pub async fn create_account(
    db: &DatabaseConnection,
    name: &str,
    role: Role,
    max_name_chars: u64,
) -> AppResult<IssuedToken> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() as u64 > max_name_chars {
        return Err(AppError::bad_input(format!("account name must be 1 to {max_name_chars} characters")));
    }
    let txn = db.begin().await?;
    let acct = insert_account(&txn, name, role).await?;
    let (token_id, token) = insert_token(&txn, acct.id, "initial").await?;
    txn.commit().await?;
    Ok(IssuedToken { account_id: acct.id, token_id, token })
}

async fn insert_account<C: sea_orm::ConnectionTrait>(db: &C, name: &str, role: Role) -> AppResult<account::Model> {
    let t = now();
    Ok(account::ActiveModel {
        id: Set(new_id()),
        name: Set(name.to_string()),
        role: Set(role),
        organization_id: Set(None),
        disabled: Set(false),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await?)
}

/// Issues another token for an existing account.
pub async fn create_token(db: &DatabaseConnection, account_id: Uuid, name: &str) -> AppResult<IssuedToken> {
    if account::Entity::find_by_id(account_id).one(db).await?.is_none() {
        return Err(AppError::NotFound("account"));
    }
    let (token_id, token) = insert_token(db, account_id, name).await?;
    Ok(IssuedToken { account_id, token_id, token })
}

async fn insert_token<C: sea_orm::ConnectionTrait>(db: &C, account_id: Uuid, name: &str) -> AppResult<(Uuid, String)> {
    let token = generate_token();
    let t = now();
    let id = new_id();
    api_token::ActiveModel {
        id: Set(id),
        account_id: Set(account_id),
        name: Set(name.to_string()),
        token_sha256: Set(hash_token(&token)),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await?;
    Ok((id, token))
}

/// Revokes a token; requests carrying it are refused from then on.
pub async fn revoke_token(db: &DatabaseConnection, token_id: Uuid) -> AppResult<()> {
    let tok = api_token::Entity::find_by_id(token_id).one(db).await?.ok_or(AppError::NotFound("token"))?;
    let mut am: api_token::ActiveModel = tok.into();
    am.revoked_at = Set(Some(now()));
    am.updated_at = Set(now());
    am.update(db).await?;
    Ok(())
}

/// Disables an account; all its tokens are refused from then on.
pub async fn disable_account(db: &DatabaseConnection, account_id: Uuid) -> AppResult<()> {
    let acct = account::Entity::find_by_id(account_id).one(db).await?.ok_or(AppError::NotFound("account"))?;
    let mut am: account::ActiveModel = acct.into();
    am.disabled = Set(true);
    am.updated_at = Set(now());
    am.update(db).await?;
    Ok(())
}

/// On an empty database, creates the first admin so a new install can be used at once.
/// Returns its token, or None when accounts already exist. Of several instances starting
/// together, exactly one does it: each first claims a marker row (a primary key insert,
/// which waits for and then loses to a concurrent one), inside the same transaction.
pub async fn bootstrap_admin(db: &DatabaseConnection) -> AppResult<Option<IssuedToken>> {
    let txn = db.begin().await?;
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
    let acct = insert_account(&txn, "admin", Role::Admin).await?;
    let (token_id, token) = insert_token(&txn, acct.id, "initial").await?;
    txn.commit().await?;
    Ok(Some(IssuedToken { account_id: acct.id, token_id, token }))
}

/// The caller's own account.
pub async fn viewer_account(db: &DatabaseConnection, viewer: &Viewer) -> AppResult<account::Model> {
    account::Entity::find_by_id(viewer.account_id).one(db).await?.ok_or(AppError::NotFound("account"))
}
