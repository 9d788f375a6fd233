//! `PermissionRequest`: a tool call Claude asked permission for in an ASK run, with its
//! answer once given — what the approve/deny cards of a client show.

use async_graphql::{ID, Json, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::enums::PermissionStatus;
use crate::entity::permission_request;

/// A tool call waiting for (or given) a user's permission.
#[derive(SimpleObject)]
pub struct PermissionRequest {
    /// Id to answer with (`answerPermission(requestId:)`).
    request_id: String,
    /// The run asking.
    run_id: ID,
    /// The tool.
    tool_name: String,
    /// The tool call's id (pairs with ToolUse and ToolResult).
    tool_use_id: String,
    /// The tool input Claude wants to run.
    input: Json<Value>,
    /// Where it stands.
    status: PermissionStatus,
    /// When asked.
    created_at: DateTime<Utc>,
    /// When answered.
    answered_at: Option<DateTime<Utc>>,
}

impl From<permission_request::Model> for PermissionRequest {
    fn from(m: permission_request::Model) -> Self {
        Self {
            request_id: m.request_id,
            run_id: ID(m.run_id.to_string()),
            tool_name: m.tool_name,
            tool_use_id: m.tool_use_id,
            input: Json(serde_json::from_str(&m.input).unwrap_or(Value::Null)),
            status: m.status.into(),
            created_at: m.created_at,
            answered_at: m.answered_at,
        }
    }
}
