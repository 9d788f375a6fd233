//! `ClaudeEvent`: the union streamed by `claudeStream` and `runEvents`.

use async_graphql::{ID, Json, SimpleObject, Union};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{enums::RunStatus, interaction_event, stream_event};
use crate::{
    entity::enums,
    run::{events::EventBody, hub::StoredEvent},
};

/// Where an event sits: every member of ClaudeEvent carries these.
#[derive(SimpleObject, Clone)]
pub struct EventMeta {
    /// The run.
    pub run_id: ID,
    /// Position in the run, from 1; pass the last one seen as `afterSeq` to resume.
    pub seq: i64,
    /// When it was stored.
    pub at: DateTime<Utc>,
}

/// Claude started or resumed a session.
#[derive(SimpleObject)]
pub struct SessionStarted {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Claude's session id; the next run in the sandbox resumes it.
    session_id: String,
    /// Model in use.
    model: Option<String>,
    /// Working directory Claude sees.
    cwd: Option<String>,
    /// Tools Claude may call.
    tools: Vec<String>,
}

/// A complete block of assistant text.
#[derive(SimpleObject)]
pub struct AssistantText {
    #[graphql(flatten)]
    meta: EventMeta,
    /// The text.
    text: String,
}

/// A fragment of assistant text as it is generated; the complete block follows as AssistantText.
#[derive(SimpleObject)]
pub struct TextDelta {
    #[graphql(flatten)]
    meta: EventMeta,
    /// New text.
    text: String,
    /// Content block index within the message.
    index: i64,
}

/// Claude's visible reasoning.
#[derive(SimpleObject)]
pub struct AssistantThinking {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Reasoning text.
    thinking: String,
}

/// Claude calls a tool.
#[derive(SimpleObject)]
pub struct ToolUse {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Pairs the call with its ToolResult.
    tool_use_id: String,
    /// Tool name.
    name: String,
    /// Tool input.
    input: Json<Value>,
}

/// What a tool returned.
#[derive(SimpleObject)]
pub struct ToolResult {
    #[graphql(flatten)]
    meta: EventMeta,
    /// The call this answers.
    tool_use_id: String,
    /// Output text.
    content: String,
    /// Whether the tool failed.
    is_error: bool,
}

/// The run ended; always its last event.
#[derive(SimpleObject)]
pub struct RunFinished {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Final status of the run.
    status: RunStatus,
    /// Claude's result subtype (`success`, `error_max_turns`…).
    subtype: Option<String>,
    /// Whether the run failed.
    is_error: bool,
    /// Claude's final answer.
    result: Option<String>,
    /// Duration in milliseconds.
    duration_ms: Option<i64>,
    /// Turns taken.
    num_turns: Option<i64>,
    /// Cost in US dollars.
    total_cost_usd: Option<f64>,
    /// Token usage as Claude reported it.
    usage: Option<Json<Value>>,
    /// Exit code of the process.
    exit_code: Option<i32>,
    /// Why it failed.
    error: Option<String>,
    /// Why it failed, as a stable code: `CLAUDE_NOT_FOUND` (the CLI is not installed where
    /// runs start), `TIMED_OUT`, `BUDGET_EXCEEDED`, `INTERRUPTED`, `CLAUDE_ERROR`,
    /// `CLAUDE_EXITED`.
    reason: Option<String>,
}

/// The run was accepted and recorded; always its first event.
#[derive(SimpleObject)]
pub struct RunStarted {
    #[graphql(flatten)]
    meta: EventMeta,
    /// Model requested, if any.
    model: Option<String>,
    /// Claude session the run continues, if any.
    resume_session_id: Option<String>,
}

/// Output that is not one of the typed events: unknown JSON, plain text, stderr.
#[derive(SimpleObject)]
pub struct RawEvent {
    #[graphql(flatten)]
    meta: EventMeta,
    /// `stdout`, `stderr` or `system`.
    source: String,
    /// The line.
    text: String,
    /// The line parsed as JSON, when it is JSON.
    json: Option<Json<Value>>,
}

/// One event of a Claude run.
#[derive(Union)]
pub enum ClaudeEvent {
    /// Session start.
    SessionStarted(SessionStarted),
    /// Assistant text.
    AssistantText(AssistantText),
    /// Live text fragment.
    TextDelta(TextDelta),
    /// Reasoning.
    AssistantThinking(AssistantThinking),
    /// Tool call.
    ToolUse(ToolUse),
    /// Tool output.
    ToolResult(ToolResult),
    /// End of run.
    RunFinished(RunFinished),
    /// Anything else.
    RawEvent(RawEvent),
    /// Start of run.
    RunStarted(RunStarted),
    /// A message began.
    MessageStarted(stream_event::MessageStarted),
    /// A content block began (a tool call: id and name).
    ContentBlockStarted(stream_event::ContentBlockStarted),
    /// Live tool-input fragment.
    ToolInputDelta(stream_event::ToolInputDelta),
    /// Live reasoning fragment.
    ThinkingDelta(stream_event::ThinkingDelta),
    /// A content block ended.
    ContentBlockStopped(stream_event::ContentBlockStopped),
    /// Stop reason and usage.
    MessageDelta(stream_event::MessageDelta),
    /// A message ended.
    MessageStopped(stream_event::MessageStopped),
    /// Claude Code's status.
    StatusChanged(stream_event::StatusChanged),
    /// An API request retried.
    ApiRetry(stream_event::ApiRetry),
    /// A follow-up message entered the conversation.
    UserMessage(interaction_event::UserMessage),
    /// Claude asks permission for a tool call.
    PermissionRequested(interaction_event::PermissionRequested),
    /// A permission request was decided.
    PermissionAnswered(interaction_event::PermissionAnswered),
    /// One turn ended.
    TurnFinished(interaction_event::TurnFinished),
}

fn run_status(name: &str) -> RunStatus {
    match name {
        "SUCCEEDED" => enums::RunStatus::Succeeded,
        "CANCELLED" => enums::RunStatus::Cancelled,
        "INTERRUPTED" => enums::RunStatus::Interrupted,
        "RUNNING" => enums::RunStatus::Running,
        _ => enums::RunStatus::Failed,
    }
    .into()
}

impl From<StoredEvent> for ClaudeEvent {
    fn from(ev: StoredEvent) -> Self {
        let meta = EventMeta { run_id: ID(ev.run_id.to_string()), seq: ev.seq, at: ev.at };
        let (meta, body) = match stream_event::member(meta, ev.body) {
            stream_event::Member::Stream(member) => return member,
            stream_event::Member::Other(meta, body) => (meta, body),
        };
        let (meta, body) = match interaction_event::member(meta, body) {
            stream_event::Member::Stream(member) => return member,
            stream_event::Member::Other(meta, body) => (meta, body),
        };
        match body {
            EventBody::SessionStarted { session_id, model, cwd, tools } => {
                Self::SessionStarted(SessionStarted { meta, session_id, model, cwd, tools })
            }
            EventBody::AssistantText { text } => Self::AssistantText(AssistantText { meta, text }),
            EventBody::TextDelta { text, index } => Self::TextDelta(TextDelta { meta, text, index }),
            EventBody::AssistantThinking { thinking } => Self::AssistantThinking(AssistantThinking { meta, thinking }),
            EventBody::ToolUse { tool_use_id, name, input } => {
                Self::ToolUse(ToolUse { meta, tool_use_id, name, input: Json(input) })
            }
            EventBody::ToolResult { tool_use_id, content, is_error } => {
                Self::ToolResult(ToolResult { meta, tool_use_id, content, is_error })
            }
            EventBody::RunFinished {
                status,
                subtype,
                is_error,
                result,
                duration_ms,
                num_turns,
                total_cost_usd,
                usage,
                exit_code,
                error,
                reason,
            } => Self::RunFinished(RunFinished {
                meta,
                status: run_status(&status),
                subtype,
                is_error,
                result,
                duration_ms,
                num_turns,
                total_cost_usd,
                usage: usage.map(Json),
                exit_code,
                error,
                reason,
            }),
            EventBody::RunStarted { model, resume_session_id } => {
                Self::RunStarted(RunStarted { meta, model, resume_session_id })
            }
            EventBody::RawEvent { source, text, json } => {
                Self::RawEvent(RawEvent { meta, source, text, json: json.map(Json) })
            }
            // Stream events were taken by `stream_event::member` above.
            other => Self::RawEvent(RawEvent {
                meta,
                source: "stdout".into(),
                text: other.kind().to_string(),
                json: serde_json::to_value(&other).ok().map(Json),
            }),
        }
    }
}

super::run_event::run_event_meta!(
    SessionStarted,
    AssistantText,
    TextDelta,
    AssistantThinking,
    ToolUse,
    ToolResult,
    RunFinished,
    RawEvent,
    RunStarted,
);
