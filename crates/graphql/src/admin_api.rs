//! The admin API: accounts and tokens of the embedding product's users (ADMIN only, every
//! change audited). The CLI calls the same service functions.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};

use super::{
    context::{parse_id, parse_opt_id, scope},
    cost,
    types::{
        account::{Account, AccountConnection, ApiToken, IssuedToken},
        enums::Role,
        storage::AccountErasure,
        usage::Budget,
    },
};
use crate::service::{
    accounts::{self, AccountChange, Actor, NewAccount, NewToken},
    billing::budgets,
    paging::PageRequest,
};

/// Narrowing of the account list.
#[derive(InputObject, Default)]
pub struct AccountFilter {
    /// Only disabled (true) or enabled (false) accounts.
    pub disabled: Option<bool>,
    /// Only the account with this external id.
    pub external_id: Option<String>,
}

/// A new account.
#[derive(InputObject)]
pub struct CreateAccountInput {
    /// Display name.
    pub name: String,
    /// USER (default) or ADMIN.
    pub role: Option<Role>,
    /// Organization, stamped on its sandboxes.
    pub organization_id: Option<ID>,
    /// The embedding product's id of the user (unique).
    pub external_id: Option<String>,
}

/// Changes to an account; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateAccountInput {
    /// New display name.
    pub name: Option<String>,
    /// Disable (all its tokens refused) or enable.
    pub disabled: Option<bool>,
}

/// Drops this instance's remembered token answers, so a revoked token or a disabled
/// account is refused here from the next request on (other instances within the cache TTL).
fn forget_answers(ctx: &Context<'_>) {
    if let Some(auth) = ctx.data_opt::<std::sync::Arc<crate::auth::Authenticator>>() {
        auth.forget_all();
    }
}

/// Admin queries.
#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Every account, newest first (ADMIN only).
    #[graphql(complexity = "cost::page(first as i64, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "Page size, 0 to `limits.maxPageSize`.")] first: i32,
        after: Option<String>,
        filter: Option<AccountFilter>,
    ) -> Result<AccountConnection> {
        let (svc, viewer) = scope(ctx)?;
        viewer.require_admin()?;
        let page = PageRequest::new(first.into(), after.as_deref(), svc.limits.max_page_size)?;
        let f = filter.unwrap_or_default();
        let f = accounts::AccountFilter { disabled: f.disabled, external_id: f.external_id };
        let rows = accounts::list(&svc.db, Actor::Viewer(viewer), &f, page).await?;
        Ok(AccountConnection::new(rows, page.after.is_some(), f))
    }

    /// An account by id: any for an admin, your own otherwise; null when not visible.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn account(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Account>> {
        let (svc, viewer) = scope(ctx)?;
        Ok(accounts::get(&svc.db, viewer, parse_id(&id, "id")?).await?.map(Account))
    }

    /// Where an account's erasure stands (ADMIN only); null when none was asked for.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn account_erasure(&self, ctx: &Context<'_>, id: ID) -> Result<Option<AccountErasure>> {
        let (svc, viewer) = scope(ctx)?;
        let state = svc.erasure.state(Actor::Viewer(viewer), parse_id(&id, "id")?).await?;
        Ok(state.map(AccountErasure::from))
    }
}

/// Admin mutations.
#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Creates an account (ADMIN only). Give it a token with `createToken`.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn create_account(&self, ctx: &Context<'_>, input: CreateAccountInput) -> Result<Account> {
        let (svc, viewer) = scope(ctx)?;
        let new = NewAccount {
            name: input.name,
            role: input.role.map(Into::into).unwrap_or(crate::entity::enums::Role::User),
            organization_id: parse_opt_id(input.organization_id.as_ref(), "input.organizationId")?,
            external_id: input.external_id,
        };
        let max = svc.limits.max_name_chars;
        Ok(Account(accounts::create(&svc.db, Actor::Viewer(viewer), new, max).await?))
    }

    /// Renames, disables or enables an account (ADMIN only). A disabled account's tokens
    /// and open sockets are refused within seconds.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn update_account(&self, ctx: &Context<'_>, id: ID, input: UpdateAccountInput) -> Result<Account> {
        let (svc, viewer) = scope(ctx)?;
        let change = AccountChange { name: input.name, disabled: input.disabled };
        let id = parse_id(&id, "id")?;
        let row = accounts::update(&svc.db, Actor::Viewer(viewer), id, change, svc.limits.max_name_chars).await?;
        forget_answers(ctx);
        Ok(Account(row))
    }

    /// Issues a token for an account (ADMIN only); the secret is in this answer only.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn create_token(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        name: Option<String>,
        expires_at: Option<DateTime<Utc>>,
        #[graphql(desc = "Queries and subscriptions only (default false).")] read_only: Option<bool>,
    ) -> Result<IssuedToken> {
        let (svc, viewer) = scope(ctx)?;
        let new =
            NewToken { name: name.unwrap_or_else(|| "api".into()), expires_at, read_only: read_only.unwrap_or(false) };
        let account = parse_id(&account_id, "accountId")?;
        let max = svc.limits.max_name_chars;
        let issued = accounts::issue_token(&svc.db, Actor::Viewer(viewer), account, new, max).await?;
        Ok(IssuedToken { token: issued.token, info: ApiToken::from(issued.info) })
    }

    /// Sets an account's caps (ADMIN only; every field replaced, null for none): USD per
    /// UTC day and month spent through the gateway, and runs at once. A run that would
    /// start over a cap is refused with BUDGET_EXCEEDED; one that crosses it is stopped at
    /// its next API request and ends FAILED.
    #[graphql(complexity = "cost::QUERY * 2")]
    async fn set_account_budget(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        daily_usd: Option<f64>,
        monthly_usd: Option<f64>,
        max_concurrent_runs: Option<i32>,
    ) -> Result<Budget> {
        let (svc, viewer) = scope(ctx)?;
        let account = parse_id(&account_id, "accountId")?;
        let b = budgets::Budget { daily_usd, monthly_usd, max_concurrent_runs: max_concurrent_runs.map(i64::from) };
        let set = budgets::set(&svc.db, Actor::Viewer(viewer), account, b).await?;
        let (today, month) = crate::service::billing::usage::spend(&svc.db, account, crate::entity::now()).await?;
        Ok(Budget::new(set, today, month))
    }

    /// Erases an account (ADMIN only, not your own): its tokens stop working at once; then
    /// every sandbox, workspace, volume, stored object and row of it is removed in the
    /// background (resumed by another instance if this one dies). One audit record keeps
    /// its id. Watch it with `accountErasure(id)`.
    #[graphql(complexity = "cost::SYNC + child_complexity")]
    async fn delete_account(&self, ctx: &Context<'_>, id: ID) -> Result<AccountErasure> {
        let (svc, viewer) = scope(ctx)?;
        let state = svc.erasure.request(Actor::Viewer(viewer), parse_id(&id, "id")?).await?;
        forget_answers(ctx);
        Ok(AccountErasure::from(state))
    }

    /// Revokes a token (ADMIN only): refused from the next request on.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn revoke_token(&self, ctx: &Context<'_>, id: ID) -> Result<ApiToken> {
        let (svc, viewer) = scope(ctx)?;
        let row = accounts::revoke(&svc.db, Actor::Viewer(viewer), parse_id(&id, "id")?).await?;
        forget_answers(ctx);
        Ok(ApiToken::from(row))
    }
}
