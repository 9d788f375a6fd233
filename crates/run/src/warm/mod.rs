//! Warm Claude processes: one started ahead of a sandbox's next run, in stream-json input
//! mode with `--resume` of the sandbox's session and the flags a default run uses,
//! waiting for its first message; the next run whose command line and environment are
//! the same takes it over (`claim`), so its first words come without the CLI's start-up.
//! Everything after the prompt is a run like any other: the same supervisor, events,
//! ledger, leases and permission flow.
//!
//! A warm process holds a gateway token for the run id it will serve, honoured only once
//! that run's row exists and is RUNNING: a request it makes before its prompt is refused.
//! A run that ended well leaves its own Claude waiting instead (`reuse`): that process
//! has done its start-up and a turn already, so the next run's first words come fastest;
//! its token names the run it was issued for, and the gateway honours it for whichever
//! run of the sandbox is RUNNING with that token's hash, never between runs.
//! Its place is reserved in `warm_claudes` first (per-account and total bounds over all
//! instances, one per sandbox), and it ends by itself after `warmIdleSecs` without a
//! prompt (a wrapper stops waiting), so none outlives a crashed instance for long.

mod keeper;
mod reuse;
mod start;

pub use reuse::Parked;

use std::{collections::HashMap, sync::Mutex};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    backend::exec::{ExecHandle, ExecOutput},
    config::Secret,
    entity::warm_claude,
};

/// What makes a warm process fit a run: the backend sandbox it runs in (a sandbox woken
/// since has another) and the `claude` command line and environment the run would start
/// with in stream-json input mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The backend sandbox.
    pub external_id: Option<String>,
    /// The `claude` argv (no wrapper).
    pub argv: Vec<String>,
    /// The environment beside the token.
    pub env: Vec<(String, String)>,
}

/// A warm process handed to a run.
pub struct Claimed {
    /// Its place in `warm_claudes`, given up in the run's insert.
    pub place: Uuid,
    /// The id the run must be recorded under (its token names it), for a process
    /// started warm; None for one an earlier run left (its token names that run).
    pub run_id: Option<Uuid>,
    /// Its gateway token: the run's row must store this token's hash.
    pub token: Secret,
    /// Its output from the first line, and its cancel.
    pub handle: ExecHandle,
    /// Its stdin: the run's conversation writes the prompt here.
    pub stdin: mpsc::Sender<Vec<u8>>,
    /// The cost Claude had reported in this process before (its result lines sum up
    /// the whole process), to subtract from what the run reports.
    pub cost_before: Option<f64>,
}

/// One waiting process.
struct Entry {
    place: Uuid,
    run_id: Option<Uuid>,
    token: Secret,
    key: Key,
    stdin: mpsc::Sender<Vec<u8>>,
    cancel: CancellationToken,
    claim: oneshot::Sender<mpsc::Sender<ExecOutput>>,
    cost_before: Option<f64>,
}

/// The warm processes this instance started, by sandbox.
#[derive(Default)]
pub struct Pool {
    entries: Mutex<HashMap<Uuid, Entry>>,
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many wait here now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none waits here.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether sandbox `id` has one waiting here.
    pub fn has(&self, sandbox_id: Uuid) -> bool {
        self.lock().contains_key(&sandbox_id)
    }

    /// Whether the process waiting for sandbox `id` here is one an earlier run left.
    pub fn kept_from_a_run(&self, sandbox_id: Uuid) -> bool {
        self.lock().get(&sandbox_id).is_some_and(|e| e.run_id.is_none())
    }

    /// The sandbox's warm process for a run that would start with `key`; one that does
    /// not fit is stopped (it would hold the sandbox's memory for nothing).
    pub fn claim(&self, db: &DatabaseConnection, sandbox_id: Uuid, key: &Key) -> Option<Claimed> {
        let entry = self.lock().remove(&sandbox_id)?;
        if entry.key != *key {
            entry.cancel.cancel();
            forget_place(db, entry.place);
            return None;
        }
        let (tx, rx) = mpsc::channel(keeper::HANDOVER_QUEUE);
        if entry.claim.send(tx).is_err() {
            // It ended a moment ago.
            return None;
        }
        let handle = ExecHandle { output: rx, cancel: entry.cancel };
        Some(Claimed {
            place: entry.place,
            run_id: entry.run_id,
            token: entry.token,
            handle,
            stdin: entry.stdin,
            cost_before: entry.cost_before,
        })
    }

    /// Stops the sandbox's warm process, if one waits here (a delete, a cold run).
    pub fn discard(&self, db: &DatabaseConnection, sandbox_id: Uuid) {
        if let Some(entry) = self.lock().remove(&sandbox_id) {
            entry.cancel.cancel();
            forget_place(db, entry.place);
        }
    }

    /// Stops every warm process here (shutdown).
    pub fn discard_all(&self, db: &DatabaseConnection) {
        let all: Vec<Entry> = self.lock().drain().map(|(_, e)| e).collect();
        for entry in all {
            entry.cancel.cancel();
            forget_place(db, entry.place);
        }
    }

    /// Forgets the entry holding place `place` (its process ended), if it is still the one.
    fn forget(&self, sandbox_id: Uuid, place: Uuid) {
        let mut entries = self.lock();
        if entries.get(&sandbox_id).is_some_and(|e| e.place == place) {
            entries.remove(&sandbox_id);
        }
    }
}

/// Gives up a warm process's place, in the background (best effort: a place left behind
/// counts for nothing once its term ends).
fn forget_place(db: &DatabaseConnection, place: Uuid) {
    let db = db.clone();
    tokio::spawn(async move { give_up_place(&db, place).await });
}

/// Gives up a warm process's place now.
async fn give_up_place(db: &DatabaseConnection, place: Uuid) {
    let gone = warm_claude::Entity::delete_many().filter(warm_claude::Column::Id.eq(place)).exec(db).await;
    if let Err(e) = gone {
        tracing::warn!(%place, error = %e, "could not give up a warm process's place");
    }
}
