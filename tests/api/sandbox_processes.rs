//! Users' processes and terminals in a local sandbox, at the backend: a real shell in the
//! jail on a pty answers `echo $((6*7))`, follows a resize (`tput cols`) and exits with
//! its status; a signal reaches a process's whole tree (`sh -c 'sleep 1000 & sleep
//! 1000'` leaves nothing behind); output comes through a pipe in order without a
//! terminal; the sandbox's stop ends them all.

use std::time::Duration;

use sandboxql::backend::{
    ExternalId,
    files::WorkspacePath,
    process::{ProcessControl, ProcessHandle, ProcessRequest, TtySize},
};
use serde_json::json;

use crate::helpers::{DbKind, TestApp, process::eventually};

async fn sandbox(app: &TestApp, name: &str) -> ExternalId {
    let (_, token) = app.new_user(name).await;
    let sb = app.create_sandbox(&token, name).await;
    let q = "query($id: ID!) { sandbox(id: $id) { externalId } }";
    let v = app.ok(&token, q, json!({"id": sb})).await;
    ExternalId::from(v["sandbox"]["externalId"].as_str().unwrap())
}

fn request(argv: &[&str], tty: Option<TtySize>) -> ProcessRequest {
    ProcessRequest {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        cwd: WorkspacePath::root(),
        tty,
        nice: 0,
    }
}

/// Output read until `want` appears in it (or 10 s pass).
async fn read_until(h: &mut ProcessHandle, seen: &mut String, want: &str) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(want) {
        match tokio::time::timeout_at(deadline, h.output.recv()).await {
            Ok(Some(bytes)) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            _ => return false,
        }
    }
    true
}

/// Pids of `sleep {marker}` processes.
fn running(marker: &str) -> Vec<String> {
    let want = format!("sleep\0{marker}\0");
    let Ok(dir) = std::fs::read_dir("/proc") else { return vec![] };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| c.ends_with(want.as_bytes()) && c.split(|b| *b == 0).next() == Some(b"sleep"))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_on_a_pty_in_the_jail_computes_resizes_and_exits_with_its_status() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let id = sandbox(&app, "tty").await;
    let procs = app.services.backend.processes().expect("the local backend has processes");
    let size = TtySize { cols: 80, rows: 24 };
    let mut h = procs.start_process(&id, request(&["bash", "--norc", "-i"], Some(size))).await.unwrap();
    let input = h.input.clone().expect("a terminal takes input");
    let mut seen = String::new();
    input.send(b"echo $((6*7))\n".to_vec()).await.unwrap();
    assert!(read_until(&mut h, &mut seen, "42\r\n").await, "no 42 in {seen:?}");
    // It is a terminal, in the jail, as the sandbox's uid.
    input.send(b"tty; pwd; id -u\n".to_vec()).await.unwrap();
    assert!(read_until(&mut h, &mut seen, "/mnt/workspace").await, "{seen:?}");
    assert!(!seen.contains("not a tty"), "{seen:?}");
    h.control.send(ProcessControl::Resize(TtySize { cols: 123, rows: 40 })).await.unwrap();
    input.send(b"tput cols\n".to_vec()).await.unwrap();
    assert!(read_until(&mut h, &mut seen, "123\r\n").await, "no new width in {seen:?}");
    input.send(b"exit 7\n".to_vec()).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(10), h.exit).await.expect("it exits").unwrap();
    assert_eq!(exit.code, Some(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_reaches_the_whole_tree_and_output_comes_in_order_without_a_terminal() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let id = sandbox(&app, "tree").await;
    let procs = app.services.backend.processes().unwrap();
    let marker = "1000.4242";
    let script = format!("sleep {marker} & sleep {marker} & echo started; echo oops >&2; wait");
    let mut h = procs.start_process(&id, request(&["sh", "-c", &script], None)).await.unwrap();
    assert!(h.input.is_none(), "no terminal, no input");
    let mut seen = String::new();
    assert!(read_until(&mut h, &mut seen, "oops\n").await, "{seen:?}");
    assert_eq!(seen, "started\noops\n", "stdout and stderr in one stream, in order");
    assert!(eventually(5, || running(marker).len() == 2).await, "both sleeps run");
    h.control.send(ProcessControl::Signal(libc::SIGTERM)).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(10), h.exit).await.expect("it ends").unwrap();
    assert_eq!(exit.code, Some(128 + libc::SIGTERM), "ended by TERM, reported as the jail reports it");
    assert!(eventually(5, || running(marker).is_empty()).await, "children left: {:?}", running(marker));

    // The sandbox's stop ends what still runs.
    let mut h = procs.start_process(&id, request(&["sleep", marker], None)).await.unwrap();
    assert!(eventually(5, || running(marker).len() == 1).await);
    app.services.backend.terminate(&id).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(10), &mut h.exit).await.expect("stopped");
    assert!(exit.is_ok());
    assert!(eventually(5, || running(marker).is_empty()).await);
    assert!(procs.start_process(&id, request(&["true"], None)).await.is_err(), "none starts in a stopped sandbox");
}
