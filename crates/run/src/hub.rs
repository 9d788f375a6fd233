//! In-process fan-out of live run events: one broadcast channel per watched run.
//!
//! Only runs somebody watches have a channel; the last subscriber to leave removes it.
//! A subscriber that falls behind gets `Lagged` and refills the gap from the database,
//! so the channel can stay small.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::events::EventBody;

/// A stored event: what subscribers receive.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The run.
    pub run_id: Uuid,
    /// Position in the run, from 1.
    pub seq: i64,
    /// When it was stored.
    pub at: DateTime<Utc>,
    /// What happened.
    pub body: EventBody,
}

impl StoredEvent {
    /// Whether this is the closing event of its run.
    pub fn is_final(&self) -> bool {
        matches!(self.body, EventBody::RunFinished { .. })
    }
}

/// Live channels of the runs being watched on this instance.
pub struct RunHub {
    channels: Mutex<HashMap<Uuid, broadcast::Sender<Arc<StoredEvent>>>>,
    capacity: usize,
}

/// A subscription to one run; dropping it releases the channel when it was the last.
pub struct HubSubscription {
    /// Live events.
    pub rx: broadcast::Receiver<Arc<StoredEvent>>,
    hub: Arc<RunHub>,
    run_id: Uuid,
}

impl RunHub {
    /// A hub buffering up to `capacity` events per watched run for slow subscribers
    /// before they must re-read the database.
    pub fn new(capacity: usize) -> Self {
        Self { channels: Mutex::default(), capacity: capacity.max(1) }
    }

    /// Starts receiving the run's events published from now on.
    pub fn subscribe(self: &Arc<Self>, run_id: Uuid) -> HubSubscription {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let rx = map.entry(run_id).or_insert_with(|| broadcast::channel(self.capacity).0).subscribe();
        HubSubscription { rx, hub: self.clone(), run_id }
    }

    /// Delivers an event to the run's current subscribers, if any.
    pub fn publish(&self, event: Arc<StoredEvent>) {
        let map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(&event.run_id) {
            let _ = tx.send(event);
        }
    }

    /// Whether anyone on this instance watches the run.
    pub fn is_watched(&self, run_id: Uuid) -> bool {
        self.channels.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&run_id)
    }

    /// Number of runs being watched (for tests and metrics).
    pub fn watched_runs(&self) -> usize {
        self.channels.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for HubSubscription {
    fn drop(&mut self) {
        let mut map = self.hub.channels.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(&self.run_id).is_some_and(|tx| tx.receiver_count() <= 1) {
            map.remove(&self.run_id);
        }
    }
}
