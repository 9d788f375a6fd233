//! Reading and writing a run's numbered events in `agent_run_events`.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::{events::EventBody, hub::StoredEvent};
use crate::{
    entity::{agent_run_event, new_id, now},
    error::{AppError, AppResult},
};

/// Stores events (already numbered) in one statement; returns them as stored.
pub async fn append<C: ConnectionTrait>(
    db: &C,
    run_id: Uuid,
    events: &[(i64, EventBody)],
) -> AppResult<Vec<StoredEvent>> {
    if events.is_empty() {
        return Ok(vec![]);
    }
    let at = now();
    let mut rows = Vec::with_capacity(events.len());
    let mut stored = Vec::with_capacity(events.len());
    for (seq, body) in events {
        rows.push(agent_run_event::ActiveModel {
            id: Set(new_id()),
            run_id: Set(run_id),
            seq: Set(*seq),
            kind: Set(body.kind().to_string()),
            payload: Set(serde_json::to_value(body)?),
            created_at: Set(at),
            updated_at: Set(at),
        });
        stored.push(StoredEvent { run_id, seq: *seq, at, body: body.clone() });
    }
    agent_run_event::Entity::insert_many(rows).exec(db).await?;
    crate::metrics::events_stored(stored.len());
    Ok(stored)
}

/// Up to `limit` events of the run with `seq > after`, in order.
pub async fn after(db: &DatabaseConnection, run_id: Uuid, after: i64, limit: u64) -> AppResult<Vec<StoredEvent>> {
    between(db, run_id, after, i64::MAX, limit).await
}

/// Up to `limit` events of the run with `seq > after` whose kind is one of `kinds`, in
/// order (the history of a run without its token deltas, say).
pub async fn after_of_kinds(
    db: &DatabaseConnection,
    run_id: Uuid,
    after: i64,
    kinds: &[String],
    limit: u64,
) -> AppResult<Vec<StoredEvent>> {
    let rows = agent_run_event::Entity::find()
        .filter(agent_run_event::Column::RunId.eq(run_id))
        .filter(agent_run_event::Column::Seq.gt(after))
        .filter(agent_run_event::Column::Kind.is_in(kinds.iter().cloned()))
        .order_by_asc(agent_run_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?;
    rows.into_iter().map(decode).collect()
}

/// Events with `after < seq <= upto`, in order, at most `limit`.
pub async fn between(
    db: &DatabaseConnection,
    run_id: Uuid,
    after: i64,
    upto: i64,
    limit: u64,
) -> AppResult<Vec<StoredEvent>> {
    let rows = agent_run_event::Entity::find()
        .filter(agent_run_event::Column::RunId.eq(run_id))
        .filter(agent_run_event::Column::Seq.gt(after))
        .filter(agent_run_event::Column::Seq.lte(upto))
        .order_by_asc(agent_run_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?;
    rows.into_iter().map(decode).collect()
}

/// The highest seq stored for the run (0 when none).
pub async fn last_seq<C: ConnectionTrait>(db: &C, run_id: Uuid) -> AppResult<i64> {
    let row = agent_run_event::Entity::find()
        .filter(agent_run_event::Column::RunId.eq(run_id))
        .order_by_desc(agent_run_event::Column::Seq)
        .one(db)
        .await?;
    Ok(row.map(|r| r.seq).unwrap_or(0))
}

fn decode(row: agent_run_event::Model) -> AppResult<StoredEvent> {
    let body = serde_json::from_value(row.payload.clone()).map_err(|e| {
        AppError::Internal(anyhow::anyhow!("stored event {} of run {} unreadable: {e}", row.seq, row.run_id))
    })?;
    Ok(StoredEvent { run_id: row.run_id, seq: row.seq, at: row.created_at, body })
}
