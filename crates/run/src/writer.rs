//! Numbers a run's events, stores them in batches, then publishes them — in that order,
//! so a subscriber that reads the database after subscribing can never miss one.

use std::sync::Arc;

use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{
    events::EventBody,
    hub::{RunHub, StoredEvent},
    notify::{self, Notice},
    store,
};
use crate::{
    entity::{agent_run, enums::RunStatus},
    error::AppResult,
};

/// The single writer of one run's events.
pub struct EventWriter {
    db: DatabaseConnection,
    hub: Arc<RunHub>,
    run_id: Uuid,
    notify: bool,
    last_seq: i64,
    pending: Vec<(i64, EventBody)>,
    /// The run's account and sandbox, for the webhook events of its turns.
    owner: Option<(Uuid, Uuid)>,
}

impl EventWriter {
    /// A writer continuing after `last_seq`; `notify` announces batches to other instances.
    pub fn new(db: DatabaseConnection, hub: Arc<RunHub>, run_id: Uuid, last_seq: i64, notify: bool) -> Self {
        Self { db, hub, run_id, notify, last_seq, pending: Vec::new(), owner: None }
    }

    /// This writer also recording `run.turn_finished` for each turn that ends, with the
    /// turn's event, for the run of `account` in `sandbox`.
    pub fn with_owner(mut self, account: Uuid, sandbox: Uuid) -> Self {
        self.owner = Some((account, sandbox));
        self
    }

    /// Queues an event under the next seq.
    pub fn push(&mut self, body: EventBody) {
        self.last_seq += 1;
        self.pending.push((self.last_seq, body));
    }

    /// The session id of a queued SessionStarted, if one is queued.
    pub fn pending_session(&self) -> Option<String> {
        self.pending.iter().find_map(|(_, e)| match e {
            EventBody::SessionStarted { session_id, .. } => Some(session_id.clone()),
            _ => None,
        })
    }

    /// Events queued and not yet flushed.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Stores the queued events in one statement, then publishes them locally and, on
    /// Postgres, to other instances. Nothing is published that was not stored: a failed
    /// store is an error, and the caller ends the run.
    pub async fn flush(&mut self) -> AppResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        let stored = self.store(&batch).await.inspect_err(|e| {
            tracing::error!(run_id = %self.run_id, error = ?e, "could not store run events");
        })?;
        self.publish(stored).await;
        Ok(())
    }

    /// Stores a batch; a turn's end and its `run.turn_finished` commit together.
    async fn store(&self, batch: &[(i64, EventBody)]) -> AppResult<Vec<StoredEvent>> {
        let turns: Vec<_> = batch
            .iter()
            .filter_map(|(seq, e)| match e {
                EventBody::TurnFinished { is_error, interrupted, .. } => Some((*seq, *is_error, *interrupted)),
                _ => None,
            })
            .collect();
        let Some((account, sandbox)) = self.owner.filter(|_| !turns.is_empty()) else {
            return store::append(&self.db, self.run_id, batch).await;
        };
        let txn = crate::entity::db::write_txn(&self.db).await?;
        let stored = store::append(&txn, self.run_id, batch).await?;
        for (seq, is_error, interrupted) in turns {
            let data = serde_json::json!({"runId": self.run_id, "sandboxId": sandbox, "seq": seq,
                                          "isError": is_error, "interrupted": interrupted});
            let ev = crate::entity::webhook_event::RUN_TURN_FINISHED;
            crate::entity::webhook_event::record(&txn, account, Some(sandbox), ev, data).await?;
        }
        txn.commit().await?;
        Ok(stored)
    }

    /// Drops events that could not be stored (their seqs are reused by what follows).
    pub fn discard_pending(&mut self) {
        self.last_seq -= self.pending.len() as i64;
        self.pending.clear();
    }

    /// Stores the closing event together with the run's final row in one transaction,
    /// then publishes it: whoever sees RunFinished also sees the finished row. The row is
    /// updated only while still RUNNING: a run already finished elsewhere (its lease
    /// expired and another instance ended it) is left as it is, and None returned.
    pub async fn finish(
        &mut self,
        body: EventBody,
        row: agent_run::ActiveModel,
    ) -> AppResult<Option<agent_run::Model>> {
        if self.flush().await.is_err() {
            self.discard_pending();
        }
        self.push(body);
        let batch = std::mem::take(&mut self.pending);
        let txn = crate::entity::db::write_txn(&self.db).await?;
        let still_running = agent_run::Entity::find_by_id(self.run_id)
            .filter(agent_run::Column::Status.eq(RunStatus::Running))
            .one(&txn)
            .await?;
        if still_running.is_none() {
            return Ok(None);
        }
        let stored = store::append(&txn, self.run_id, &batch).await?;
        let model = row.update(&txn).await?;
        let ev = crate::entity::webhook_event::RUN_FINISHED;
        crate::entity::webhook_event::of_run(&txn, ev, &model, model.error.as_deref()).await?;
        txn.commit().await?;
        self.publish(stored).await;
        Ok(Some(model))
    }

    async fn publish(&self, stored: Vec<StoredEvent>) {
        let (Some(first), Some(last)) = (stored.first().map(|e| e.seq), stored.last().map(|e| e.seq)) else { return };
        for ev in stored {
            self.hub.publish(Arc::new(ev));
        }
        if self.notify
            && let Err(e) = notify::send(&self.db, Notice::Events { run: self.run_id, first, last }).await
        {
            tracing::warn!(run_id = %self.run_id, error = ?e, "could not notify other instances");
        }
    }
}
