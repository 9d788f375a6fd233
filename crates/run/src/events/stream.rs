//! `stream_event` lines (`--include-partial-messages`): the Messages API's own stream
//! events as Claude Code relays them, each mapped to a typed event so clients never parse
//! raw JSON: message start (with usage), content blocks starting (a tool call's id and
//! name as soon as it begins) and stopping, text, thinking and tool-input deltas, the stop
//! reason with usage, and message stop. A signature delta carries nothing a client can
//! use and yields no event; an unknown stream event stays raw.

use serde_json::Value;

use super::{EventBody, Parsed, parse::str_field};

fn index(ev: &Value) -> i64 {
    ev.get("index").and_then(Value::as_i64).unwrap_or(0)
}

fn delta(ev: &Value) -> Option<Vec<EventBody>> {
    let d = ev.get("delta")?;
    let i = index(ev);
    Some(match d.get("type")?.as_str()? {
        "text_delta" => vec![EventBody::TextDelta { text: str_field(d, "text")?, index: i }],
        "input_json_delta" => vec![EventBody::ToolInputDelta { index: i, partial_json: str_field(d, "partial_json")? }],
        "thinking_delta" => vec![EventBody::ThinkingDelta { index: i, thinking: str_field(d, "thinking")? }],
        "signature_delta" => vec![],
        _ => return None,
    })
}

/// The events of one `stream_event` line; None when it is not a known stream event.
pub(super) fn stream_event(v: &Value) -> Option<Vec<Parsed>> {
    let ev = v.get("event")?;
    let events = match ev.get("type")?.as_str()? {
        "message_start" => {
            let m = ev.get("message")?;
            vec![EventBody::MessageStarted {
                message_id: str_field(m, "id").unwrap_or_default(),
                model: str_field(m, "model"),
                usage: m.get("usage").cloned(),
            }]
        }
        "content_block_start" => {
            let b = ev.get("content_block")?;
            vec![EventBody::ContentBlockStarted {
                index: index(ev),
                block_type: str_field(b, "type")?,
                tool_use_id: str_field(b, "id"),
                name: str_field(b, "name"),
            }]
        }
        "content_block_delta" => delta(ev)?,
        "content_block_stop" => vec![EventBody::ContentBlockStopped { index: index(ev) }],
        "message_delta" => vec![EventBody::MessageDelta {
            stop_reason: ev.get("delta").and_then(|d| str_field(d, "stop_reason")),
            usage: ev.get("usage").cloned(),
        }],
        "message_stop" => vec![EventBody::MessageStopped { stopped: true }],
        _ => return None,
    };
    Some(events.into_iter().map(Parsed::Event).collect())
}
