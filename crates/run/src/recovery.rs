//! Runs whose runner is gone: any instance finishes a RUNNING run whose lease has expired
//! as INTERRUPTED, with a closing RunFinished so its followers end. An instance that
//! restarts under the same id finishes its own runs at once.
//!
//! Ending a run is one conditional UPDATE inside a transaction (still RUNNING, lease
//! expired unless forced) followed by the closing event at the next seq; two instances
//! reaping together, or a runner that comes back, cannot both win.

use crate::outcome::reasons as run_reasons;
use std::sync::Arc;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use super::{
    events::EventBody,
    hub::StoredEvent,
    manager::RunManager,
    notify::{self, Notice},
    outcome::status_name,
    store,
};
use crate::{
    entity::{
        agent_run,
        change_log::{self, Change},
        enums::RunStatus,
        lease, now,
    },
    error::AppResult,
};

impl RunManager {
    /// Ends `run` with `status` and `error` if it is still RUNNING and, unless `force`, its
    /// lease has expired. Returns the ended row, or None when it was not ended here.
    pub async fn reap(
        &self,
        run_id: Uuid,
        status: RunStatus,
        error: &str,
        force: bool,
    ) -> AppResult<Option<agent_run::Model>> {
        let t = now();
        let txn = crate::entity::db::write_txn(&self.db).await?;
        let Some(before) = agent_run::Entity::find_by_id(run_id).one(&txn).await? else { return Ok(None) };
        let mut update = agent_run::Entity::update_many()
            .col_expr(agent_run::Column::Status, Expr::value(status))
            .col_expr(agent_run::Column::Error, Expr::value(error))
            .col_expr(agent_run::Column::LeaseUntil, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
            .col_expr(agent_run::Column::DurationMs, Expr::value((t - before.created_at).num_milliseconds()))
            .col_expr(agent_run::Column::UpdatedAt, Expr::value(t))
            .filter(agent_run::Column::Id.eq(run_id))
            .filter(agent_run::Column::Status.eq(RunStatus::Running));
        if !force {
            update = update.filter(lease::expired::<agent_run::Entity>(t));
        }
        if update.exec(&txn).await?.rows_affected == 0 {
            return Ok(None);
        }
        let seq = store::last_seq(&txn, run_id).await? + 1;
        let finished = EventBody::RunFinished {
            status: status_name(status).into(),
            subtype: None,
            is_error: true,
            result: None,
            duration_ms: Some((t - before.created_at).num_milliseconds()),
            num_turns: before.num_turns,
            total_cost_usd: before.cost_usd,
            usage: None,
            exit_code: None,
            error: Some(error.to_string()),
            reason: Some(run_reasons::INTERRUPTED.into()),
        };
        let stored = store::append(&txn, run_id, &[(seq, finished)]).await?;
        let after = agent_run::Entity::find_by_id(run_id).one(&txn).await?;
        let change = Change { actor: None, entity: "agent_runs", entity_id: run_id, action: "run_interrupted" };
        change_log::record(&txn, change, Some(&before), after.as_ref()).await?;
        if let Some(run) = &after {
            let ev = crate::entity::webhook_event::RUN_FINISHED;
            crate::entity::webhook_event::of_run(&txn, ev, run, Some(run_reasons::INTERRUPTED)).await?;
        }
        txn.commit().await?;
        self.announce(stored).await;
        Ok(after)
    }

    /// Publishes events stored outside a run's own writer, here and on other instances.
    async fn announce(&self, stored: Vec<StoredEvent>) {
        for ev in stored {
            let notice = Notice::Events { run: ev.run_id, first: ev.seq, last: ev.seq };
            if let Err(e) = notify::send(&self.db, notice).await {
                tracing::warn!(error = ?e, "could not notify other instances");
            }
            self.hub.publish(Arc::new(ev));
        }
    }

    /// Ends every RUNNING run whose lease has expired (and, with `own`, every run this
    /// instance's id left behind: it was restarted, so none of them is still running).
    pub async fn reap_expired(&self, own: bool) -> AppResult<usize> {
        let t = now();
        let mut stale = lease::expired::<agent_run::Entity>(t);
        if own {
            stale = stale.add(agent_run::Column::RunnerId.eq(self.instance_id.clone()));
        }
        let runs = agent_run::Entity::find()
            .filter(agent_run::Column::Status.eq(RunStatus::Running))
            .filter(stale)
            .all(&self.db)
            .await?;
        let mut ended = 0;
        for run in runs {
            let mine = run.runner_id.as_deref() == Some(self.instance_id.as_str());
            if mine && self.is_local(run.id) {
                continue;
            }
            let why = if mine {
                "the server stopped while this run was in progress"
            } else {
                "the server running this run stopped (its lease expired)"
            };
            if self.reap(run.id, RunStatus::Interrupted, why, own && mine).await?.is_some() {
                ended += 1;
            }
        }
        if ended > 0 {
            tracing::warn!(count = ended, "finished runs whose runner is gone as INTERRUPTED");
        }
        Ok(ended)
    }
}
