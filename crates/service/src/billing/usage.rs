//! The usage ledger: what each upstream response cost, and totals over a run, a sandbox or
//! an account between two times. Sums run in the database (indexed by owner and time), so
//! a total costs one query however many rows it covers.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, QueryFilter, QuerySelect,
    Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::billing::pricing::Tokens;
use crate::{
    entity::{new_id, usage_record},
    error::AppResult,
};

/// Totals of a set of responses.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromQueryResult)]
pub struct UsageTotals {
    /// Upstream responses.
    pub requests: i64,
    /// Uncached input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Input tokens written to the cache.
    pub cache_creation_input_tokens: i64,
    /// Input tokens read from the cache.
    pub cache_read_input_tokens: i64,
    /// Cost in millionths of a dollar.
    pub cost_micros: i64,
}

/// Whose usage to total.
#[derive(Debug, Clone, Copy)]
pub enum UsageScope {
    /// One run.
    Run(Uuid),
    /// One sandbox, all its runs.
    Sandbox(Uuid),
    /// One account, all its sandboxes.
    Account(Uuid),
}

/// What one upstream response used, and who pays.
#[derive(Debug, Clone)]
pub struct Charge {
    /// The paying account.
    pub account_id: Uuid,
    /// Its sandbox.
    pub sandbox_id: Uuid,
    /// Its run.
    pub run_id: Uuid,
    /// The model that answered.
    pub model: String,
    /// Its tokens.
    pub tokens: Tokens,
    /// Their cost in millionths of a dollar.
    pub cost_micros: i64,
}

/// Adds one response to the ledger.
pub async fn record<C: ConnectionTrait>(db: &C, c: &Charge) -> AppResult<()> {
    let t = crate::entity::now();
    usage_record::ActiveModel {
        id: Set(new_id()),
        account_id: Set(c.account_id),
        sandbox_id: Set(c.sandbox_id),
        run_id: Set(c.run_id),
        model: Set(c.model.chars().take(200).collect()),
        input_tokens: Set(c.tokens.input),
        output_tokens: Set(c.tokens.output),
        cache_creation_input_tokens: Set(c.tokens.cache_creation),
        cache_read_input_tokens: Set(c.tokens.cache_read),
        cost_micros: Set(c.cost_micros),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Totals of `scope` with `since <= created_at < until` (either bound optional).
pub async fn totals<C: ConnectionTrait>(
    db: &C,
    scope: UsageScope,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> AppResult<UsageTotals> {
    use usage_record::Column as C;
    let mut q = usage_record::Entity::find().select_only();
    q = match scope {
        UsageScope::Run(id) => q.filter(C::RunId.eq(id)),
        UsageScope::Sandbox(id) => q.filter(C::SandboxId.eq(id)),
        UsageScope::Account(id) => q.filter(C::AccountId.eq(id)),
    };
    if let Some(s) = since {
        q = q.filter(C::CreatedAt.gte(s));
    }
    if let Some(u) = until {
        q = q.filter(C::CreatedAt.lt(u));
    }
    // COUNT and SUM of BIGINT: Postgres answers NUMERIC for SUM, so cast back to BIGINT.
    let sum = |c: C| Expr::cust(format!("CAST(COALESCE(SUM({}), 0) AS BIGINT)", c.as_str()));
    let row = q
        .expr_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "requests")
        .expr_as(sum(C::InputTokens), "input_tokens")
        .expr_as(sum(C::OutputTokens), "output_tokens")
        .expr_as(sum(C::CacheCreationInputTokens), "cache_creation_input_tokens")
        .expr_as(sum(C::CacheReadInputTokens), "cache_read_input_tokens")
        .expr_as(sum(C::CostMicros), "cost_micros")
        .into_model::<UsageTotals>()
        .one(db)
        .await?;
    Ok(row.unwrap_or_default())
}

/// Midnight UTC of `now`'s day and the first of its month: where daily and monthly
/// budgets start counting.
pub fn period_starts(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let day = Utc.with_ymd_and_hms(now.year(), now.month(), now.day(), 0, 0, 0).single().unwrap_or(now);
    let month = Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).single().unwrap_or(day);
    (day, month)
}

/// What an account spent today and this month (UTC), in millionths of a dollar.
pub async fn spend<C: ConnectionTrait>(db: &C, account: Uuid, now: DateTime<Utc>) -> AppResult<(i64, i64)> {
    let (day, month) = period_starts(now);
    let today = totals(db, UsageScope::Account(account), Some(day), None).await?.cost_micros;
    let this_month = if month == day {
        today
    } else {
        totals(db, UsageScope::Account(account), Some(month), None).await?.cost_micros
    };
    Ok((today, this_month))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_at_utc_midnight_and_the_first_of_the_month() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 21, 5, 7).unwrap();
        let (day, month) = period_starts(t);
        assert_eq!(day, Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap());
        assert_eq!(month, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
        let first = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(period_starts(first), (first, first));
    }
}
