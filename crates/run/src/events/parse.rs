//! Parsing one stdout line of `claude --output-format stream-json` into events.

use serde_json::Value;

use super::EventBody;

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
    /// A control message of the stdio protocol, for the supervisor to act on.
    Control(Control),
}

/// Claude's control messages (stream-json input mode with `--permission-prompt-tool stdio`).
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// `can_use_tool`: may Claude call this tool with this input?
    CanUseTool {
        /// Claude's request id, echoed in the answer.
        request_id: String,
        /// Tool name.
        tool_name: String,
        /// The tool call's id.
        tool_use_id: String,
        /// The tool input.
        input: Value,
    },
    /// Another request (hooks, MCP…): answered with an error.
    Other {
        /// Claude's request id.
        request_id: String,
        /// What it asks.
        subtype: String,
    },
    /// Claude withdrew a request (`control_cancel_request`).
    Cancelled {
        /// The request withdrawn.
        request_id: String,
    },
    /// Claude's answer to one of ours (an interrupt): nothing to do.
    Response,
}

/// Parses one stdout line of `claude --output-format stream-json`.
pub fn parse_line(line: &str) -> Vec<Parsed> {
    let Ok(v) = serde_json::from_str::<Value>(line) else {
        return vec![Parsed::Event(EventBody::raw("stdout", line, None))];
    };
    let known = match v.get("type").and_then(Value::as_str) {
        Some("system") => match v.get("subtype").and_then(Value::as_str) {
            Some("init") => session_started(&v),
            Some("status") => {
                str_field(&v, "status").map(|status| vec![Parsed::Event(EventBody::StatusChanged { status })])
            }
            Some("api_retry") => Some(vec![Parsed::Event(api_retry(&v))]),
            _ => None,
        },
        Some("assistant") => content_blocks(&v, assistant_block),
        Some("user") => content_blocks(&v, user_block),
        Some("stream_event") => super::stream::stream_event(&v),
        Some("result") => Some(vec![Parsed::Result(result(&v))]),
        Some("control_request") => control_request(&v),
        Some("control_cancel_request") => {
            str_field(&v, "request_id").map(|request_id| vec![Parsed::Control(Control::Cancelled { request_id })])
        }
        Some("control_response") => Some(vec![Parsed::Control(Control::Response)]),
        Some("keep_alive") => Some(vec![]),
        _ => None,
    };
    known.unwrap_or_else(|| vec![Parsed::Event(EventBody::raw("stdout", line, Some(v)))])
}

pub(super) fn str_field(v: &Value, key: &str) -> Option<String> {
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

fn control_request(v: &Value) -> Option<Vec<Parsed>> {
    let request_id = str_field(v, "request_id")?;
    let r = v.get("request")?;
    let subtype = str_field(r, "subtype")?;
    let control = match subtype.as_str() {
        "can_use_tool" => Control::CanUseTool {
            request_id,
            tool_name: str_field(r, "tool_name")?,
            tool_use_id: str_field(r, "tool_use_id").unwrap_or_default(),
            input: r.get("input").cloned().unwrap_or(Value::Null),
        },
        _ => Control::Other { request_id, subtype },
    };
    Some(vec![Parsed::Control(control)])
}

fn api_retry(v: &Value) -> EventBody {
    let num = |k: &str| v.get(k).and_then(Value::as_i64);
    let error = match v.get("error") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    EventBody::ApiRetry {
        attempt: num("attempt"),
        max_retries: num("max_retries"),
        retry_delay_ms: num("retry_delay_ms").or_else(|| num("delay_ms")),
        error,
    }
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
