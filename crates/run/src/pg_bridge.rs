//! Cross-instance delivery on Postgres: LISTEN for event batches stored by other
//! instances and for cancel requests, and feed them into this instance.
//!
//! Notifications carry only ids (`run:first:last`); the events themselves are read from
//! the database, and only for runs someone on this instance is watching.

use std::{sync::Arc, time::Duration};

use sea_orm::{DatabaseConnection, sqlx::postgres::PgListener};
use uuid::Uuid;

use super::{
    hub::RunHub,
    inputs::INPUT_CHANNEL,
    manager::{CANCEL_CHANNEL, RunManager},
    store,
    writer::EVENTS_CHANNEL,
};

/// Starts the listener task; it reconnects by itself and runs until the process ends.
pub fn spawn(db: DatabaseConnection, hub: Arc<RunHub>, manager: Arc<RunManager>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&db, &hub, &manager).await {
                tracing::warn!(error = %e, "postgres listener failed; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn listen(db: &DatabaseConnection, hub: &RunHub, manager: &RunManager) -> anyhow::Result<()> {
    let pool = db.get_postgres_connection_pool();
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([EVENTS_CHANNEL, CANCEL_CHANNEL, INPUT_CHANNEL]).await?;
    loop {
        let n = listener.recv().await?;
        if n.channel() == CANCEL_CHANNEL {
            if let Ok(run) = Uuid::parse_str(n.payload()) {
                manager.cancel_or_remember(run);
            }
            continue;
        }
        if n.channel() == INPUT_CHANNEL {
            if let Ok(run) = Uuid::parse_str(n.payload()) {
                manager.wake_local(run);
            }
            continue;
        }
        let Some((run, first, last)) = parse(n.payload()) else { continue };
        // Runs executing here are published directly by their writer.
        if !hub.is_watched(run) || manager.is_local(run) {
            continue;
        }
        match store::between(db, run, first - 1, last, (last - first + 1).max(1) as u64).await {
            Ok(events) => events.into_iter().for_each(|ev| hub.publish(Arc::new(ev))),
            Err(e) => tracing::warn!(run_id = %run, error = ?e, "could not read notified events"),
        }
    }
}

fn parse(payload: &str) -> Option<(Uuid, i64, i64)> {
    let mut it = payload.split(':');
    let run = Uuid::parse_str(it.next()?).ok()?;
    let first = it.next()?.parse().ok()?;
    let last = it.next()?.parse().ok()?;
    Some((run, first, last))
}
