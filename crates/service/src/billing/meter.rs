//! The gateway's side of the ledger: which run a per-run token speaks for (only while it
//! is RUNNING), whether its account's budget still allows a request, and charging what
//! each response used.

use std::sync::Arc;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::{
    auth::run_token,
    entity::{agent_run, enums::RunStatus, now},
    error::{AppError, AppResult},
};
use crate::{
    billing::budgets,
    billing::pricing::{PriceTable, Tokens},
    billing::usage::{self, Charge},
};

/// The run a gateway request is made for.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    /// The run.
    pub run_id: Uuid,
    /// Its sandbox.
    pub sandbox_id: Uuid,
    /// Who pays.
    pub account_id: Uuid,
}

/// Authorises gateway requests and charges their usage.
#[derive(Clone)]
pub struct Meter {
    db: DatabaseConnection,
    prices: Arc<PriceTable>,
}

impl Meter {
    /// A meter over `db` charging by `prices`.
    pub fn new(db: DatabaseConnection, prices: Arc<PriceTable>) -> Self {
        Self { db, prices }
    }

    /// The run `token` speaks for: UNAUTHENTICATED unless it is a RUNNING run's current
    /// token; BUDGET_EXCEEDED when the account's spend cap is reached, and then the run
    /// is marked to end FAILED with that reason.
    pub async fn authorize(&self, token: &str) -> AppResult<Grant> {
        let refused = || AppError::Unauthenticated("invalid run token");
        let named = run_token::run_of(token).ok_or_else(refused)?;
        let named = agent_run::Entity::find_by_id(named).one(&self.db).await?.ok_or_else(refused)?;
        let hash = named.gateway_token_sha256.clone().filter(|h| run_token::matches(token, h)).ok_or_else(refused)?;
        let run = match named.status {
            RunStatus::Running => named,
            // A Claude kept for later runs holds the token of the run that started it; it
            // speaks for the sandbox's run now RUNNING with that token, if there is one.
            _ => agent_run::Entity::find()
                .filter(agent_run::Column::SandboxId.eq(named.sandbox_id))
                .filter(agent_run::Column::Status.eq(RunStatus::Running))
                .filter(agent_run::Column::GatewayTokenSha256.eq(hash))
                .one(&self.db)
                .await?
                .ok_or_else(refused)?,
        };
        let run_id = run.id;
        let grant = Grant { run_id, sandbox_id: run.sandbox_id, account_id: run.account_id };
        let budget = budgets::get(&self.db, run.account_id).await?;
        if budget.daily_usd.is_some() || budget.monthly_usd.is_some() {
            let (today, month) = usage::spend(&self.db, run.account_id, now()).await?;
            if let Some(why) = budgets::over_spend(&budget, today, month) {
                let reason = format!("BUDGET_EXCEEDED: {why}");
                // The run's stop reason and `budget.exceeded` commit together, once a run.
                let txn = crate::entity::db::write_txn(&self.db).await?;
                let stopped = agent_run::Entity::update_many()
                    .col_expr(agent_run::Column::StopReason, Expr::value(reason))
                    .filter(agent_run::Column::Id.eq(run_id))
                    .filter(agent_run::Column::StopReason.is_null())
                    .exec(&txn)
                    .await?;
                if stopped.rows_affected == 1 {
                    let data = serde_json::json!({"runId": run_id, "sandboxId": run.sandbox_id, "reason": why});
                    let ev = crate::entity::webhook_event::BUDGET_EXCEEDED;
                    crate::entity::webhook_event::record(&txn, run.account_id, Some(run.sandbox_id), ev, data).await?;
                }
                txn.commit().await?;
                return Err(AppError::BudgetExceeded(why));
            }
        }
        Ok(grant)
    }

    /// Charges one response to its run's account.
    pub async fn charge(&self, grant: &Grant, model: &str, tokens: Tokens) -> AppResult<()> {
        let charge = Charge {
            account_id: grant.account_id,
            sandbox_id: grant.sandbox_id,
            run_id: grant.run_id,
            model: model.to_string(),
            cost_micros: self.prices.cost_micros(model, &tokens),
            tokens,
        };
        usage::record(&self.db, &charge).await
    }
}
