//! Credentials: `credentials`, `setCredential`, `deleteCredential`. A secret goes in and
//! never comes out; the broker adds it to the sandbox's requests for its host. Admins
//! may name another account (`accountId`); everyone else acts on their own.

use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::{
    context::{parse_opt_id, scope},
    cost,
    service::credentials::NewCredential,
    types::credential::{Credential, CredentialKind},
};

/// A credential to set.
#[derive(InputObject)]
pub struct SetCredentialInput {
    /// The host it is for (`github.com`, `git.example.com:8443`).
    pub host: String,
    /// How it is added.
    pub kind: CredentialKind,
    /// GIT_HTTPS's user name (default `x-access-token`).
    pub username: Option<String>,
    /// The secret (a token, a key); write-only.
    #[graphql(secret)]
    pub secret: String,
    /// HTTP_HEADER's header (default `Authorization`; the secret is its whole value, e.g.
    /// `Bearer …`).
    pub header_name: Option<String>,
    /// The account (admins only; default: the caller's).
    pub account_id: Option<ID>,
}

/// Credential queries.
#[derive(Default)]
pub struct CredentialQuery;

#[Object]
impl CredentialQuery {
    /// The account's credentials by host (never their secrets).
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn credentials(&self, ctx: &Context<'_>, account_id: Option<ID>) -> Result<Vec<Credential>> {
        let (svc, viewer) = scope(ctx)?;
        let account = parse_opt_id(account_id.as_ref(), "accountId")?;
        Ok(svc.credentials.list(viewer, account).await?.into_iter().map(Credential).collect())
    }
}

/// Credential mutations.
#[derive(Default)]
pub struct CredentialMutation;

#[Object]
impl CredentialMutation {
    /// Sets (makes or replaces) the account's credential for a host. Sealed at rest with
    /// the server's `--secrets-key` (CONFLICT `CREDENTIALS_DISABLED` without one) and
    /// audited without the secret. Setting one also allows its host to the account's
    /// sandboxes, through the broker only.
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn set_credential(&self, ctx: &Context<'_>, input: SetCredentialInput) -> Result<Credential> {
        let (svc, viewer) = scope(ctx)?;
        let account = parse_opt_id(input.account_id.as_ref(), "input.accountId")?;
        let new = NewCredential {
            host: input.host,
            kind: input.kind.into(),
            username: input.username,
            secret: input.secret,
            header_name: input.header_name,
        };
        Ok(Credential(svc.credentials.set(viewer, account, new).await?))
    }

    /// Deletes the account's credential for `host`: the broker adds nothing from then on.
    /// False when there was none.
    #[graphql(complexity = "cost::QUERY")]
    async fn delete_credential(&self, ctx: &Context<'_>, host: String, account_id: Option<ID>) -> Result<bool> {
        let (svc, viewer) = scope(ctx)?;
        let account = parse_opt_id(account_id.as_ref(), "accountId")?;
        Ok(svc.credentials.delete(viewer, account, &host).await?)
    }
}
