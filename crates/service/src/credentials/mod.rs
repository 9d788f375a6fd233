//! Account credentials (`setCredential`): what the broker adds to a sandbox's requests
//! for one host (git over HTTPS, or a header for an HTTPS API), so the secret never enters
//! a sandbox. Sealed at rest ([`sealing`]); listed without their secrets; set for any
//! account by an admin; every change audited (without the secret).

pub mod broker;
pub mod sealing;
pub mod validate;

use std::sync::Arc;

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use serde::Serialize;
use uuid::Uuid;

use self::sealing::Sealer;
pub use self::validate::NewCredential;
use crate::{
    accounts::lock_account,
    auth::Viewer,
    config::Limits,
    entity::{
        account_credential,
        change_log::{self, Change},
        enums::CredentialKind,
        new_id, now,
    },
    error::{AppError, AppResult, reasons},
};

/// A credential as the API shows it: never its secret.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialInfo {
    /// Its id.
    pub id: Uuid,
    /// Whose it is.
    pub account_id: Uuid,
    /// The host it is for.
    pub host: String,
    /// How it is added.
    pub kind: CredentialKind,
    /// The user name of a GIT_HTTPS credential.
    pub username: Option<String>,
    /// The header an HTTP_HEADER credential sets.
    pub header_name: Option<String>,
    /// When made.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When last set.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<account_credential::Model> for CredentialInfo {
    fn from(m: account_credential::Model) -> Self {
        Self {
            id: m.id,
            account_id: m.account_id,
            host: m.host,
            kind: m.kind,
            username: m.username,
            header_name: m.header_name,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A credential opened for the broker: what to add to a request for its host.
pub struct Opened {
    /// How it is added.
    pub kind: CredentialKind,
    /// GIT_HTTPS's user name.
    pub username: Option<String>,
    /// HTTP_HEADER's header.
    pub header_name: Option<String>,
    /// The secret itself (its Debug is hidden).
    pub secret: crate::config::Secret,
}

/// What seals a row's secret to that row.
fn aad(account_id: Uuid, host: &str) -> String {
    format!("sandboxql-credential|{account_id}|{host}")
}

/// Setting, listing and opening credentials.
#[derive(Clone)]
pub struct Credentials {
    db: DatabaseConnection,
    sealer: Option<Arc<Sealer>>,
    limits: Arc<Limits>,
}

impl Credentials {
    /// Credentials kept in `db`, sealed by `sealer` (None: none can be set).
    pub fn new(db: DatabaseConnection, sealer: Option<Arc<Sealer>>, limits: Arc<Limits>) -> Self {
        Self { db, sealer, limits }
    }

    /// The account a viewer acts on: its own, or (admins only) the one named.
    fn account_of(viewer: &Viewer, account_id: Option<Uuid>) -> AppResult<Uuid> {
        match account_id {
            Some(id) if id != viewer.account_id => {
                viewer.require_admin()?;
                Ok(id)
            }
            _ => Ok(viewer.account_id),
        }
    }

    /// Sets (makes or replaces) the account's credential for its host.
    pub async fn set(
        &self,
        viewer: &Viewer,
        account_id: Option<Uuid>,
        new: NewCredential,
    ) -> AppResult<CredentialInfo> {
        viewer.require_writer()?;
        let account_id = Self::account_of(viewer, account_id)?;
        let Some(sealer) = &self.sealer else {
            return Err(AppError::conflict_because(
                reasons::CREDENTIALS_DISABLED,
                "credentials need the server's --secrets-key: none is configured",
            ));
        };
        let new = new.checked(&self.limits.git)?;
        let (key_id, sealed) = sealer.seal(&aad(account_id, &new.host), new.secret.as_bytes())?;
        let txn = crate::entity::db::write_txn(&self.db).await?;
        lock_account(&txn, account_id).await?;
        let existing = account_credential::Entity::find()
            .filter(account_credential::Column::AccountId.eq(account_id))
            .filter(account_credential::Column::Host.eq(&new.host))
            .one(&txn)
            .await?;
        let t = now();
        let (before, after) = match existing {
            Some(row) => {
                let before = CredentialInfo::from(row.clone());
                let mut am: account_credential::ActiveModel = row.into();
                am.kind = Set(new.kind);
                am.username = Set(new.username.clone());
                am.header_name = Set(new.header_name.clone());
                am.key_id = Set(key_id);
                am.sealed = Set(sealed);
                am.updated_at = Set(t);
                (Some(before), am.update(&txn).await?)
            }
            None => {
                let count = account_credential::Entity::find()
                    .filter(account_credential::Column::AccountId.eq(account_id))
                    .count(&txn)
                    .await?;
                if count >= self.limits.git.credentials_per_account {
                    let max = self.limits.git.credentials_per_account;
                    return Err(AppError::conflict(format!("an account keeps at most {max} credentials")));
                }
                let row = account_credential::ActiveModel {
                    id: Set(new_id()),
                    account_id: Set(account_id),
                    host: Set(new.host.clone()),
                    kind: Set(new.kind),
                    username: Set(new.username.clone()),
                    header_name: Set(new.header_name.clone()),
                    key_id: Set(key_id),
                    sealed: Set(sealed),
                    created_at: Set(t),
                    updated_at: Set(t),
                };
                (None, row.insert(&txn).await?)
            }
        };
        let after = CredentialInfo::from(after);
        let change = Change {
            actor: Some(viewer.account_id),
            entity: "account_credentials",
            entity_id: after.id,
            action: "set",
        };
        change_log::record(&txn, change, before.as_ref(), Some(&after)).await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Deletes the account's credential for `host`; whether there was one.
    pub async fn delete(&self, viewer: &Viewer, account_id: Option<Uuid>, host: &str) -> AppResult<bool> {
        viewer.require_writer()?;
        let account_id = Self::account_of(viewer, account_id)?;
        let host = validate::host(host)?;
        let txn = crate::entity::db::write_txn(&self.db).await?;
        lock_account(&txn, account_id).await?;
        let Some(row) = account_credential::Entity::find()
            .filter(account_credential::Column::AccountId.eq(account_id))
            .filter(account_credential::Column::Host.eq(&host))
            .one(&txn)
            .await?
        else {
            return Ok(false);
        };
        account_credential::Entity::delete_by_id(row.id).exec(&txn).await?;
        let before = CredentialInfo::from(row);
        let change = Change {
            actor: Some(viewer.account_id),
            entity: "account_credentials",
            entity_id: before.id,
            action: "delete",
        };
        change_log::record(&txn, change, Some(&before), None::<&()>).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// The account's credentials, by host, without their secrets.
    pub async fn list(&self, viewer: &Viewer, account_id: Option<Uuid>) -> AppResult<Vec<CredentialInfo>> {
        let account_id = Self::account_of(viewer, account_id)?;
        let rows = account_credential::Entity::find()
            .filter(account_credential::Column::AccountId.eq(account_id))
            .order_by_asc(account_credential::Column::Host)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(CredentialInfo::from).collect())
    }

    /// The account's credential for `host`, opened (for the broker only).
    pub async fn open_for(&self, account_id: Uuid, host: &str) -> AppResult<Option<Opened>> {
        let Some(row) = account_credential::Entity::find()
            .filter(account_credential::Column::AccountId.eq(account_id))
            .filter(account_credential::Column::Host.eq(host))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let Some(sealer) = &self.sealer else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "a credential is stored but no --secrets-key is configured"
            )));
        };
        let plain = sealer.open(&row.key_id, &aad(row.account_id, &row.host), &row.sealed)?;
        let secret = String::from_utf8(plain)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("an opened credential is not text")))?;
        Ok(Some(Opened {
            kind: row.kind,
            username: row.username,
            header_name: row.header_name,
            secret: crate::config::Secret(secret),
        }))
    }

    /// Reseals every credential sealed with an earlier key under the current one (after a
    /// key rotation; a row changed meanwhile is left for the next start). How many moved.
    pub async fn reseal(&self) -> AppResult<u64> {
        let Some(sealer) = &self.sealer else { return Ok(0) };
        let stale = account_credential::Entity::find()
            .filter(account_credential::Column::KeyId.ne(sealer.current_id()))
            .all(&self.db)
            .await?;
        let mut moved = 0;
        for row in stale {
            let aad = aad(row.account_id, &row.host);
            let plain = sealer.open(&row.key_id, &aad, &row.sealed)?;
            let (key_id, sealed) = sealer.seal(&aad, &plain)?;
            // Conditional on the row being as read: a concurrent set wins.
            let done = account_credential::Entity::update_many()
                .col_expr(account_credential::Column::KeyId, sea_orm::sea_query::Expr::value(key_id))
                .col_expr(account_credential::Column::Sealed, sea_orm::sea_query::Expr::value(sealed))
                .filter(account_credential::Column::Id.eq(row.id))
                .filter(account_credential::Column::Sealed.eq(row.sealed))
                .exec(&self.db)
                .await?;
            moved += done.rows_affected;
        }
        Ok(moved)
    }
}
