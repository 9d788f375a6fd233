use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;

fn lines(steps: &[Step]) -> Vec<Value> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Write(b) => {
                assert_eq!(b.last(), Some(&b'\n'), "one JSON object per line");
                Some(serde_json::from_slice(b).unwrap())
            }
            _ => None,
        })
        .collect()
}

fn message(text: &str) -> Input {
    Input { kind: InputKind::Message, text: Some(text.into()) }
}

fn kind(k: InputKind) -> Input {
    Input { kind: k, text: None }
}

#[test]
fn the_prompt_is_a_stream_json_user_message() {
    let mut c = Conversation::new(false);
    let l = lines(&c.start("hi \"there\"\nsecond line"));
    assert_eq!(l[0]["type"], "user");
    assert_eq!(l[0]["message"]["role"], "user");
    assert_eq!(l[0]["message"]["content"], "hi \"there\"\nsecond line");
}

#[test]
fn a_one_shot_conversation_closes_after_its_result() {
    let mut c = Conversation::new(false);
    c.start("p");
    assert_eq!(c.on_result(Instant::now()), vec![Step::Close]);
    assert!(c.closed());
    assert!(c.on_input(message("late")).is_empty(), "nothing is written after close");
}

#[test]
fn messages_during_a_turn_wait_for_its_result() {
    let mut c = Conversation::new(true);
    c.start("p");
    assert!(c.on_input(message("one")).is_empty());
    assert!(c.on_input(message("two")).is_empty());
    let steps = c.on_result(Instant::now());
    assert_eq!(lines(&steps)[0]["message"]["content"], "one");
    assert!(steps.contains(&Step::Emit(EventBody::UserMessage { text: "one".into() })));
    assert_eq!(lines(&c.on_result(Instant::now()))[0]["message"]["content"], "two");
    assert!(c.on_result(Instant::now()).is_empty(), "interactive: waits for more");
    assert_eq!(lines(&c.on_input(message("three")))[0]["message"]["content"], "three", "idle: sent at once");
}

#[test]
fn interrupts_only_apply_to_a_turn_in_progress() {
    let mut c = Conversation::new(true);
    c.start("p");
    let l = lines(&c.on_input(kind(InputKind::Interrupt)));
    assert_eq!(l[0]["type"], "control_request");
    assert_eq!(l[0]["request"]["subtype"], "interrupt");
    c.on_result(Instant::now());
    assert!(c.last_turn_interrupted());
    assert!(c.on_input(kind(InputKind::Interrupt)).is_empty(), "no turn, nothing to stop");
    c.on_input(message("next"));
    assert!(!c.last_turn_interrupted());
}

#[test]
fn end_waits_for_the_turn_and_idle_ends_an_interactive_run() {
    let mut c = Conversation::new(true);
    c.start("p");
    assert!(c.on_input(kind(InputKind::End)).is_empty(), "the turn finishes first");
    assert_eq!(c.on_result(Instant::now()), vec![Step::Close]);

    let mut c = Conversation::new(true);
    c.start("p");
    let t = Instant::now();
    c.on_result(t);
    assert!(!c.idle_expired(t + Duration::from_millis(500), Duration::from_secs(1)));
    assert!(c.idle_expired(t + Duration::from_secs(2), Duration::from_secs(1)));
}

#[test]
fn permission_answers_are_written_once_and_deadlines_expire() {
    let mut c = Conversation::new(false);
    c.start("p");
    let t = Instant::now();
    c.on_asked("r1", t + Duration::from_secs(5));
    c.on_asked("r2", t + Duration::from_secs(1));
    assert_eq!(c.expired(t + Duration::from_secs(2)), vec!["r2".to_string()]);
    let allow = Answer { status: PermissionStatus::Allowed, by: None, message: None, updated_input: None };
    let steps = c.on_answer("r1", &allow);
    let l = lines(&steps);
    assert_eq!(l[0]["type"], "control_response");
    assert_eq!(l[0]["response"]["request_id"], "r1");
    assert_eq!(l[0]["response"]["response"]["behavior"], "allow");
    assert!(l[0]["response"]["response"]["updatedInput"].is_object(), "required by the CLI");
    assert!(c.on_answer("r1", &allow).is_empty(), "answered once");
    let deny =
        Answer { status: PermissionStatus::TimedOut, by: None, message: Some("too slow".into()), updated_input: None };
    let steps = c.on_answer("r2", &deny);
    let l = lines(&steps);
    assert_eq!(l[0]["response"]["response"]["behavior"], "deny");
    assert_eq!(l[0]["response"]["response"]["message"], "too slow");
    assert!(steps.iter().any(|s| matches!(s, Step::Emit(EventBody::PermissionAnswered { decided_by, allow: false, .. }) if decided_by == "TIMEOUT")));
    c.on_asked("r3", t);
    assert!(c.on_withdrawn("r3"));
    assert!(c.on_answer("r3", &allow).is_empty(), "no answer for a withdrawn request");
}

#[test]
fn unsupported_requests_get_an_error_reply() {
    let v: Value = serde_json::from_slice(&unsupported_reply("h1", "hook_callback")).unwrap();
    assert_eq!(v["response"]["subtype"], "error");
    assert_eq!(v["response"]["request_id"], "h1");
}
