//! `account_credentials`: what the broker adds to a sandbox's requests for one host, per
//! account. The secret is sealed (`sealed`, under the key `key_id` names); its Debug
//! shows neither, so no log can hold it.

use sea_orm::entity::prelude::*;

use crate::enums::CredentialKind;

/// One account's credential for one host.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_credentials")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose it is.
    pub account_id: Uuid,
    /// The host it is for (`host` or `host:port`, lower case).
    pub host: String,
    /// How it is added.
    pub kind: CredentialKind,
    /// The user name of a GIT_HTTPS credential.
    pub username: Option<String>,
    /// The header an HTTP_HEADER credential sets.
    pub header_name: Option<String>,
    /// Which `--secrets-key` sealed it.
    pub key_id: String,
    /// Nonce and ciphertext, base64.
    pub sealed: String,
    /// When made.
    pub created_at: DateTimeUtc,
    /// When last set.
    pub updated_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("account_credential")
            .field("account_id", &self.account_id)
            .field("host", &self.host)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
