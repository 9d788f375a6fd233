//! `Credential`: what the broker adds to a sandbox's requests for one host, as the API
//! shows it — host, kind and names, never the secret (it is write-only).

use async_graphql::{Enum, ID, Object};
use chrono::{DateTime, Utc};

use crate::{entity::enums, service::credentials::CredentialInfo};

/// How the broker adds a credential.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "enums::CredentialKind")]
pub enum CredentialKind {
    /// Git over HTTPS: sent as Basic auth of `username` and the secret on the sandbox's
    /// git requests to the host (clone, fetch, push).
    GitHttps,
    /// Any HTTPS API: the secret as the value of `headerName` on requests the sandbox
    /// sends to the host through `$SANDBOXQL_BROKER_URL/{host}/…`.
    HttpHeader,
}

/// One account's credential for one host (its secret is never readable).
pub struct Credential(pub CredentialInfo);

#[Object]
impl Credential {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The host it is for (`host` or `host:port`).
    async fn host(&self) -> &str {
        &self.0.host
    }
    /// How it is added.
    async fn kind(&self) -> CredentialKind {
        self.0.kind.into()
    }
    /// GIT_HTTPS's user name.
    async fn username(&self) -> Option<&str> {
        self.0.username.as_deref()
    }
    /// HTTP_HEADER's header.
    async fn header_name(&self) -> Option<&str> {
        self.0.header_name.as_deref()
    }
    /// When made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When last set.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
