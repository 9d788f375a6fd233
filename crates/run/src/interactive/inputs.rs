//! The database queue between users and a running Claude: follow-up messages, interrupts
//! and ends wait in `run_inputs` until the run's executor takes them, in order; tool
//! permission requests wait in `permission_requests` until answered, the first answer
//! winning. Whichever instance takes a request, the executor finds it here (woken at once
//! when local, by a Postgres notification otherwise, and by its own poll in any case).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    entity::{
        agent_run,
        enums::{PermissionStatus, RunStatus},
        new_id, now, permission_request, run_input,
    },
    error::{AppError, AppResult},
};

/// What a queued input asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A user message for Claude's next turn.
    Message,
    /// Stop the current turn, keep the session.
    Interrupt,
    /// End the run once the current turn is over.
    End,
}

impl InputKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Message => "message",
            InputKind::Interrupt => "interrupt",
            InputKind::End => "end",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [InputKind::Message, InputKind::Interrupt, InputKind::End].into_iter().find(|k| k.as_str() == s)
    }
}

/// An input taken from the queue by the run's executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// What it asks.
    pub kind: InputKind,
    /// The message, for messages.
    pub text: Option<String>,
}

/// Queues an input for a RUNNING run, in one transaction that locks the run row: CONFLICT
/// when the run is not running, RATE_LIMITED when `max_pending` inputs already wait.
pub async fn enqueue(
    db: &DatabaseConnection,
    run_id: Uuid,
    account_id: Uuid,
    kind: InputKind,
    text: Option<String>,
    max_pending: u64,
) -> AppResult<()> {
    let t = now();
    let txn = crate::entity::db::write_txn(db).await?;
    let running = agent_run::Entity::update_many()
        .col_expr(agent_run::Column::UpdatedAt, Expr::value(t))
        .filter(agent_run::Column::Id.eq(run_id))
        .filter(agent_run::Column::Status.eq(RunStatus::Running))
        .exec(&txn)
        .await?;
    if running.rows_affected == 0 {
        return Err(AppError::conflict_because(crate::error::reasons::RUN_ENDED, "the run has ended"));
    }
    let queued = run_input::Entity::find()
        .filter(run_input::Column::RunId.eq(run_id))
        .filter(run_input::Column::DeliveredAt.is_null())
        .count(&txn)
        .await?;
    if queued >= max_pending {
        return Err(AppError::rate_limited(format!("{queued} inputs already wait for this run"), 1000));
    }
    let last: Option<i64> = run_input::Entity::find()
        .select_only()
        .column_as(run_input::Column::Seq.max(), "m")
        .filter(run_input::Column::RunId.eq(run_id))
        .into_tuple::<Option<i64>>()
        .one(&txn)
        .await?
        .flatten();
    let row = run_input::ActiveModel {
        id: Set(new_id()),
        run_id: Set(run_id),
        account_id: Set(account_id),
        seq: Set(last.unwrap_or(0) + 1),
        kind: Set(kind.as_str().to_string()),
        text: Set(text),
        delivered_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    };
    row.insert(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Takes the run's queued inputs in order, marking them delivered (only the run's
/// executor calls this, under its lease).
pub async fn take(db: &DatabaseConnection, run_id: Uuid) -> AppResult<Vec<Input>> {
    let rows = run_input::Entity::find()
        .filter(run_input::Column::RunId.eq(run_id))
        .filter(run_input::Column::DeliveredAt.is_null())
        .order_by_asc(run_input::Column::Seq)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    run_input::Entity::update_many()
        .col_expr(run_input::Column::DeliveredAt, Expr::value(now()))
        .filter(run_input::Column::Id.is_in(rows.iter().map(|r| r.id)))
        .exec(db)
        .await?;
    Ok(rows.into_iter().filter_map(|r| Some(Input { kind: InputKind::parse(&r.kind)?, text: r.text })).collect())
}

/// A permission request as Claude asked it.
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    /// Claude's request id.
    pub request_id: String,
    /// The tool.
    pub tool_name: String,
    /// The tool call's id.
    pub tool_use_id: String,
    /// The tool input.
    pub input: serde_json::Value,
}

/// Records a PENDING permission request of a run.
pub async fn record_request(db: &DatabaseConnection, run: &agent_run::Model, asked: &Asked) -> AppResult<()> {
    let t = now();
    let row = permission_request::ActiveModel {
        id: Set(new_id()),
        run_id: Set(run.id),
        account_id: Set(run.account_id),
        request_id: Set(asked.request_id.clone()),
        tool_name: Set(asked.tool_name.clone()),
        tool_use_id: Set(asked.tool_use_id.clone()),
        input: Set(asked.input.to_string()),
        status: Set(PermissionStatus::Pending),
        answered_by: Set(None),
        message: Set(None),
        updated_input: Set(None),
        answered_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    };
    let txn = crate::entity::db::write_txn(db).await?;
    row.insert(&txn).await?;
    let (req, tool, use_id) = (&asked.request_id, &asked.tool_name, &asked.tool_use_id);
    crate::entity::webhook_event::permission_requested(&txn, run, req, tool, use_id).await?;
    txn.commit().await?;
    Ok(())
}

/// An answer to a permission request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// ALLOWED, DENIED, TIMED_OUT or WITHDRAWN.
    pub status: PermissionStatus,
    /// Who answered (None: the server).
    pub by: Option<Uuid>,
    /// The denial message for Claude.
    pub message: Option<String>,
    /// Replacement tool input, for an allow.
    pub updated_input: Option<serde_json::Value>,
}

/// Answers a PENDING request if nobody has yet (a conditional update): true when this
/// answer is the one that counts.
pub async fn resolve<C: ConnectionTrait>(db: &C, run_id: Uuid, request_id: &str, answer: &Answer) -> AppResult<bool> {
    let t = now();
    let done = permission_request::Entity::update_many()
        .col_expr(permission_request::Column::Status, Expr::value(answer.status))
        .col_expr(permission_request::Column::AnsweredBy, Expr::value(answer.by))
        .col_expr(permission_request::Column::Message, Expr::value(answer.message.clone()))
        .col_expr(
            permission_request::Column::UpdatedInput,
            Expr::value(answer.updated_input.as_ref().map(|v| v.to_string())),
        )
        .col_expr(permission_request::Column::AnsweredAt, Expr::value(t))
        .col_expr(permission_request::Column::UpdatedAt, Expr::value(t))
        .filter(permission_request::Column::RunId.eq(run_id))
        .filter(permission_request::Column::RequestId.eq(request_id))
        .filter(permission_request::Column::Status.eq(PermissionStatus::Pending))
        .exec(db)
        .await?;
    Ok(done.rows_affected > 0)
}

/// The stored answer of a request, once it has one.
pub async fn answer_of(db: &DatabaseConnection, run_id: Uuid, request_id: &str) -> AppResult<Option<Answer>> {
    let row = permission_request::Entity::find()
        .filter(permission_request::Column::RunId.eq(run_id))
        .filter(permission_request::Column::RequestId.eq(request_id))
        .one(db)
        .await?;
    Ok(row.filter(|r| r.status != PermissionStatus::Pending).map(|r| Answer {
        status: r.status,
        by: r.answered_by,
        message: r.message,
        updated_input: r.updated_input.and_then(|s| serde_json::from_str(&s).ok()),
    }))
}

/// Closes every request of a run still PENDING (the run ended): WITHDRAWN.
pub async fn withdraw_all(db: &DatabaseConnection, run_id: Uuid) -> AppResult<()> {
    permission_request::Entity::update_many()
        .col_expr(permission_request::Column::Status, Expr::value(PermissionStatus::Withdrawn))
        .col_expr(permission_request::Column::AnsweredAt, Expr::value(now()))
        .filter(permission_request::Column::RunId.eq(run_id))
        .filter(permission_request::Column::Status.eq(PermissionStatus::Pending))
        .exec(db)
        .await?;
    Ok(())
}
