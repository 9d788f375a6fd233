//! A fake of the Anthropic Messages API for the real `claude` CLI: POST /v1/messages
//! answers with the real SSE events. The first turn of a conversation calls the Bash
//! tool (`BASH_COMMAND`, or the command between `[bash: ` and ` :bash]` in the first
//! prompt); a turn that carries a tool result answers with text quoting it. Every answer
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

/// The command asked for in the conversation's first prompt, if any.
fn bash_directive(body: &Value) -> Option<String> {
    let first = &body["messages"][0]["content"];
    let text = match first {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n"),
        _ => return None,
    };
    let start = text.find("[bash: ")? + "[bash: ".len();
    let len = text[start..].find(" :bash]")?;
    Some(text[start..start + len].to_string())
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
    let command = bash_directive(&body).unwrap_or_else(|| BASH_COMMAND.to_string());
    let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    let blocks: Vec<Value> = match (has_tools, last_tool_result(&body)) {
        (true, Some(result)) => vec![json!({"type": "text", "text": format!("The command printed: {result}")})],
        (true, None) => vec![
            json!({"type": "text", "text": "I will run a command."}),
            json!({"type": "tool_use", "id": format!("toolu_{}", uuid::Uuid::new_v4().simple()), "name": "Bash",
                   "input": {"command": command, "description": "Run a command"}}),
        ],
        (false, _) => vec![json!({"type": "text", "text": "Fake title"})],
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
