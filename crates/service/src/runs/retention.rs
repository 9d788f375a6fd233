//! Retention of run events: `--run-events-max-age-hours` after a run ends, its token
//! deltas go — they are the pieces of messages its typed events (`AssistantText`,
//! `ToolUse`, `AssistantThinking`) hold whole — and every typed event stays. A replay of
//! such a run asking for deltas is told so (CONFLICT `EVENTS_COMPACTED`), never handed a
//! silently partial stream.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

use super::Runs;
use crate::{
    entity::{agent_run, agent_run_event, enums::RunStatus, now},
    error::{AppError, AppResult, reasons},
};

/// The kinds retention removes: token-level pieces of what typed events hold whole.
pub const DELTA_KINDS: &[&str] = &["TextDelta", "ToolInputDelta", "ThinkingDelta"];

/// Runs compacted per pass.
const PER_PASS: u64 = 100;

impl Runs {
    /// Removes the deltas of runs that ended more than the setting ago; how many runs.
    pub async fn compact_events(&self) -> AppResult<u64> {
        let hours = self.limits.storage.run_events_max_age_hours;
        if hours == 0 {
            return Ok(0);
        }
        let cutoff = now() - chrono::Duration::hours(hours as i64);
        let runs = agent_run::Entity::find()
            .filter(agent_run::Column::Status.ne(RunStatus::Running))
            .filter(agent_run::Column::UpdatedAt.lt(cutoff))
            .filter(agent_run::Column::EventsCompactedAt.is_null())
            .limit(PER_PASS)
            .all(&self.db)
            .await?;
        for run in &runs {
            let txn = crate::entity::db::write_txn(&self.db).await?;
            agent_run_event::Entity::delete_many()
                .filter(agent_run_event::Column::RunId.eq(run.id))
                .filter(agent_run_event::Column::Kind.is_in(DELTA_KINDS.iter().copied()))
                .exec(&txn)
                .await?;
            let am =
                agent_run::ActiveModel { id: Set(run.id), events_compacted_at: Set(Some(now())), ..Default::default() };
            am.update(&txn).await?;
            txn.commit().await?;
        }
        Ok(runs.len() as u64)
    }

    /// Compacts old runs' events every `reclaimEverySecs`, on every instance (each run is
    /// compacted once: the mark and the delete commit together).
    pub fn spawn_compactor(&self) {
        let this = self.clone();
        let every = std::time::Duration::from_secs(self.limits.checkpoints.reclaim_every_secs.max(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = this.compact_events().await {
                    tracing::warn!(error = ?e.log_detail(), "compacting run events failed");
                }
            }
        });
    }

    /// Refuses a replay that asks for deltas of a run whose deltas are gone.
    pub async fn check_kinds(&self, run_id: Uuid, kinds: Option<&[String]>) -> AppResult<()> {
        if !kinds.is_some_and(|k| k.iter().any(|k| DELTA_KINDS.contains(&k.as_str()))) {
            return Ok(());
        }
        let run = agent_run::Entity::find_by_id(run_id).one(&self.db).await?;
        match run.and_then(|r| r.events_compacted_at) {
            Some(at) => Err(AppError::conflict_because(
                reasons::EVENTS_COMPACTED,
                format!("this run's token deltas were removed by retention at {at}; its typed events are all kept"),
            )),
            None => Ok(()),
        }
    }
}
