//! Processes and terminals on Modal, through the task command router as the official
//! client starts them: a terminal is an exec with `pty_info` (its size, TERM), typing
//! reaches it through `TaskExecStdinWrite`, a resize and a signal are second execs on the
//! recorded process group and terminal; a process's output replays and TERM ends its
//! whole tree.

use std::time::Duration;

use serde_json::json;

use crate::{
    helpers::{DbKind, fake_modal::FakeModal, process::eventually},
    modal_backend::spawn,
    terminals::{OPEN, Seen, attach, read_until, type_in},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_on_modal_is_a_pty_exec_that_types_resizes_and_exits() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("modal-term").await;
    let sb = app.create_sandbox(&token, "term").await;
    let t = app.ok(&token, OPEN, json!({"s": sb, "c": ["bash", "--norc", "-i"]})).await["openTerminal"].clone();
    let id = t["id"].as_str().unwrap().to_string();
    let exec = fake.st().execs_requested.iter().rev().find(|e| e.pty_info.is_some()).cloned().expect("a pty exec");
    let pty = exec.pty_info.unwrap();
    assert!(pty.enabled && pty.winsz_cols == 80 && pty.winsz_rows == 24, "{pty:?}");
    assert!(
        exec.command_args.ends_with(&["bash".to_string(), "--norc".into(), "-i".into()]),
        "{:?}",
        exec.command_args
    );

    let mut ws = attach(&app, &id, &token, 0).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, |s| !s.control.is_empty()).await;
    type_in(&mut ws, "echo $((6*7))-on-modal\n").await;
    read_until(&mut ws, &mut seen, |s| s.text().contains("42-on-modal")).await;
    assert!(seen.text().contains("42-on-modal"), "{}", seen.text());
    let q = "mutation($id: ID!) { resizeTerminal(id: $id, cols: 123, rows: 40) { cols } }";
    app.ok(&token, q, json!({"id": id})).await;
    // The resize is a second exec: ask until it has landed.
    let mut landed = false;
    for _ in 0..20 {
        let before = seen.text().matches("size=").count();
        type_in(&mut ws, "echo size=$(stty size)/$TERM\n").await;
        read_until(&mut ws, &mut seen, |s| s.text().matches("size=").count() >= before + 2).await;
        if seen.text().contains("size=40 123/xterm-256color") {
            landed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(landed, "the resize reached the terminal, TERM is set: {}", seen.text());
    type_in(&mut ws, "exit 5\n").await;
    read_until(&mut ws, &mut seen, |s| s.closed.is_some()).await;
    assert_eq!(seen.control.iter().find(|c| c["type"] == "exit").map(|c| c["code"].clone()), Some(json!(5)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_on_modal_replays_its_output_and_term_ends_its_tree() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("modal-proc").await;
    let sb = app.create_sandbox(&token, "proc").await;
    let start =
        "mutation($s: ID!, $argv: [String!]!) { startProcess(input: {sandboxId: $s, argv: $argv}) { id status } }";
    // Distinct sleeps, so this run's children are told from any other's.
    let (a, b) = (format!("4321.{}", std::process::id()), format!("4322.{}", std::process::id()));
    let script = format!("echo started; sleep {a} & sleep {b} & wait");
    let p = app.ok(&token, start, json!({"s": sb, "argv": ["sh", "-c", script]})).await["startProcess"].clone();
    assert_eq!(p["status"], "RUNNING");
    let id = p["id"].as_str().unwrap().to_string();
    let get = "query($id: ID!) { process(id: $id) { status exitCode outputBytes } }";
    let running = |what: &str| {
        let pattern = format!("^sleep {}$", what.replace('.', "[.]"));
        let out = std::process::Command::new("pgrep").args(["-c", "-f", &pattern]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse::<u32>().unwrap_or(0)
    };
    assert!(eventually(15, || running(&a) == 1 && running(&b) == 1).await, "both children run");
    let mut bytes = 0;
    for _ in 0..50 {
        bytes = app.ok(&token, get, json!({"id": id})).await["process"]["outputBytes"].as_i64().unwrap();
        if bytes > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(bytes, "started\n".len() as i64);
    let sig = "mutation($id: ID!) { signalProcess(id: $id, signal: TERM) { id } }";
    app.ok(&token, sig, json!({"id": id})).await;
    let mut status = json!(null);
    for _ in 0..100 {
        status = app.ok(&token, get, json!({"id": id})).await["process"].clone();
        if status["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["status"], "EXITED", "{status}");
    assert!(eventually(10, || running(&a) == 0 && running(&b) == 0).await, "no child is left behind");
    // The signal went as a second exec on the recorded group.
    let st = fake.st();
    assert!(
        st.execs_requested.iter().any(|e| e.command_args.iter().any(|a| a.contains("kill -s \"$1\""))),
        "a kill exec"
    );
}
