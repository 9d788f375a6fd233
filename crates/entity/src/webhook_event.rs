//! `webhook_events`: the outbox. An event is written by [`record`] in the same
//! transaction as the change it tells of, so it exists exactly when the change does; the
//! deliverer fans it out to the endpoints that hear it (`fanned_out`), once. The event
//! types are stable names (README); payloads carry ids and figures, never secrets or
//! file content.

use sea_orm::{ActiveValue::Set, ConnectionTrait, entity::prelude::*};
use serde_json::json;

use crate::{agent_run, sandbox, snapshot};

/// One event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    /// Its id (time-ordered: events of one sandbox are delivered in this order).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose.
    pub account_id: Uuid,
    /// The sandbox it is about, if any (deliveries are ordered per sandbox).
    pub sandbox_id: Option<Uuid>,
    /// Its type (`run.finished`…).
    pub event_type: String,
    /// `{type, timestamp, data}`, as delivered.
    pub payload: Json,
    /// Whether its deliveries are made.
    pub fanned_out: bool,
    /// When it happened.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Writes an event of `event_type` with `data` on `db` (pass the transaction of the
/// change it tells of).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    sandbox_id: Option<Uuid>,
    event_type: &str,
    data: serde_json::Value,
) -> Result<(), DbErr> {
    insert(db, account_id, sandbox_id, event_type, data, false).await.map(|_| ())
}

/// Writes an event whose one delivery the caller makes itself (`testWebhook`'s).
pub async fn record_fanned<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    event_type: &str,
    data: serde_json::Value,
) -> Result<Model, DbErr> {
    insert(db, account_id, None, event_type, data, true).await
}

async fn insert<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    sandbox_id: Option<Uuid>,
    event_type: &str,
    data: serde_json::Value,
    fanned_out: bool,
) -> Result<Model, DbErr> {
    let t = super::now();
    let payload = json!({"type": event_type, "timestamp": t.to_rfc3339(), "data": data});
    ActiveModel {
        id: Set(super::new_id()),
        account_id: Set(account_id),
        sandbox_id: Set(sandbox_id),
        event_type: Set(event_type.to_string()),
        payload: Set(payload),
        fanned_out: Set(fanned_out),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await
}

/// A sandbox was made and is RUNNING.
pub const SANDBOX_CREATED: &str = "sandbox.created";
/// A sandbox was deleted.
pub const SANDBOX_DELETED: &str = "sandbox.deleted";
/// A sandbox went RUNNING, SLEEPING or ERROR.
pub const SANDBOX_STATUS_CHANGED: &str = "sandbox.status_changed";
/// A run started.
pub const RUN_STARTED: &str = "run.started";
/// A run ended (with its status, cost, turns and error reason).
pub const RUN_FINISHED: &str = "run.finished";
/// One turn of an interactive run ended (it waits for the next message).
pub const RUN_TURN_FINISHED: &str = "run.turn_finished";
/// A run in ASK mode waits for a tool's approval.
pub const RUN_PERMISSION_REQUESTED: &str = "run.permission_requested";
/// A process started with `startProcess` exited (with its code).
pub const PROCESS_EXITED: &str = "process.exited";
/// A port of a sandbox was exposed, or its visibility changed (`exposePort`).
pub const PREVIEW_EXPOSED: &str = "preview.exposed";
/// `gitPush` landed a branch on its remote.
pub const GIT_PUSHED: &str = "git.pushed";
/// A snapshot of a sandbox completed.
pub const SYNC_COMPLETED: &str = "sync.completed";
/// A verification found a snapshot's stored content damaged or missing.
pub const SNAPSHOT_CORRUPT: &str = "snapshot.corrupt";
/// An account's spend cap stopped a run's model calls.
pub const BUDGET_EXCEEDED: &str = "budget.exceeded";
/// An endpoint's deliveries ran out of retries: it is disabled (sent to the account's
/// other endpoints).
pub const WEBHOOK_DISABLED: &str = "webhook.disabled";
/// `testWebhook`'s event, to that endpoint only.
pub const WEBHOOK_TEST: &str = "webhook.test";

/// Every type an endpoint may ask for.
pub const ALL: &[&str] = &[
    SANDBOX_CREATED,
    SANDBOX_DELETED,
    SANDBOX_STATUS_CHANGED,
    RUN_STARTED,
    RUN_FINISHED,
    RUN_TURN_FINISHED,
    RUN_PERMISSION_REQUESTED,
    SYNC_COMPLETED,
    SNAPSHOT_CORRUPT,
    PROCESS_EXITED,
    PREVIEW_EXPOSED,
    GIT_PUSHED,
    BUDGET_EXCEEDED,
    WEBHOOK_DISABLED,
];

fn sandbox_data(sb: &sandbox::Model) -> serde_json::Value {
    json!({"sandboxId": sb.id, "name": sb.name, "status": sb.status.to_value(), "template": sb.template})
}

/// Records `event_type` about `sb` (created, deleted, status changed).
pub async fn of_sandbox<C: ConnectionTrait>(
    db: &C,
    event_type: &str,
    sb: &sandbox::Model,
) -> Result<(), sea_orm::DbErr> {
    record(db, sb.account_id, Some(sb.id), event_type, sandbox_data(sb)).await
}

/// Records `event_type` about `run` (started, finished), with the reason it failed.
pub async fn of_run<C: ConnectionTrait>(
    db: &C,
    event_type: &str,
    run: &agent_run::Model,
    error: Option<&str>,
) -> Result<(), sea_orm::DbErr> {
    let mut data = run_data(run);
    data["error"] = json!(error);
    record(db, run.account_id, Some(run.sandbox_id), event_type, data).await
}

/// Records `sandbox.status_changed` of a sandbox that went to `status` (RUNNING,
/// SLEEPING, ERROR) for `reason`.
pub async fn status_changed<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    sandbox_id: Uuid,
    status: crate::enums::SandboxStatus,
    reason: Option<&str>,
) -> Result<(), sea_orm::DbErr> {
    let data = json!({"sandboxId": sandbox_id, "status": status.to_value(), "reason": reason});
    record(db, account_id, Some(sandbox_id), SANDBOX_STATUS_CHANGED, data).await
}

/// Records `run.permission_requested`: which tool waits (never its input, which may hold
/// file content).
pub async fn permission_requested<C: ConnectionTrait>(
    db: &C,
    run: &agent_run::Model,
    request_id: &str,
    tool_name: &str,
    tool_use_id: &str,
) -> Result<(), sea_orm::DbErr> {
    let data = json!({"runId": run.id, "sandboxId": run.sandbox_id, "requestId": request_id,
                      "toolName": tool_name, "toolUseId": tool_use_id});
    record(db, run.account_id, Some(run.sandbox_id), RUN_PERMISSION_REQUESTED, data).await
}

/// Records `sync.completed` of a snapshot just taken.
pub async fn sync_completed<C: ConnectionTrait>(
    db: &C,
    snap: &snapshot::Model,
    bytes_transferred: u64,
    duration_ms: u64,
) -> Result<(), sea_orm::DbErr> {
    let data = json!({"sandboxId": snap.sandbox_id, "snapshotId": snap.id, "files": snap.file_count,
                      "bytes": snap.total_bytes, "bytesTransferred": bytes_transferred, "durationMs": duration_ms});
    record(db, snap.account_id, Some(snap.sandbox_id), SYNC_COMPLETED, data).await
}

/// What a run event says of its run.
pub fn run_data(run: &agent_run::Model) -> serde_json::Value {
    json!({
        "runId": run.id,
        "sandboxId": run.sandbox_id,
        "status": run.status.to_value(),
        "costUsd": run.cost_usd,
        "numTurns": run.num_turns,
        "durationMs": run.duration_ms,
        "stopReason": run.stop_reason,
        "model": run.model,
    })
}
