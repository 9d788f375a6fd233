//! A fake of the Anthropic Messages API for the real `claude` CLI: POST /v1/messages
//! answers with the real SSE events. The first turn of a conversation calls the Bash
//! tool; a turn that carries a tool result answers with text quoting it.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

/// The command the fake model asks Bash to run.
pub const BASH_COMMAND: &str = "echo hello-from-bash > made-by-claude.txt && cat made-by-claude.txt && pwd";

/// A running fake; `requests` holds every body it received.
pub struct FakeAnthropic {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Request bodies received on /v1/messages.
    pub requests: Arc<Mutex<Vec<Value>>>,
}

/// Starts the fake on a free port.
pub async fn start() -> FakeAnthropic {
    let requests = Arc::new(Mutex::new(vec![]));
    let app = Router::new()
        .route("/v1/messages", post(messages))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(json!({"type": "error", "error": {"type": "not_found_error", "message": "not here"}})),
            )
        })
        .with_state(requests.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    FakeAnthropic { addr, requests }
}

fn last_tool_result(body: &Value) -> Option<String> {
    let last = body["messages"].as_array()?.last()?;
    last["content"].as_array()?.iter().find(|b| b["type"] == "tool_result").map(|b| match &b["content"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

async fn messages(State(requests): State<Arc<Mutex<Vec<Value>>>>, Json(body): Json<Value>) -> Response {
    requests.lock().unwrap().push(body.clone());
    let model = body["model"].as_str().unwrap_or("claude-fake").to_string();
    let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    let blocks: Vec<Value> = match (has_tools, last_tool_result(&body)) {
        (true, Some(result)) => vec![json!({"type": "text", "text": format!("The command printed: {result}")})],
        (true, None) => vec![
            json!({"type": "text", "text": "I will run a command."}),
            json!({"type": "tool_use", "id": format!("toolu_{}", uuid::Uuid::new_v4().simple()), "name": "Bash",
                   "input": {"command": BASH_COMMAND, "description": "Write and read a file"}}),
        ],
        (false, _) => vec![json!({"type": "text", "text": "Fake title"})],
    };
    let stop = if blocks.iter().any(|b| b["type"] == "tool_use") { "tool_use" } else { "end_turn" };
    if body["stream"] != true {
        let msg = json!({"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": blocks,
            "stop_reason": stop, "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 10}});
        return Json(msg).into_response();
    }
    let mut sse = String::new();
    let mut event = |name: &str, data: Value| sse.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    event(
        "message_start",
        json!({"type": "message_start", "message": {"id": format!("msg_{}", uuid::Uuid::new_v4().simple()),
        "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 1}}}),
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
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 20}}),
    );
    event("message_stop", json!({"type": "message_stop"}));
    Response::builder().header(header::CONTENT_TYPE, "text/event-stream").body(Body::from(sse)).expect("response")
}
