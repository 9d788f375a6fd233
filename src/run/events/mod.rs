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
    },
    /// The run was accepted and recorded; always its first event (stored with the run row).
    RunStarted {
        /// Model requested, if any.
        model: Option<String>,
        /// Claude session the run continues, if any.
        resume_session_id: Option<String>,
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
            EventBody::RawEvent { .. } => "RawEvent",
        }
    }

    /// A raw event from text that is not (known) JSON.
    pub fn raw(source: &str, text: &str, json: Option<Value>) -> Self {
        EventBody::RawEvent { source: source.to_string(), text: text.to_string(), json }
    }
}

mod parse;

pub use self::parse::{ClaudeResult, Parsed, parse_line};

#[cfg(test)]
mod tests;
