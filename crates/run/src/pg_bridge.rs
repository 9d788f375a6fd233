//! Cross-instance delivery on Postgres: LISTEN for event batches stored by other
//! instances and for cancel requests, and feed them into this instance.
//!
//! Notices ([`notify`](super::notify)) carry only ids; the events themselves are read from
//! the database, and only for runs someone on this instance is watching.

use std::{sync::Arc, time::Duration};

use sea_orm::{DatabaseConnection, sqlx::postgres::PgListener};

use super::{
    hub::RunHub,
    manager::RunManager,
    notify::{self, Notice},
    store,
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
    listener.listen_all(notify::CHANNELS).await?;
    loop {
        let n = listener.recv().await?;
        match Notice::parse(n.channel(), n.payload()) {
            Some(Notice::Cancel(run)) => {
                manager.cancel_or_remember(run);
            }
            Some(Notice::Input(run)) => {
                manager.wake_local(run);
            }
            // Runs executing here are published directly by their writer.
            Some(Notice::Events { run, first, last }) if hub.is_watched(run) && !manager.is_local(run) => {
                match store::between(db, run, first - 1, last, (last - first + 1).max(1) as u64).await {
                    Ok(events) => events.into_iter().for_each(|ev| hub.publish(Arc::new(ev))),
                    Err(e) => tracing::warn!(run_id = %run, error = ?e, "could not read notified events"),
                }
            }
            _ => {}
        }
    }
}
