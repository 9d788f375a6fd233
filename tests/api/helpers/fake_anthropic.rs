//! A fake of the Anthropic Messages API for the real `claude` CLI: POST /v1/messages
//! answers with the real SSE events. A request whose last message carries a tool result
//! answers with text quoting it; otherwise a user message holding `[bash: <command> :bash]`
//! calls the Bash tool with that command, the conversation's first message calls it with
//! `BASH_COMMAND`, and a later message is answered `You said: <its text>`. Every answer
//! is from `FAKE_MODEL` and reports different usage figures (cache tokens included),
//! which it records with the key each request carried.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

/// The command the fake model asks Bash to run.
pub const BASH_COMMAND: &str = "echo hello-from-bash > made-by-claude.txt && cat made-by-claude.txt && pwd";

/// The model every answer says it came from.
pub const FAKE_MODEL: &str = "fake-model-1";

/// The usage one answer reported: input, output, cache-creation, cache-read tokens.
pub type Reported = [i64; 4];

/// A running fake; `requests` holds every body it received.
pub struct FakeAnthropic {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Request bodies received on /v1/messages.
    pub requests: Arc<Mutex<Vec<Value>>>,
    /// The key (`x-api-key`, else the bearer token) of every request, any path.
    pub keys: Arc<Mutex<Vec<String>>>,
    /// The usage of every answer to /v1/messages.
    pub usages: Arc<Mutex<Vec<Reported>>>,
}

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<Value>>>,
    keys: Arc<Mutex<Vec<String>>>,
    usages: Arc<Mutex<Vec<Reported>>>,
}

impl Shared {
    fn saw_key(&self, headers: &HeaderMap) {
        let key = headers
            .get("x-api-key")
            .or_else(|| headers.get(header::AUTHORIZATION))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim_start_matches("Bearer ")
            .to_string();
        self.keys.lock().unwrap().push(key);
    }
}

/// Starts the fake on a free port.
pub async fn start() -> FakeAnthropic {
    let shared = Shared { requests: Arc::default(), keys: Arc::default(), usages: Arc::default() };
    let app = Router::new()
        .route("/v1/messages", post(messages))
        .fallback(|State(s): State<Shared>, headers: HeaderMap| async move {
            s.saw_key(&headers);
            (
                StatusCode::NOT_FOUND,
                Json(json!({"type": "error", "error": {"type": "not_found_error", "message": "not here"}})),
            )
        })
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    FakeAnthropic { addr, requests: shared.requests, keys: shared.keys, usages: shared.usages }
}

/// What the user wrote since the model last spoke: the text blocks of the trailing user
/// messages, without Claude Code's `<system-reminder>` additions.
fn user_words(messages: &[Value]) -> String {
    let start = messages.iter().rposition(|m| m["role"] == "assistant").map_or(0, |i| i + 1);
    let mut text = String::new();
    for m in &messages[start..] {
        match &m["content"] {
            Value::String(s) => text.push_str(&format!("{s}\n")),
            Value::Array(blocks) => {
                blocks.iter().filter_map(|b| b["text"].as_str()).for_each(|t| text.push_str(&format!("{t}\n")))
            }
            _ => {}
        }
    }
    while let (Some(a), Some(b)) = (text.find("<system-reminder>"), text.find("</system-reminder>")) {
        if b < a {
            break;
        }
        text.replace_range(a..b + "</system-reminder>".len(), "");
    }
    text
}

/// The command asked for in `text`, if any.
fn bash_directive(text: &str) -> Option<String> {
    let start = text.find("[bash: ")? + "[bash: ".len();
    let len = text[start..].find(" :bash]")?;
    Some(text[start..start + len].to_string())
}

/// The user's last line.
fn said(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with("[Request interrupted"))
        .unwrap_or("")
        .to_string()
}

fn last_tool_result(body: &Value) -> Option<String> {
    let last = body["messages"].as_array()?.last()?;
    last["content"].as_array()?.iter().find(|b| b["type"] == "tool_result").map(|b| match &b["content"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

async fn messages(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    s.saw_key(&headers);
    s.requests.lock().unwrap().push(body.clone());
    let model = FAKE_MODEL;
    // Different figures per answer, so a sum cannot be right by accident.
    let usage = {
        let mut usages = s.usages.lock().unwrap();
        let n = usages.len() as i64;
        let u: Reported = [100 + 7 * n, 20 + 3 * n, 50 + n, 200 + 11 * n];
        usages.push(u);
        u
    };
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let words = user_words(&messages);
    let first = !messages.iter().any(|m| m["role"] == "assistant");
    let command = match bash_directive(&words) {
        Some(c) => Some(c),
        None if first => Some(BASH_COMMAND.to_string()),
        None => None,
    };
    let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    // A tool result with nothing new from the user: the model reports it.
    let result = last_tool_result(&body).filter(|_| said(&words).is_empty());
    let blocks: Vec<Value> = match (has_tools, result, command) {
        (true, Some(result), _) => vec![json!({"type": "text", "text": format!("The command printed: {result}")})],
        (true, None, None) => vec![json!({"type": "text", "text": format!("You said: {}", said(&words))})],
        (true, None, Some(command)) => vec![
            json!({"type": "text", "text": "I will run a command."}),
            json!({"type": "tool_use", "id": format!("toolu_{}", uuid::Uuid::new_v4().simple()), "name": "Bash",
                   "input": {"command": command, "description": "Run a command"}}),
        ],
        (false, _, _) => vec![json!({"type": "text", "text": "Fake title"})],
    };
    let stop = if blocks.iter().any(|b| b["type"] == "tool_use") { "tool_use" } else { "end_turn" };
    if body["stream"] != true {
        let msg = json!({"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": blocks,
            "stop_reason": stop, "stop_sequence": null, "usage": {"input_tokens": usage[0], "output_tokens": usage[1],
            "cache_creation_input_tokens": usage[2], "cache_read_input_tokens": usage[3]}});
        return Json(msg).into_response();
    }
    let mut sse = String::new();
    let mut event = |name: &str, data: Value| sse.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    event(
        "message_start",
        json!({"type": "message_start", "message": {"id": format!("msg_{}", uuid::Uuid::new_v4().simple()),
        "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": usage[0], "output_tokens": 1, "cache_creation_input_tokens": usage[2],
        "cache_read_input_tokens": usage[3]}}}),
    );
    for (i, b) in blocks.iter().enumerate() {
        if b["type"] == "text" {
            event(
                "content_block_start",
                json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}),
            );
            for word in b["text"].as_str().unwrap_or("").split_inclusive(' ') {
                event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": word}}),
                );
            }
        } else {
            let start = json!({"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}});
            event("content_block_start", json!({"type": "content_block_start", "index": i, "content_block": start}));
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": i,
                "delta": {"type": "input_json_delta", "partial_json": b["input"].to_string()}}),
            );
        }
        event("content_block_stop", json!({"type": "content_block_stop", "index": i}));
    }
    event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": usage[1]}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    Response::builder().header(header::CONTENT_TYPE, "text/event-stream").body(Body::from(sse)).expect("response")
}
