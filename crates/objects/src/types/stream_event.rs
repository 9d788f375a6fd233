//! The typed events of Claude Code's live stream (`--include-partial-messages` and its
//! `system` lines): members of `ClaudeEvent` next to the message-level ones in `event.rs`.

use async_graphql::{Json, SimpleObject};
use serde_json::Value;

use super::event::{ClaudeEvent, EventMeta};
use crate::run::events::EventBody;

/// An assistant message began.
#[derive(SimpleObject)]
pub struct MessageStarted {
    #[graphql(flatten)]
    meta: EventMeta,
    /// The API's message id.
    message_id: String,
    /// The answering model.
    model: Option<String>,
    /// Usage so far (input and cache tokens).
    usage: Option<Json<Value>>,
}

/// A content block began; for a tool call its id and name are known now, before its
/// input has streamed.
#[derive(SimpleObject)]
pub struct ContentBlockStarted {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Block index within the message.
    index: i64,
    /// `text`, `thinking`, `tool_use`…
    block_type: String,
    /// The tool call's id (tool_use blocks).
    tool_use_id: Option<String>,
    /// The tool's name (tool_use blocks).
    name: Option<String>,
}

/// A fragment of a tool call's input JSON; the complete input follows in ToolUse.
#[derive(SimpleObject)]
pub struct ToolInputDelta {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Block index within the message.
    index: i64,
    /// The next piece of the input's JSON text.
    partial_json: String,
}

/// A fragment of visible reasoning; the whole follows as AssistantThinking.
#[derive(SimpleObject)]
pub struct ThinkingDelta {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Block index within the message.
    index: i64,
    /// New reasoning text.
    thinking: String,
}

/// A content block ended.
#[derive(SimpleObject)]
pub struct ContentBlockStopped {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Block index within the message.
    index: i64,
}

/// Why the message stopped, with its output usage.
#[derive(SimpleObject)]
pub struct MessageDelta {
    #[graphql(flatten)]
    meta: EventMeta,
    /// `end_turn`, `tool_use`, `max_tokens`…
    stop_reason: Option<String>,
    /// Usage (output tokens).
    usage: Option<Json<Value>>,
}

/// The assistant message ended.
#[derive(SimpleObject)]
pub struct MessageStopped {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Always true (a marker event).
    stopped: bool,
}

/// Claude Code's own status (e.g. `requesting` while waiting for the API).
#[derive(SimpleObject)]
pub struct StatusChanged {
    #[graphql(flatten)]
    meta: EventMeta,
    /// The status word.
    status: String,
}

/// Claude Code retries an API request.
#[derive(SimpleObject)]
pub struct ApiRetry {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Which attempt this is.
    attempt: Option<i64>,
    /// Attempts allowed.
    max_retries: Option<i64>,
    /// Wait before the retry, in milliseconds.
    retry_delay_ms: Option<i64>,
    /// Why the request failed.
    error: Option<String>,
}

/// What [`member`] made of an event.
pub(super) enum Member {
    /// A stream (or interaction) event's union member.
    Stream(ClaudeEvent),
    /// A message-level event, handed back.
    Other(EventMeta, EventBody),
}

/// The union member of a stream event; message-level events are handed back.
pub(super) fn member(meta: EventMeta, body: EventBody) -> Member {
    Member::Stream(match body {
        EventBody::MessageStarted { message_id, model, usage } => {
            ClaudeEvent::MessageStarted(MessageStarted { meta, message_id, model, usage: usage.map(Json) })
        }
        EventBody::ContentBlockStarted { index, block_type, tool_use_id, name } => {
            ClaudeEvent::ContentBlockStarted(ContentBlockStarted { meta, index, block_type, tool_use_id, name })
        }
        EventBody::ToolInputDelta { index, partial_json } => {
            ClaudeEvent::ToolInputDelta(ToolInputDelta { meta, index, partial_json })
        }
        EventBody::ThinkingDelta { index, thinking } => {
            ClaudeEvent::ThinkingDelta(ThinkingDelta { meta, index, thinking })
        }
        EventBody::ContentBlockStopped { index } => {
            ClaudeEvent::ContentBlockStopped(ContentBlockStopped { meta, index })
        }
        EventBody::MessageDelta { stop_reason, usage } => {
            ClaudeEvent::MessageDelta(MessageDelta { meta, stop_reason, usage: usage.map(Json) })
        }
        EventBody::MessageStopped { stopped } => ClaudeEvent::MessageStopped(MessageStopped { meta, stopped }),
        EventBody::StatusChanged { status } => ClaudeEvent::StatusChanged(StatusChanged { meta, status }),
        EventBody::ApiRetry { attempt, max_retries, retry_delay_ms, error } => {
            ClaudeEvent::ApiRetry(ApiRetry { meta, attempt, max_retries, retry_delay_ms, error })
        }
        other => return Member::Other(meta, other),
    })
}

super::run_event::run_event_meta!(
    MessageStarted,
    ContentBlockStarted,
    ToolInputDelta,
    ThinkingDelta,
    ContentBlockStopped,
    MessageDelta,
    MessageStopped,
    StatusChanged,
    ApiRetry,
);
