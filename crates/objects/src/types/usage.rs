//! `Usage` (what runs spent through the gateway) and `Budget` (an account's caps and what
//! it spent against them).

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};

use crate::service::billing::{
    budgets,
    usage::{self, UsageScope, UsageTotals},
};

/// Totals of the gateway's usage ledger over a run, a sandbox or an account.
#[derive(SimpleObject, Default)]
pub struct Usage {
    /// Upstream API responses.
    pub requests: i64,
    /// Uncached input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: i64,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: i64,
    /// Cost in US dollars, from the price table at the time of each response.
    pub cost_usd: f64,
}

impl From<UsageTotals> for Usage {
    fn from(t: UsageTotals) -> Self {
        Usage {
            requests: t.requests,
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            cache_creation_input_tokens: t.cache_creation_input_tokens,
            cache_read_input_tokens: t.cache_read_input_tokens,
            cost_usd: t.cost_micros as f64 / 1_000_000.0,
        }
    }
}

/// The totals of `scope` between `since` (inclusive) and `until` (exclusive).
pub async fn totals(
    db: &sea_orm::DatabaseConnection,
    scope: UsageScope,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> async_graphql::Result<Usage> {
    Ok(usage::totals(db, scope, since, until).await?.into())
}

/// An account's caps (null: none) and its spend against them; days and months are UTC.
#[derive(SimpleObject)]
pub struct Budget {
    /// Most USD per UTC day.
    pub daily_usd: Option<f64>,
    /// Most USD per UTC calendar month.
    pub monthly_usd: Option<f64>,
    /// Most runs at once.
    pub max_concurrent_runs: Option<i64>,
    /// Spent since UTC midnight.
    pub spent_today_usd: f64,
    /// Spent since the first of this UTC month.
    pub spent_this_month_usd: f64,
}

impl Budget {
    /// The budget with what was spent today and this month.
    pub fn new(b: budgets::Budget, today_micros: i64, month_micros: i64) -> Self {
        Budget {
            daily_usd: b.daily_usd,
            monthly_usd: b.monthly_usd,
            max_concurrent_runs: b.max_concurrent_runs,
            spent_today_usd: today_micros as f64 / 1_000_000.0,
            spent_this_month_usd: month_micros as f64 / 1_000_000.0,
        }
    }
}
