//! `permission_requests`: each tool call Claude asked permission for in an ASK run, and
//! its answer — who allowed or denied it and when — which is also the audit of answers.
//! The first answer wins (a conditional update from PENDING), whether a user's or the
//! runner's timeout.

use sea_orm::entity::prelude::*;

use super::enums::PermissionStatus;

/// A permission request.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "permission_requests")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The run asking.
    pub run_id: Uuid,
    /// The run's account: only it may answer.
    pub account_id: Uuid,
    /// Claude's id for the request (unique per run).
    pub request_id: String,
    /// The tool Claude wants to call.
    pub tool_name: String,
    /// The tool call's id (pairs with ToolUse / ToolResult).
    pub tool_use_id: String,
    /// The tool input as JSON text.
    pub input: String,
    /// Where it stands.
    pub status: PermissionStatus,
    /// The account that answered (None: timeout or withdrawn).
    pub answered_by: Option<Uuid>,
    /// The denial message given to Claude.
    pub message: Option<String>,
    /// Input the user replaced the tool's with, as JSON text.
    pub updated_input: Option<String>,
    /// When answered.
    pub answered_at: Option<DateTimeUtc>,
    /// When asked.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
