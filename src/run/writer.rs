//! Numbers a run's events, stores them in batches, then publishes them — in that order,
//! so a subscriber that reads the database after subscribing can never miss one.

use std::sync::Arc;

use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use uuid::Uuid;

use super::{
    events::EventBody,
    hub::{RunHub, StoredEvent},
    store,
};
use crate::{entity::agent_run, error::AppResult};

/// Postgres channel carrying `run_id:first_seq:last_seq` of each stored batch.
pub const EVENTS_CHANNEL: &str = "sandboxql_run_events";

/// The single writer of one run's events.
pub struct EventWriter {
    db: DatabaseConnection,
    hub: Arc<RunHub>,
    run_id: Uuid,
    notify: bool,
    last_seq: i64,
    pending: Vec<(i64, EventBody)>,
}

impl EventWriter {
    /// A writer continuing after `last_seq`; `notify` announces batches to other instances.
    pub fn new(db: DatabaseConnection, hub: Arc<RunHub>, run_id: Uuid, last_seq: i64, notify: bool) -> Self {
        Self { db, hub, run_id, notify, last_seq, pending: Vec::new() }
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
    /// Postgres, to other instances. A failed store is logged and the events are still
    /// published so live viewers lose nothing.
    pub async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        let stored = match store::append(&self.db, self.run_id, &batch).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(run_id = %self.run_id, error = ?e, "could not store run events");
                self.unstored(batch)
            }
        };
        self.publish(stored).await;
    }

    /// Stores the closing event together with the run's final row in one transaction,
    /// then publishes it: whoever sees RunFinished also sees the finished row.
    pub async fn finish(&mut self, body: EventBody, row: agent_run::ActiveModel) -> AppResult<agent_run::Model> {
        self.flush().await;
        self.push(body);
        let batch = std::mem::take(&mut self.pending);
        let txn = self.db.begin().await?;
        let stored = store::append(&txn, self.run_id, &batch).await;
        let result = match stored {
            Ok(stored) => match row.update(&txn).await {
                Ok(model) => txn.commit().await.map(|_| (stored, model)).map_err(Into::into),
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e),
        };
        match result {
            Ok((stored, model)) => {
                self.publish(stored).await;
                Ok(model)
            }
            Err(e) => {
                let events = self.unstored(batch);
                self.publish(events).await;
                Err(e)
            }
        }
    }

    fn unstored(&self, batch: Vec<(i64, EventBody)>) -> Vec<StoredEvent> {
        let at = crate::entity::now();
        batch.into_iter().map(|(seq, body)| StoredEvent { run_id: self.run_id, seq, at, body }).collect()
    }

    async fn publish(&self, stored: Vec<StoredEvent>) {
        let (Some(first), Some(last)) = (stored.first().map(|e| e.seq), stored.last().map(|e| e.seq)) else { return };
        for ev in stored {
            self.hub.publish(Arc::new(ev));
        }
        if self.notify {
            let payload = format!("{}:{first}:{last}", self.run_id);
            let stmt = Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "SELECT pg_notify($1, $2)",
                [EVENTS_CHANNEL.into(), payload.into()],
            );
            if let Err(e) = self.db.execute_raw(stmt).await {
                tracing::warn!(run_id = %self.run_id, error = %e, "could not notify other instances");
            }
        }
    }
}
