//! Helpers for tests of Claude runs: the event selection, collecting a stream, and what
//! the stand-in claude recorded.

use std::path::PathBuf;

use serde_json::Value;

use super::{TestApp, ws::WsClient};

/// Every field of every ClaudeEvent member.
pub const EVENT_FIELDS: &str = "
  __typename
  ... on RunStarted { runId seq at model resumeSessionId }
  ... on SessionStarted { runId seq at sessionId model cwd tools }
  ... on AssistantText { runId seq at text }
  ... on TextDelta { runId seq at text index }
  ... on AssistantThinking { runId seq at thinking }
  ... on ToolUse { runId seq at toolUseId name input }
  ... on ToolResult { runId seq at toolUseId content isError }
  ... on RunFinished { runId seq at status subtype isError result durationMs numTurns totalCostUsd usage exitCode error }
  ... on RawEvent { runId seq at source text json }
  ... on MessageStarted { runId seq at messageId model usage }
  ... on ContentBlockStarted { runId seq at index blockType toolUseId name }
  ... on ToolInputDelta { runId seq at index partialJson }
  ... on ThinkingDelta { runId seq at index thinking }
  ... on ContentBlockStopped { runId seq at index }
  ... on MessageDelta { runId seq at stopReason usage }
  ... on MessageStopped { runId seq at stopped }
  ... on StatusChanged { runId seq at status }
  ... on ApiRetry { runId seq at attempt maxRetries retryDelayMs error }
  ... on UserMessage { runId seq at text }
  ... on PermissionRequested { runId seq at requestId toolName toolUseId input }
  ... on PermissionAnswered { runId seq at requestId allow decidedBy message }
  ... on TurnFinished { runId seq at isError result subtype interrupted }";

/// `subscription { claudeStream(...) { ...all fields } }`.
pub fn claude_stream_query() -> String {
    format!("subscription($s: ID!, $p: String!) {{ claudeStream(sandboxId: $s, prompt: $p) {{ {EVENT_FIELDS} }} }}")
}

/// `subscription { runEvents(...) { ...all fields } }`.
pub fn run_events_query() -> String {
    format!("subscription($r: ID!, $a: Int!) {{ runEvents(runId: $r, afterSeq: $a) {{ {EVENT_FIELDS} }} }}")
}

/// Reads `next` payloads of operation `id` until `complete`; panics on `error`.
pub async fn collect(ws: &mut WsClient, id: &str) -> Vec<Value> {
    let mut events = vec![];
    loop {
        let msg = ws.next().await;
        assert_eq!(msg["id"], id, "{msg}");
        match msg["type"].as_str() {
            Some("next") => {
                assert!(msg["payload"]["errors"].is_null(), "stream error: {msg}");
                let data = &msg["payload"]["data"];
                let ev = data.as_object().and_then(|o| o.values().next()).cloned().unwrap_or(Value::Null);
                events.push(ev);
            }
            Some("complete") => return events,
            other => panic!("unexpected {other:?}: {msg}"),
        }
    }
}

/// Reads `n` events of operation `id`.
pub async fn take(ws: &mut WsClient, id: &str, n: usize) -> Vec<Value> {
    let mut events = vec![];
    while events.len() < n {
        let msg = ws.next().await;
        assert_eq!((msg["id"].as_str(), msg["type"].as_str()), (Some(id), Some("next")), "{msg}");
        let data = &msg["payload"]["data"];
        events.push(data.as_object().and_then(|o| o.values().next()).cloned().unwrap_or(Value::Null));
    }
    events
}

/// The first event of a kind.
pub fn first_of<'a>(events: &'a [Value], kind: &str) -> &'a Value {
    events.iter().find(|e| e["__typename"] == kind).unwrap_or_else(|| panic!("no {kind} in {events:?}"))
}

/// The seqs of a list of events.
pub fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().expect("seq")).collect()
}

impl TestApp {
    /// The local backend's directory of a sandbox.
    pub fn sandbox_dir(&self, sandbox_id: &str) -> PathBuf {
        let id = uuid::Uuid::parse_str(sandbox_id).expect("uuid");
        self.data_path().join("sandboxes").join(id.simple().to_string())
    }

    /// What the stand-in claude recorded for each invocation in a sandbox.
    pub fn standin_calls(&self, sandbox_id: &str) -> Vec<Value> {
        let path = self.sandbox_dir(sandbox_id).join("disk/home/standin-calls.jsonl");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
    }

    /// Waits until the sandbox has no active run.
    pub async fn wait_idle(&self, token: &str, sandbox_id: &str) {
        let q = "query($id: ID!) { sandbox(id: $id) { activeRun { id } } }";
        for _ in 0..400 {
            let data = self.ok(token, q, serde_json::json!({"id": sandbox_id})).await;
            if data["sandbox"]["activeRun"].is_null() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("sandbox {sandbox_id} still busy");
    }

    /// Starts a run over HTTP and returns its id.
    pub async fn start_run(&self, token: &str, sandbox_id: &str, prompt: &str) -> String {
        let data = self
            .ok(
                token,
                "mutation($s: ID!, $p: String!) { startRun(input: {sandboxId: $s, prompt: $p}) { id status } }",
                serde_json::json!({"s": sandbox_id, "p": prompt}),
            )
            .await;
        data["startRun"]["id"].as_str().expect("run id").to_string()
    }
}
