//! The events of an interactive or ASK run — follow-up messages, permission requests and
//! their answers, turn ends — as members of `ClaudeEvent`.

use async_graphql::{Json, SimpleObject};
use serde_json::Value;

use super::{
    event::{ClaudeEvent, EventMeta},
    stream_event::Member,
};
use crate::run::events::EventBody;

/// A user message entered the conversation (sent with `sendMessage`).
#[derive(SimpleObject)]
pub struct UserMessage {
    #[graphql(flatten)]
    meta: EventMeta,
    /// The message.
    text: String,
}

/// Claude asks permission for a tool call; answer with `answerPermission`.
#[derive(SimpleObject)]
pub struct PermissionRequested {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Id to answer with.
    request_id: String,
    /// The tool.
    tool_name: String,
    /// The tool call's id (pairs with ToolUse and ToolResult).
    tool_use_id: String,
    /// The tool input.
    input: Json<Value>,
}

/// A permission request was decided.
#[derive(SimpleObject)]
pub struct PermissionAnswered {
    #[graphql(flatten)]
    meta: EventMeta,
    /// The request.
    request_id: String,
    /// Whether the tool may run.
    allow: bool,
    /// `USER`, `TIMEOUT` (nobody answered in time) or `WITHDRAWN` (Claude withdrew it).
    decided_by: String,
    /// The denial message Claude received.
    message: Option<String>,
}

/// One turn of Claude ended; an interactive run now waits for the next message.
#[derive(SimpleObject)]
pub struct TurnFinished {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Whether the turn ended in error (an interrupted turn does).
    is_error: bool,
    /// Claude's answer.
    result: Option<String>,
    /// Claude's result subtype.
    subtype: Option<String>,
    /// Whether `interruptRun` stopped it.
    interrupted: bool,
}

/// The union member of an interaction event; other events are handed back.
pub(super) fn member(meta: EventMeta, body: EventBody) -> Member {
    Member::Stream(match body {
        EventBody::UserMessage { text } => ClaudeEvent::UserMessage(UserMessage { meta, text }),
        EventBody::PermissionRequested { request_id, tool_name, tool_use_id, input } => {
            ClaudeEvent::PermissionRequested(PermissionRequested {
                meta,
                request_id,
                tool_name,
                tool_use_id,
                input: Json(input),
            })
        }
        EventBody::PermissionAnswered { request_id, allow, decided_by, message } => {
            ClaudeEvent::PermissionAnswered(PermissionAnswered { meta, request_id, allow, decided_by, message })
        }
        EventBody::TurnFinished { is_error, result, subtype, interrupted } => {
            ClaudeEvent::TurnFinished(TurnFinished { meta, is_error, result, subtype, interrupted })
        }
        other => return Member::Other(meta, other),
    })
}

super::run_event::run_event_meta!(UserMessage, PermissionRequested, PermissionAnswered, TurnFinished);
