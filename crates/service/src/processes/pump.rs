//! A running process's task on the instance that started it: stores its output in
//! chunks (at most `FLUSH_BYTES` each, at least every `FLUSH_EVERY`), keeps only the
//! newest `limits.processLogBytes`, renews its lease, and records its exit.

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr};
use tokio::sync::watch;
use uuid::Uuid;

use super::Processes;
use crate::{
    backend::process::ProcessHandle,
    entity::{
        enums::ProcessStatus,
        lease::{self, Term},
        new_id, now, process_output, sandbox_process,
    },
    error::AppResult,
};

/// Largest stored chunk: output is split at this size (a replay reads chunks whole).
pub(super) const FLUSH_BYTES: usize = 64 * 1024;
/// Output waits at most this long before it is stored (and visible to replays).
const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Owns the process until it ends.
pub(super) async fn run(svc: Processes, id: Uuid, mut h: ProcessHandle, end: watch::Sender<i64>) {
    let term = Term::of(&svc.limits);
    let mut renew = tokio::time::interval(term.every);
    renew.tick().await;
    let mut pending: Vec<u8> = Vec::new();
    let mut offset = 0i64;
    let mut flush_at: Option<tokio::time::Instant> = None;
    loop {
        let deadline = flush_at.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            chunk = h.output.recv() => match chunk {
                Some(bytes) => {
                    pending.extend_from_slice(&bytes);
                    flush_at.get_or_insert_with(|| tokio::time::Instant::now() + FLUSH_EVERY);
                    if pending.len() >= FLUSH_BYTES {
                        offset = store(&svc, id, offset, &mut pending, &end).await;
                        flush_at = None;
                    }
                }
                None => break,
            },
            _ = tokio::time::sleep_until(deadline), if flush_at.is_some() => {
                offset = store(&svc, id, offset, &mut pending, &end).await;
                flush_at = None;
            }
            _ = renew.tick() => {
                let until = term.until();
                let when = sandbox_process::Column::Status.eq(ProcessStatus::Running);
                if let Err(e) = lease::renew::<sandbox_process::Entity>(&svc.db, id, &svc.instance_id, until, when).await {
                    tracing::warn!(process = %id, error = %e, "renewing a process's lease failed");
                }
            }
        }
    }
    store(&svc, id, offset, &mut pending, &end).await;
    let code = h.exit.await.ok().and_then(|e| e.code);
    if let Err(e) = finish(&svc, id, code).await {
        tracing::warn!(process = %id, error = ?e.log_detail(), "recording a process's exit failed");
    }
    svc.forget(id);
    end.send_modify(|_| {});
}

/// Stores `pending` from `offset` in chunks, cuts what is past the log limit, and wakes
/// the replays here; returns the new end. A failed write drops that output (logged):
/// the process must not stall on its database.
async fn store(svc: &Processes, id: Uuid, mut offset: i64, pending: &mut Vec<u8>, end: &watch::Sender<i64>) -> i64 {
    if pending.is_empty() {
        return offset;
    }
    let before = offset;
    let result: AppResult<()> = async {
        for piece in pending.chunks(FLUSH_BYTES) {
            let at = now();
            let row = process_output::ActiveModel {
                id: Set(new_id()),
                process_id: Set(id),
                offset: Set(offset),
                data: Set(piece.to_vec()),
                created_at: Set(at),
                updated_at: Set(at),
            };
            process_output::Entity::insert(row).exec(&svc.db).await?;
            offset += piece.len() as i64;
        }
        let keep_from = offset - svc.limits.processes.process_log_bytes as i64;
        let mut start = None;
        if keep_from > 0 {
            // The oldest chunk that fits whole; everything before it goes.
            let first: Option<i64> = process_output::Entity::find()
                .select_only()
                .column(process_output::Column::Offset)
                .filter(process_output::Column::ProcessId.eq(id))
                .filter(process_output::Column::Offset.gte(keep_from))
                .order_by_asc(process_output::Column::Offset)
                .into_tuple()
                .one(&svc.db)
                .await?;
            let first = first.unwrap_or(offset);
            process_output::Entity::delete_many()
                .filter(process_output::Column::ProcessId.eq(id))
                .filter(process_output::Column::Offset.lt(first))
                .exec(&svc.db)
                .await?;
            start = Some(first);
        }
        let mut update = sandbox_process::Entity::update_many()
            .col_expr(sandbox_process::Column::LogEnd, Expr::value(offset))
            .col_expr(sandbox_process::Column::UpdatedAt, Expr::value(now()));
        if let Some(s) = start {
            update = update.col_expr(sandbox_process::Column::LogStart, Expr::value(s));
        }
        update.filter(sandbox_process::Column::Id.eq(id)).exec(&svc.db).await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(process = %id, error = ?e.log_detail(), "storing process output failed");
        offset = before + pending.len() as i64;
    }
    pending.clear();
    let _ = end.send(offset);
    offset
}

/// Marks the process EXITED (only while this instance holds it) with its
/// `process.exited` event, together.
async fn finish(svc: &Processes, id: Uuid, code: Option<i32>) -> AppResult<()> {
    let txn = crate::entity::db::write_txn(&svc.db).await?;
    let done = sandbox_process::Entity::update_many()
        .col_expr(sandbox_process::Column::Status, Expr::value(ProcessStatus::Exited))
        .col_expr(sandbox_process::Column::ExitCode, Expr::value(code.map(i64::from)))
        .col_expr(sandbox_process::Column::EndedAt, Expr::value(now()))
        .col_expr(sandbox_process::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(sandbox_process::Column::LeaseUntil, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
        .col_expr(sandbox_process::Column::UpdatedAt, Expr::value(now()))
        .filter(sandbox_process::Column::Id.eq(id))
        .filter(sandbox_process::Column::LeaseOwner.eq(svc.instance_id.as_str()))
        .exec(&txn)
        .await?;
    if done.rows_affected == 1
        && let Some(p) = sandbox_process::Entity::find_by_id(id).one(&txn).await?
    {
        // Its id and exit code only: a command line may hold what should not leave.
        let data = serde_json::json!({"processId": id, "sandboxId": p.sandbox_id, "exitCode": code});
        let ev = crate::entity::webhook_event::PROCESS_EXITED;
        crate::entity::webhook_event::record(&txn, p.account_id, Some(p.sandbox_id), ev, data).await?;
    }
    txn.commit().await?;
    Ok(())
}
