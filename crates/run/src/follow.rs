//! Following a run: replay stored events after a seq, then tail live ones, with no gap
//! and no duplicate, ending after RunFinished.
//!
//! Subscribing to the hub happens before reading the database, and events are stored
//! before they are published, so every event is either in the replay or in the live
//! channel. Live events at or below the last delivered seq are skipped; a jump in seq, a
//! lagged channel or a quiet spell is filled from the database.

use std::{sync::Arc, time::Duration};

use futures::Stream;
use sea_orm::{DatabaseConnection, EntityTrait};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::{
    hub::{RunHub, StoredEvent},
    store,
};
use crate::{
    entity::{agent_run, enums::RunStatus},
    error::AppResult,
};

/// With no live event for this long, the database is checked (covers a lost notification
/// from another instance).
const QUIET_POLL: Duration = Duration::from_secs(2);

/// The events of `run_id` after `after_seq`, live until the run finishes.
pub fn follow(
    db: DatabaseConnection,
    hub: Arc<RunHub>,
    run_id: Uuid,
    after_seq: i64,
    page_size: u64,
) -> impl Stream<Item = AppResult<StoredEvent>> {
    async_stream::try_stream! {
        let mut sub = hub.subscribe(run_id);
        let mut last = after_seq;
        // First everything stored, then whatever a jump, a lag or a quiet spell calls for.
        let mut upto = i64::MAX;
        loop {
            let mut got_any = false;
            loop {
                let page = store::between(&db, run_id, last, upto, page_size).await?;
                let n = page.len() as u64;
                for ev in page {
                    got_any = true;
                    last = ev.seq;
                    let done = ev.is_final();
                    yield ev;
                    if done {
                        return;
                    }
                }
                if n < page_size {
                    break;
                }
            }
            if !got_any && upto == i64::MAX && run_has_ended(&db, run_id).await? {
                return;
            }
            // Tail live events until the database is needed again.
            upto = loop {
                match tokio::time::timeout(QUIET_POLL, sub.rx.recv()).await {
                    Ok(Ok(ev)) if ev.seq <= last => continue,
                    Ok(Ok(ev)) if ev.seq == last + 1 => {
                        last = ev.seq;
                        let done = ev.is_final();
                        yield (*ev).clone();
                        if done {
                            return;
                        }
                    }
                    // A jump: fetch what lies between, this one included (it is stored too).
                    Ok(Ok(ev)) => break ev.seq,
                    Ok(Err(RecvError::Lagged(_))) | Ok(Err(RecvError::Closed)) | Err(_) => break i64::MAX,
                }
            };
        }
    }
}

/// A finished run whose RunFinished never made it to the database (e.g. the database was
/// down when it ended) must not keep its followers waiting forever.
async fn run_has_ended(db: &DatabaseConnection, run_id: Uuid) -> AppResult<bool> {
    let row = agent_run::Entity::find_by_id(run_id).one(db).await?;
    Ok(row.is_none_or(|r| r.status != RunStatus::Running))
}
