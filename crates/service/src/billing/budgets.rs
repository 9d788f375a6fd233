//! Budgets: what an account may spend per UTC day and month through the gateway, and how
//! many runs it may have at once. Set by admins (audited); checked when a run starts
//! (inside the start transaction, with the account row locked) and by the gateway before
//! every upstream request of a run.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

use crate::{
    accounts::{Actor, lock_account},
    billing::usage,
};
use crate::{
    entity::{
        account, account_budget, agent_run,
        change_log::{self, Change},
        enums::RunStatus,
        now,
    },
    error::{AppError, AppResult},
};

/// An account's caps; None is no cap.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    /// USD per UTC day.
    pub daily_usd: Option<f64>,
    /// USD per UTC calendar month.
    pub monthly_usd: Option<f64>,
    /// Runs RUNNING at once.
    pub max_concurrent_runs: Option<i64>,
}

fn micros(usd: Option<f64>) -> Option<i64> {
    usd.map(|u| (u * 1_000_000.0).round() as i64)
}

fn usd(micros: Option<i64>) -> Option<f64> {
    micros.map(|m| m as f64 / 1_000_000.0)
}

impl From<&account_budget::Model> for Budget {
    fn from(m: &account_budget::Model) -> Self {
        Budget {
            daily_usd: usd(m.daily_micros),
            monthly_usd: usd(m.monthly_micros),
            max_concurrent_runs: m.max_concurrent_runs,
        }
    }
}

/// The spend caps against what was spent: the reason to refuse, if any.
pub fn over_spend(b: &Budget, today_micros: i64, month_micros: i64) -> Option<String> {
    let fmt = |m: i64| format!("${:.2}", m as f64 / 1_000_000.0);
    if let Some(cap) = micros(b.daily_usd)
        && today_micros >= cap
    {
        return Some(format!("the account's daily budget of {} is spent ({} today, UTC)", fmt(cap), fmt(today_micros)));
    }
    if let Some(cap) = micros(b.monthly_usd)
        && month_micros >= cap
    {
        return Some(format!(
            "the account's monthly budget of {} is spent ({} this month)",
            fmt(cap),
            fmt(month_micros)
        ));
    }
    None
}

/// An account's budget (all None when none is set).
pub async fn get<C: ConnectionTrait>(db: &C, account: Uuid) -> AppResult<Budget> {
    Ok(account_budget::Entity::find_by_id(account).one(db).await?.as_ref().map(Budget::from).unwrap_or_default())
}

/// Sets an account's budget (ADMIN or operator); every field is replaced.
pub async fn set(db: &DatabaseConnection, actor: Actor<'_>, account: Uuid, b: Budget) -> AppResult<Budget> {
    let who = actor.check()?;
    for v in [b.daily_usd, b.monthly_usd].into_iter().flatten() {
        if !v.is_finite() || !(0.0..=1e9).contains(&v) {
            return Err(AppError::bad_input("budgets are amounts of USD between 0 and 1,000,000,000"));
        }
    }
    if b.max_concurrent_runs.is_some_and(|n| !(0..=1_000_000).contains(&n)) {
        return Err(AppError::bad_input("`maxConcurrentRuns` must be between 0 and 1,000,000"));
    }
    let txn = crate::entity::db::write_txn(db).await?;
    lock_account(&txn, account).await?;
    if account::Entity::find_by_id(account).one(&txn).await?.is_none() {
        return Err(AppError::NotFound("account"));
    }
    let before = account_budget::Entity::find_by_id(account).one(&txn).await?;
    let row = account_budget::ActiveModel {
        account_id: Set(account),
        daily_micros: Set(micros(b.daily_usd)),
        monthly_micros: Set(micros(b.monthly_usd)),
        max_concurrent_runs: Set(b.max_concurrent_runs),
        updated_at: Set(now()),
    };
    let after = match &before {
        Some(_) => row.update(&txn).await?,
        None => row.insert(&txn).await?,
    };
    let change = Change { actor: who, entity: "account_budgets", entity_id: account, action: "set_budget" };
    change_log::record(&txn, change, before.as_ref(), Some(&after)).await?;
    txn.commit().await?;
    Ok(Budget::from(&after))
}

/// Whether the account may start another run now: BUDGET_EXCEEDED when its spend caps are
/// reached or it has its most runs at once. Call inside the start transaction after
/// locking the account row, so two starts cannot both pass the concurrency check.
pub async fn check_start<C: ConnectionTrait>(db: &C, account: Uuid, at: DateTime<Utc>) -> AppResult<()> {
    let b = get(db, account).await?;
    if let Some(max) = b.max_concurrent_runs {
        let running = agent_run::Entity::find()
            .filter(agent_run::Column::AccountId.eq(account))
            .filter(agent_run::Column::Status.eq(RunStatus::Running))
            .count(db)
            .await? as i64;
        if running >= max {
            return Err(AppError::BudgetExceeded(format!(
                "the account may have {max} runs at once and has {running}; wait for one to finish"
            )));
        }
    }
    if b.daily_usd.is_none() && b.monthly_usd.is_none() {
        return Ok(());
    }
    let (today, month) = usage::spend(db, account, at).await?;
    match over_spend(&b, today, month) {
        Some(why) => Err(AppError::BudgetExceeded(why)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spend_at_or_over_a_cap_is_refused_with_the_amounts() {
        let b = Budget { daily_usd: Some(0.01), monthly_usd: Some(1.0), max_concurrent_runs: None };
        assert_eq!(over_spend(&b, 9_999, 9_999), None);
        let why = over_spend(&b, 10_000, 10_000).unwrap();
        assert!(why.contains("daily budget of $0.01"), "{why}");
        let why = over_spend(&b, 0, 1_000_000).unwrap();
        assert!(why.contains("monthly budget of $1.00"), "{why}");
        assert_eq!(over_spend(&Budget::default(), i64::MAX, i64::MAX), None);
    }
}
