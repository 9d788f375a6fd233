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
            EventBody::RawEvent { .. } => "RawEvent",
        }
    }

    /// A raw event from text that is not (known) JSON.
    pub fn raw(source: &str, text: &str, json: Option<Value>) -> Self {
        EventBody::RawEvent { source: source.to_string(), text: text.to_string(), json }
    }
}

/// Claude's `result` line, held until the process exits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaudeResult {
    /// `success`, `error_max_turns`, `error_during_execution`…
    pub subtype: Option<String>,
    /// Whether Claude considers the run failed.
    pub is_error: bool,
    /// Final answer text.
    pub result: Option<String>,
    /// Reported duration.
    pub duration_ms: Option<i64>,
    /// Reported turns.
    pub num_turns: Option<i64>,
    /// Reported cost.
    pub total_cost_usd: Option<f64>,
    /// Reported usage.
    pub usage: Option<Value>,
}

/// What one stdout line yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// An event to store and stream now.
    Event(EventBody),
    /// The result, to merge into RunFinished at exit.
    Result(ClaudeResult),
}

/// Parses one stdout line of `claude --output-format stream-json`.
pub fn parse_line(line: &str) -> Vec<Parsed> {
    let Ok(v) = serde_json::from_str::<Value>(line) else {
        return vec![Parsed::Event(EventBody::raw("stdout", line, None))];
    };
    let known = match v.get("type").and_then(Value::as_str) {
        Some("system") if v.get("subtype").and_then(Value::as_str) == Some("init") => session_started(&v),
        Some("assistant") => content_blocks(&v, assistant_block),
        Some("user") => content_blocks(&v, user_block),
        Some("stream_event") => text_delta(&v).map(|e| vec![Parsed::Event(e)]),
        Some("result") => Some(vec![Parsed::Result(result(&v))]),
        _ => None,
    };
    known.unwrap_or_else(|| vec![Parsed::Event(EventBody::raw("stdout", line, Some(v)))])
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn session_started(v: &Value) -> Option<Vec<Parsed>> {
    let tools = v
        .get("tools")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    Some(vec![Parsed::Event(EventBody::SessionStarted {
        session_id: str_field(v, "session_id")?,
        model: str_field(v, "model"),
        cwd: str_field(v, "cwd"),
        tools,
    })])
}

/// Splits a message into one event per content block; unknown blocks stay raw.
fn content_blocks(v: &Value, per_block: fn(&Value) -> Option<EventBody>) -> Option<Vec<Parsed>> {
    let blocks = v.get("message")?.get("content")?;
    let blocks: Vec<Value> = match blocks {
        Value::Array(b) => b.clone(),
        Value::String(s) => vec![serde_json::json!({"type": "text", "text": s})],
        _ => return None,
    };
    let out: Vec<Parsed> = blocks
        .iter()
        .map(|b| {
            Parsed::Event(per_block(b).unwrap_or_else(|| EventBody::raw("stdout", &b.to_string(), Some(b.clone()))))
        })
        .collect();
    if out.is_empty() { None } else { Some(out) }
}

fn assistant_block(b: &Value) -> Option<EventBody> {
    match b.get("type")?.as_str()? {
        "text" => Some(EventBody::AssistantText { text: str_field(b, "text")? }),
        "thinking" => Some(EventBody::AssistantThinking { thinking: str_field(b, "thinking")? }),
        "tool_use" => Some(EventBody::ToolUse {
            tool_use_id: str_field(b, "id")?,
            name: str_field(b, "name")?,
            input: b.get("input").cloned().unwrap_or(Value::Null),
        }),
        _ => None,
    }
}

fn user_block(b: &Value) -> Option<EventBody> {
    if b.get("type")?.as_str()? != "tool_result" {
        return None;
    }
    let content = match b.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| p.get("text").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| p.to_string()))
            .collect::<Vec<_>>()
            .join("\n"),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    Some(EventBody::ToolResult {
        tool_use_id: str_field(b, "tool_use_id")?,
        content,
        is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn text_delta(v: &Value) -> Option<EventBody> {
    let ev = v.get("event")?;
    if ev.get("type")?.as_str()? != "content_block_delta" {
        return None;
    }
    let delta = ev.get("delta")?;
    if delta.get("type")?.as_str()? != "text_delta" {
        return None;
    }
    Some(EventBody::TextDelta {
        text: str_field(delta, "text")?,
        index: ev.get("index").and_then(Value::as_i64).unwrap_or(0),
    })
}

fn result(v: &Value) -> ClaudeResult {
    ClaudeResult {
        subtype: str_field(v, "subtype"),
        is_error: v.get("is_error").and_then(Value::as_bool).unwrap_or(false),
        result: str_field(v, "result"),
        duration_ms: v.get("duration_ms").and_then(Value::as_i64),
        num_turns: v.get("num_turns").and_then(Value::as_i64),
        total_cost_usd: v.get("total_cost_usd").and_then(Value::as_f64),
        usage: v.get("usage").cloned(),
    }
}

#[cfg(test)]
mod tests;
