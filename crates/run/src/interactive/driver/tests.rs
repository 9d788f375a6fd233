//! The conversation's side of keeping Claude for the next run.

use std::sync::Arc;

use super::*;
use crate::hub::RunHub;

fn talk(keep_process: bool) -> (Talk, mpsc::Receiver<Vec<u8>>, EventWriter) {
    let (tx, rx) = mpsc::channel(8);
    let limits = TalkLimits {
        permission_timeout: Duration::from_secs(60),
        idle: Duration::from_secs(60),
        max_pending: 4,
        hold_at_turn_end: false,
        keep_process,
    };
    let w = EventWriter::new(Default::default(), Arc::new(RunHub::new(16)), uuid::Uuid::nil(), 1, false);
    (Talk::start("hi", tx, false, false, limits), rx, w)
}

fn result(is_error: bool) -> ClaudeResult {
    ClaudeResult { is_error, ..Default::default() }
}

#[test]
fn a_run_that_ended_well_keeps_claude_s_input_open_for_the_next_run() {
    let (mut t, mut rx, mut w) = talk(true);
    assert!(rx.try_recv().is_ok(), "the prompt went to claude");
    t.on_result(&result(false), &mut w);
    assert!(t.parked(), "a one-shot run that ended well parks claude");
    let kept = t.take_parked().expect("its input");
    assert!(!kept.is_closed(), "claude's input stays open");
    // An error result, or reuse off: the input closes as before.
    let (mut t, mut rx, mut w) = talk(true);
    let _ = rx.try_recv();
    t.on_result(&result(true), &mut w);
    assert!(!t.parked() && rx.try_recv().is_err());
    drop(t);
    assert!(rx.try_recv().is_err());
    let (mut t, _rx, mut w) = talk(false);
    t.on_result(&result(false), &mut w);
    assert!(!t.parked(), "not kept when reuse is off");
}
