//! `Account`, its tokens (never their secrets) and the account list of the admin API.

use async_graphql::{ComplexObject, Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    enums::Role,
    page::PageInfo,
    usage::{Budget, Usage, totals as usage_totals},
};
use crate::{
    entity::{account, api_token},
    service::{
        accounts,
        billing::{
            budgets,
            usage::{self, UsageScope},
        },
        paging::{Page, encode_cursor},
    },
    {context::scope, cost},
};

/// An account as the API shows it.
pub struct Account(pub account::Model);

#[Object]
impl Account {
    /// Account id.
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// USER or ADMIN.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// Organization, if any.
    async fn organization_id(&self) -> Option<ID> {
        self.0.organization_id.map(|o| ID(o.to_string()))
    }
    /// The embedding product's id of this user (what its JWTs name).
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// A disabled account's tokens and JWTs are refused.
    async fn disabled(&self) -> bool {
        self.0.disabled
    }
    /// When created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Its API tokens, newest first (at most `limits.maxPageSize`); never their secrets.
    /// An admin sees anyone's, a user their own.
    #[graphql(complexity = "cost::page(100, child_complexity)")]
    async fn tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>> {
        let (svc, viewer) = scope(ctx)?;
        let rows =
            accounts::tokens_of(&svc.db, accounts::Actor::Viewer(viewer), self.0.id, svc.limits.max_page_size).await?;
        Ok(rows.into_iter().map(ApiToken::from).collect())
    }
    /// What its runs spent through the gateway, `since` ≤ time < `until` (either open).
    #[graphql(complexity = "cost::QUERY")]
    async fn usage(
        &self,
        ctx: &Context<'_>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Usage> {
        let (svc, viewer) = scope(ctx)?;
        if !viewer.can_see(self.0.id) {
            return Err(crate::error::AppError::NotFound("account").into());
        }
        usage_totals(&svc.db, UsageScope::Account(self.0.id), since, until).await
    }
    /// What it stores: distinct content, blobs and snapshots.
    #[graphql(complexity = "cost::QUERY * 2")]
    async fn storage(&self, ctx: &Context<'_>) -> Result<super::storage::StorageUsage> {
        let (svc, viewer) = scope(ctx)?;
        if !viewer.can_see(self.0.id) {
            return Err(crate::error::AppError::NotFound("account").into());
        }
        let u = svc.snapshots.usage(self.0.id).await?;
        let quota = svc.snapshots.policy(self.0.id).await?.quota_bytes;
        Ok(super::storage::StorageUsage { bytes: u.bytes, blobs: u.blobs, snapshots: u.snapshots, quota_bytes: quota })
    }
    /// Its spending caps and what it spent today and this month (UTC).
    #[graphql(complexity = "cost::QUERY * 2")]
    async fn budget(&self, ctx: &Context<'_>) -> Result<Budget> {
        let (svc, viewer) = scope(ctx)?;
        if !viewer.can_see(self.0.id) {
            return Err(crate::error::AppError::NotFound("account").into());
        }
        let b = budgets::get(&svc.db, self.0.id).await?;
        let (today, month) = usage::spend(&svc.db, self.0.id, crate::entity::now()).await?;
        Ok(Budget::new(b, today, month))
    }
}

/// An API token as the API shows it: everything but the secret, which exists only in the
/// answer to `createToken`.
#[derive(SimpleObject)]
pub struct ApiToken {
    /// Token id (to revoke it).
    pub id: ID,
    /// Its account.
    pub account_id: ID,
    /// A label.
    pub name: String,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last used (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// It may run queries and subscriptions only.
    pub read_only: bool,
}

impl From<api_token::Model> for ApiToken {
    fn from(t: api_token::Model) -> Self {
        Self {
            id: ID(t.id.to_string()),
            account_id: ID(t.account_id.to_string()),
            name: t.name,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            read_only: t.read_only,
        }
    }
}

/// A token just created: the secret is shown this once and stored nowhere.
#[derive(SimpleObject)]
pub struct IssuedToken {
    /// The bearer token.
    pub token: String,
    /// Its stored description.
    pub info: ApiToken,
}

/// One account in a list.
#[derive(SimpleObject)]
pub struct AccountEdge {
    /// Opaque position.
    pub cursor: String,
    /// The account.
    pub node: Account,
}

/// A page of accounts, newest first.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AccountConnection {
    /// Accounts with cursors.
    pub edges: Vec<AccountEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
    /// The filter the page was made with, kept to count the whole list on demand.
    #[graphql(skip)]
    pub filter: accounts::AccountFilter,
}

#[ComplexObject]
impl AccountConnection {
    /// Accounts on this page.
    async fn nodes(&self) -> Vec<Account> {
        self.edges.iter().map(|e| Account(e.node.0.clone())).collect()
    }
    /// All accounts matching the filter, across pages.
    #[graphql(complexity = "cost::QUERY")]
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let (svc, viewer) = scope(ctx)?;
        Ok(accounts::count(&svc.db, accounts::Actor::Viewer(viewer), &self.filter).await?)
    }
}

impl AccountConnection {
    /// Wraps a service page.
    pub fn new(page: Page<account::Model>, had_after: bool, filter: accounts::AccountFilter) -> Self {
        let page_info = PageInfo::of(&page, had_after, |a| a.id);
        let edges =
            page.items.into_iter().map(|a| AccountEdge { cursor: encode_cursor(a.id), node: Account(a) }).collect();
        Self { edges, page_info, filter }
    }
}
