//! Claude Code's `stream-json` output as typed events.
//!
//! Every stdout line becomes at least one event: known shapes become typed events, and
//! anything else — new types, new subtypes, non-JSON text — becomes a [`EventBody::RawEvent`]
//! so nothing is ever dropped. The `result` line is held back and merged with the process
//! exit into the single closing [`EventBody::RunFinished`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One event of a run, as stored in `agent_run_events.payload` and streamed to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum EventBody {
    /// Claude started (or resumed) a session.
    SessionStarted {
        /// Claude's session id; the next run resumes it.
        session_id: String,
        /// Model in use.
        model: Option<String>,
        /// Working directory Claude sees.
        cwd: Option<String>,
        /// Tools Claude may call.
        tools: Vec<String>,
    },
    /// A complete block of assistant text.
    AssistantText {
        /// The text.
        text: String,
    },
    /// A fragment of assistant text as it is generated (`--include-partial-messages`).
    TextDelta {
        /// The new text.
        text: String,
        /// Content block index within the message.
        index: i64,
    },
    /// Claude's visible reasoning.
    AssistantThinking {
        /// The reasoning text.
        thinking: String,
    },
    /// Claude calls a tool.
    ToolUse {
        /// Id pairing the call with its result.
        tool_use_id: String,
        /// Tool name.
        name: String,
        /// Tool input.
        input: Value,
    },
    /// What a tool returned.
    ToolResult {
        /// The call this answers.
        tool_use_id: String,
        /// Output text.
        content: String,
        /// Whether the tool failed.
        is_error: bool,
    },
    /// The run ended; always the last event of a run.
    RunFinished {
        /// Final run status (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED).
        status: String,
        /// Claude's result subtype (`success`, `error_max_turns`…), if it reported one.
        subtype: Option<String>,
        /// Whether the run ended in error.
        is_error: bool,
        /// Claude's final answer.
        result: Option<String>,
        /// Duration reported by Claude.
        duration_ms: Option<i64>,
        /// Turns reported by Claude.
        num_turns: Option<i64>,
        /// Cost reported by Claude.
        total_cost_usd: Option<f64>,
        /// Token usage reported by Claude.
        usage: Option<Value>,
        /// Exit code of the process, if it exited.
        exit_code: Option<i32>,
        /// Why it failed, in words for the user.
        error: Option<String>,
        /// Why it failed, as a stable code clients branch on (`CLAUDE_NOT_FOUND`,
        /// `TIMED_OUT`, `BUDGET_EXCEEDED`…); absent in events stored before it existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The run was accepted and recorded; always its first event (stored with the run row).
    RunStarted {
        /// Model requested, if any.
        model: Option<String>,
        /// Claude session the run continues, if any.
        resume_session_id: Option<String>,
    },
    /// An assistant message began (`--include-partial-messages`).
    MessageStarted {
        /// The API's message id.
        message_id: String,
        /// The answering model.
        model: Option<String>,
        /// Usage so far (input and cache tokens).
        usage: Option<Value>,
    },
    /// A content block began: text, thinking, or a tool call (its id and name known now,
    /// before its input has streamed).
    ContentBlockStarted {
        /// Block index within the message.
        index: i64,
        /// `text`, `thinking`, `tool_use`…
        block_type: String,
        /// The tool call's id, for tool_use blocks.
        tool_use_id: Option<String>,
        /// The tool's name, for tool_use blocks.
        name: Option<String>,
    },
    /// A fragment of a tool call's input JSON as it is generated.
    ToolInputDelta {
        /// Block index within the message.
        index: i64,
        /// The next piece of the input's JSON text.
        partial_json: String,
    },
    /// A fragment of visible reasoning as it is generated.
    ThinkingDelta {
        /// Block index within the message.
        index: i64,
        /// The new reasoning text.
        thinking: String,
    },
    /// A content block ended.
    ContentBlockStopped {
        /// Block index within the message.
        index: i64,
    },
    /// The message's stop reason and final output usage.
    MessageDelta {
        /// `end_turn`, `tool_use`, `max_tokens`…
        stop_reason: Option<String>,
        /// Usage (output tokens).
        usage: Option<Value>,
    },
    /// The assistant message ended.
    MessageStopped {
        /// Always true (a marker event).
        stopped: bool,
    },
    /// Claude Code's own status (`system`/`status`, e.g. `requesting`).
    StatusChanged {
        /// The status word.
        status: String,
    },
    /// Claude Code retries an API request (`system`/`api_retry`).
    ApiRetry {
        /// Which attempt this is.
        attempt: Option<i64>,
        /// Attempts allowed.
        max_retries: Option<i64>,
        /// Wait before the retry, in milliseconds.
        retry_delay_ms: Option<i64>,
        /// Why the request failed.
        error: Option<String>,
    },
    /// A user message entered the conversation (a follow-up sent with `sendMessage`).
    UserMessage {
        /// The message.
        text: String,
    },
    /// Claude asks permission for a tool call; it waits for `answerPermission`.
    PermissionRequested {
        /// Id to answer with.
        request_id: String,
        /// The tool.
        tool_name: String,
        /// The tool call's id (pairs with ToolUse and ToolResult).
        tool_use_id: String,
        /// The tool input.
        input: Value,
    },
    /// A permission request was answered (by a user, a timeout, or withdrawn by Claude).
    PermissionAnswered {
        /// The request.
        request_id: String,
        /// Whether the tool may run.
        allow: bool,
        /// `USER`, `TIMEOUT` or `WITHDRAWN`.
        decided_by: String,
        /// The denial message Claude received.
        message: Option<String>,
    },
    /// One turn of Claude ended (its `result`); an interactive run then waits for more.
    TurnFinished {
        /// Whether the turn ended in error (or was interrupted).
        is_error: bool,
        /// Claude's answer.
        result: Option<String>,
        /// Claude's result subtype.
        subtype: Option<String>,
        /// Whether the turn was stopped by `interruptRun`.
        interrupted: bool,
    },
    /// Anything else: unknown JSON, non-JSON output, stderr.
    RawEvent {
        /// `stdout`, `stderr` or `system`.
        source: String,
        /// The line as text.
        text: String,
        /// The line as JSON, when it was JSON.
        json: Option<Value>,
    },
}

impl EventBody {
    /// The variant name, stored in `agent_run_events.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::SessionStarted { .. } => "SessionStarted",
            EventBody::AssistantText { .. } => "AssistantText",
            EventBody::TextDelta { .. } => "TextDelta",
            EventBody::AssistantThinking { .. } => "AssistantThinking",
            EventBody::ToolUse { .. } => "ToolUse",
            EventBody::ToolResult { .. } => "ToolResult",
            EventBody::RunFinished { .. } => "RunFinished",
            EventBody::RunStarted { .. } => "RunStarted",
            EventBody::MessageStarted { .. } => "MessageStarted",
            EventBody::ContentBlockStarted { .. } => "ContentBlockStarted",
            EventBody::ToolInputDelta { .. } => "ToolInputDelta",
            EventBody::ThinkingDelta { .. } => "ThinkingDelta",
            EventBody::ContentBlockStopped { .. } => "ContentBlockStopped",
            EventBody::MessageDelta { .. } => "MessageDelta",
            EventBody::MessageStopped { .. } => "MessageStopped",
            EventBody::StatusChanged { .. } => "StatusChanged",
            EventBody::ApiRetry { .. } => "ApiRetry",
            EventBody::UserMessage { .. } => "UserMessage",
            EventBody::PermissionRequested { .. } => "PermissionRequested",
            EventBody::PermissionAnswered { .. } => "PermissionAnswered",
            EventBody::TurnFinished { .. } => "TurnFinished",
            EventBody::RawEvent { .. } => "RawEvent",
        }
    }

    /// A raw event from text that is not (known) JSON.
    pub fn raw(source: &str, text: &str, json: Option<Value>) -> Self {
        EventBody::RawEvent { source: source.to_string(), text: text.to_string(), json }
    }
}

mod parse;
mod stream;

pub use self::parse::{ClaudeResult, Control, Parsed, parse_line};

#[cfg(test)]
mod tests;
