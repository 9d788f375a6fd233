//! `agent_runs`: one Claude invocation in a sandbox and its outcome.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use super::enums::{RunPermissionMode, RunStatus};

/// A run row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "agent_runs")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Where it runs.
    pub sandbox_id: Uuid,
    /// Owner, denormalised so scoping needs no join.
    pub account_id: Uuid,
    /// What the user asked.
    pub prompt: String,
    /// Lifecycle state.
    pub status: RunStatus,
    /// Claude's session id, from its init event.
    pub claude_session_id: Option<String>,
    /// Cost reported by Claude's result event.
    pub cost_usd: Option<f64>,
    /// Duration reported by Claude's result event.
    pub duration_ms: Option<i64>,
    /// Turns reported by Claude's result event.
    pub num_turns: Option<i64>,
    /// Why it failed, safe to show the owner.
    pub error: Option<String>,
    /// Model requested, if any.
    pub model: Option<String>,
    /// Turn limit requested, if any.
    pub max_turns: Option<i64>,
    /// Instance executing the run.
    pub runner_id: Option<String>,
    /// Until when the runner's lease holds; the runner renews it while the run lives, and
    /// any instance finishes a RUNNING run whose lease has expired (its runner is gone).
    pub lease_until: Option<DateTimeUtc>,
    /// SHA-256 of the run's gateway token (the key Claude uses); the token itself exists
    /// only in the run's process environment.
    #[serde(skip)]
    pub gateway_token_sha256: Option<String>,
    /// Set by the gateway when it refused the run's request (a budget reached): the run
    /// ends FAILED with this reason whatever Claude reports.
    pub stop_reason: Option<String>,
    /// Whether tool calls run without asking or wait for `answerPermission`.
    pub permission_mode: RunPermissionMode,
    /// Whether the run stays open for follow-up messages after Claude's turn ends.
    pub interactive: bool,
    /// When its token deltas were removed by retention (its typed events stay).
    pub events_compacted_at: Option<DateTimeUtc>,
    /// When started.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
