//! The stream-json parser on real Claude Code 2.1.197 output (tests/fixtures).

use super::{Control, EventBody, Parsed, parse_line};

fn fixture(name: &str) -> Vec<Parsed> {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap().lines().flat_map(parse_line).collect()
}

fn kinds(parsed: &[Parsed]) -> Vec<&'static str> {
    parsed
        .iter()
        .map(|p| match p {
            Parsed::Event(e) => e.kind(),
            Parsed::Result(_) => "Result",
            Parsed::Control(_) => "Control",
        })
        .collect()
}

#[test]
fn tool_use_fixture_becomes_typed_events() {
    let parsed = fixture("claude-2.1.197-tool-use.jsonl");
    assert_eq!(kinds(&parsed), ["SessionStarted", "AssistantText", "ToolUse", "ToolResult", "AssistantText", "Result"]);
    let Parsed::Event(EventBody::SessionStarted { session_id, cwd, tools, .. }) = &parsed[0] else { panic!() };
    assert_eq!(session_id, "69d66009-39f7-417c-b4bc-1c31ee7d2e1c");
    assert_eq!(cwd.as_deref(), Some("/mnt/workspace"));
    assert!(tools.iter().any(|t| t == "Bash"));
    let Parsed::Event(EventBody::ToolUse { tool_use_id, name, input }) = &parsed[2] else { panic!() };
    assert_eq!((tool_use_id.as_str(), name.as_str()), ("toolu_44d4e37599f2", "Bash"));
    assert_eq!(input["command"], "ls");
    let Parsed::Event(EventBody::ToolResult { tool_use_id: r, content, is_error }) = &parsed[3] else { panic!() };
    assert_eq!((r.as_str(), content.as_str(), *is_error), ("toolu_44d4e37599f2", "README.md", false));
    let Parsed::Result(res) = &parsed[5] else { panic!() };
    assert_eq!(res.subtype.as_deref(), Some("success"));
    assert!(!res.is_error);
    assert_eq!(res.num_turns, Some(2));
    assert_eq!(res.total_cost_usd, Some(0.00168));
    assert_eq!(res.duration_ms, Some(329));
    assert_eq!(res.result.as_deref(), Some("The tool ran. All done. "));
    assert!(res.usage.as_ref().unwrap()["input_tokens"].is_number());
}

#[test]
fn resume_fixture_keeps_the_session() {
    let parsed = fixture("claude-2.1.197-resume.jsonl");
    assert_eq!(kinds(&parsed), ["SessionStarted", "AssistantText", "Result"]);
    let Parsed::Event(EventBody::SessionStarted { session_id, .. }) = &parsed[0] else { panic!() };
    assert_eq!(session_id, "69d66009-39f7-417c-b4bc-1c31ee7d2e1c");
}

#[test]
fn partial_messages_become_text_deltas_and_nothing_is_dropped() {
    let path = format!("{}/../../tests/fixtures/claude-2.1.197-partial-messages.jsonl", env!("CARGO_MANIFEST_DIR"));
    let lines = std::fs::read_to_string(path).unwrap();
    let parsed: Vec<Parsed> = lines.lines().flat_map(parse_line).collect();
    assert!(parsed.len() >= lines.lines().count(), "every line yields at least one event");
    let deltas: String = parsed
        .iter()
        .filter_map(|p| match p {
            Parsed::Event(EventBody::TextDelta { text, .. }) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, "Let me look. The tool ran. All done. ");
    let texts = kinds(&parsed).iter().filter(|k| **k == "AssistantText").count();
    assert_eq!(texts, 2, "complete texts are kept besides the deltas");
    // Every line is typed: status lines and every stream event, none left raw.
    let k = kinds(&parsed);
    assert!(!k.contains(&"RawEvent"), "{k:?}");
    for want in [
        "StatusChanged",
        "MessageStarted",
        "ContentBlockStarted",
        "ToolInputDelta",
        "ContentBlockStopped",
        "MessageDelta",
        "MessageStopped",
        "ToolUse",
        "ToolResult",
    ] {
        assert!(k.contains(&want), "{want} missing: {k:?}");
    }
    // A tool call is known (id and name) when its block starts, before its input streams.
    let started = parsed.iter().find_map(|p| match p {
        Parsed::Event(EventBody::ContentBlockStarted { block_type, tool_use_id, name, .. })
            if block_type == "tool_use" =>
        {
            Some((tool_use_id.clone(), name.clone()))
        }
        _ => None,
    });
    let (id, name) = started.expect("a tool_use block start");
    assert_eq!(name.as_deref(), Some("Bash"));
    assert!(id.is_some_and(|i| i.starts_with("toolu_")));
}

#[test]
fn no_fixture_line_stays_raw() {
    for name in
        ["claude-2.1.197-tool-use.jsonl", "claude-2.1.197-resume.jsonl", "claude-2.1.197-partial-messages.jsonl"]
    {
        let parsed = fixture(name);
        assert!(!kinds(&parsed).contains(&"RawEvent"), "{name}: {:?}", kinds(&parsed));
    }
    // An API retry is typed with its figures.
    let retry = r#"{"type":"system","subtype":"api_retry","attempt":2,"max_retries":10,"retry_delay_ms":1200,"error":"overloaded"}"#;
    assert_eq!(
        parse_line(retry),
        vec![Parsed::Event(EventBody::ApiRetry {
            attempt: Some(2),
            max_retries: Some(10),
            retry_delay_ms: Some(1200),
            error: Some("overloaded".into())
        })]
    );
}

#[test]
fn unknown_and_broken_lines_are_kept_raw() {
    for line in [
        "not json",
        "{\"type\":\"future_thing\",\"x\":1}",
        "{\"type\":\"system\",\"subtype\":\"compact_boundary\"}",
        "{\"type\":\"stream_event\",\"event\":{\"type\":\"future_event\"}}",
        "[1,2]",
        "{",
    ] {
        let parsed = parse_line(line);
        assert_eq!(parsed.len(), 1, "{line}");
        let Parsed::Event(EventBody::RawEvent { source, text, .. }) = &parsed[0] else { panic!("{line}: {parsed:?}") };
        assert_eq!((source.as_str(), text.as_str()), ("stdout", line));
    }
    // An assistant message with a known and an unknown block keeps both.
    let line = r#"{"type":"assistant","message":{"content":[{"type":"text","text":"hi"},{"type":"server_tool_use","id":"x"}]}}"#;
    let kinds: Vec<_> = parse_line(line)
        .into_iter()
        .map(|p| match p {
            Parsed::Event(e) => e.kind(),
            Parsed::Result(_) => "Result",
            Parsed::Control(_) => "Control",
        })
        .collect();
    assert_eq!(kinds, ["AssistantText", "RawEvent"]);
    // Tool results whose content is a list of blocks are flattened to text.
    let line = r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"is_error":true}]}}"#;
    assert_eq!(
        parse_line(line),
        vec![Parsed::Event(EventBody::ToolResult { tool_use_id: "t".into(), content: "a\nb".into(), is_error: true })]
    );
}

#[test]
fn control_lines_of_the_stdio_protocol_are_recognised() {
    let line = r#"{"type":"control_request","request_id":"r-1","request":{"subtype":"can_use_tool","tool_name":"Bash","display_name":"Bash","input":{"command":"rm -rf build"},"tool_use_id":"toolu_1"}}"#;
    assert_eq!(
        parse_line(line),
        vec![Parsed::Control(Control::CanUseTool {
            request_id: "r-1".into(),
            tool_name: "Bash".into(),
            tool_use_id: "toolu_1".into(),
            input: serde_json::json!({"command": "rm -rf build"}),
        })]
    );
    let hook =
        r#"{"type":"control_request","request_id":"r-2","request":{"subtype":"hook_callback","callback_id":"h"}}"#;
    assert_eq!(
        parse_line(hook),
        vec![Parsed::Control(Control::Other { request_id: "r-2".into(), subtype: "hook_callback".into() })]
    );
    let cancel = r#"{"type":"control_cancel_request","request_id":"r-1"}"#;
    assert_eq!(parse_line(cancel), vec![Parsed::Control(Control::Cancelled { request_id: "r-1".into() })]);
    let reply = r#"{"type":"control_response","response":{"subtype":"success","request_id":"sqlint_1"}}"#;
    assert_eq!(parse_line(reply), vec![Parsed::Control(Control::Response)]);
    assert!(parse_line(r#"{"type":"keep_alive"}"#).is_empty(), "keep-alives are not events");
    // A request without an id cannot be answered: kept raw, never dropped.
    let odd = r#"{"type":"control_request","request":{"subtype":"can_use_tool"}}"#;
    assert!(matches!(&parse_line(odd)[..], [Parsed::Event(EventBody::RawEvent { .. })]));
}
