//! Terminals over `/terminal/{id}`: a real shell in the jail answers `echo $((6*7))`,
//! follows a resize, and `exit` ends it with its status; a client that drops during
//! `seq 1 200000` and reattaches gets an explicit cut, then the kept scrollback and live
//! output with nothing lost in between; another account (and a bad token) is refused with
//! the documented close codes; a read-only token watches but cannot type.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::helpers::{DbKind, TestApp, process::eventually};

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) const OPEN: &str = "mutation($s: ID!, $c: [String!]) { openTerminal(sandboxId: $s, cols: 80, rows: 24, command: $c) { id status cols rows } }";

pub(crate) async fn attach(app: &TestApp, id: &str, token: &str, from: u64) -> Socket {
    let mut req = format!("ws://{}/terminal/{id}", app.addr).into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sandboxql.terminal"));
    let (mut ws, _) = connect_async(req).await.expect("connect");
    let first = json!({"authorization": format!("Bearer {token}"), "from": from});
    ws.send(Message::Text(first.to_string().into())).await.unwrap();
    ws
}

/// What came: bytes of output, control messages, and the close code if it closed.
#[derive(Default, Debug)]
pub(crate) struct Seen {
    pub(crate) bytes: Vec<u8>,
    /// Output and cuts in arrival order (Err: a cut of that many bytes).
    pub(crate) order: Vec<Result<Vec<u8>, u64>>,
    pub(crate) control: Vec<Value>,
    pub(crate) closed: Option<u16>,
}

impl Seen {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

pub(crate) async fn read_until(ws: &mut Socket, seen: &mut Seen, done: impl Fn(&Seen) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(seen) {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => {
                seen.bytes.extend_from_slice(&b);
                seen.order.push(Ok(b.to_vec()));
            }
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "cut" {
                    seen.order.push(Err(v["bytes"].as_u64().unwrap()));
                }
                seen.control.push(v);
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                seen.closed = Some(frame.map(|f| u16::from(f.code)).unwrap_or(1005));
                return;
            }
            Ok(Some(Ok(_))) => {}
            _ => return,
        }
    }
}

pub(crate) async fn type_in(ws: &mut Socket, s: &str) {
    ws.send(Message::Binary(s.as_bytes().to_vec().into())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_over_the_websocket_computes_resizes_and_exits() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (account, token) = app.new_user("term").await;
    let sb = app.create_sandbox(&token, "term").await;
    let t = app.ok(&token, OPEN, json!({"s": sb, "c": ["bash", "--norc", "-i"]})).await["openTerminal"].clone();
    assert_eq!((t["status"].as_str(), t["cols"].as_i64()), (Some("RUNNING"), Some(80)));
    let id = t["id"].as_str().unwrap().to_string();
    let listed = app.ok(&token, "query($s: ID!) { sandbox(id: $s) { terminals { id } } }", json!({"s": sb})).await;
    assert_eq!(listed["sandbox"]["terminals"][0]["id"], id.as_str());

    let mut ws = attach(&app, &id, &token, 0).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, |s| !s.control.is_empty()).await;
    assert_eq!(seen.control[0]["type"], "ready", "{seen:?}");
    type_in(&mut ws, "echo $((6*7))\n").await;
    read_until(&mut ws, &mut seen, |s| s.text().contains("42\r\n")).await;
    assert!(seen.text().contains("42\r\n"), "{}", seen.text());
    let resize = json!({"type": "resize", "cols": 132, "rows": 40});
    ws.send(Message::Text(resize.to_string().into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    type_in(&mut ws, "tput cols\n").await;
    read_until(&mut ws, &mut seen, |s| s.text().contains("132\r\n")).await;
    assert!(seen.text().contains("132\r\n"), "{}", seen.text());

    // Others: a bad token 4401, another account 4404, a read-only token watches only.
    let mut bad = attach(&app, &id, "nope", 0).await;
    let mut s = Seen::default();
    read_until(&mut bad, &mut s, |_| false).await;
    assert_eq!(s.closed, Some(4401));
    let (_, other) = app.new_user("other").await;
    let mut theirs = attach(&app, &id, &other, 0).await;
    let mut s = Seen::default();
    read_until(&mut theirs, &mut s, |_| false).await;
    assert_eq!(s.closed, Some(4404));
    let (code, _) =
        app.err(Some(&other), "mutation($id: ID!) { closeTerminal(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(code, "NOT_FOUND");
    let q = "mutation($a: ID!) { createToken(accountId: $a, readOnly: true) { token } }";
    let ro =
        app.ok(&app.admin_token, q, json!({"a": account})).await["createToken"]["token"].as_str().unwrap().to_string();
    let mut watcher = attach(&app, &id, &ro, 0).await;
    let mut w = Seen::default();
    read_until(&mut watcher, &mut w, |s| s.text().contains("132\r\n")).await;
    assert_eq!(w.control[0]["readOnly"], true);
    type_in(&mut watcher, "touch /mnt/workspace/typed-by-reader\n").await;
    read_until(&mut watcher, &mut w, |s| s.control.iter().any(|c| c["type"] == "error")).await;
    assert!(w.control.iter().any(|c| c["code"] == "FORBIDDEN"), "{w:?}");

    type_in(&mut ws, "exit 3\n").await;
    read_until(&mut ws, &mut seen, |s| s.closed.is_some()).await;
    let exit = seen.control.iter().find(|c| c["type"] == "exit").expect("an exit message");
    assert_eq!(exit["code"], 3);
    assert_eq!(seen.closed, Some(1000));
    assert!(!app.sandbox_dir(&sb).join("disk/workspace/typed-by-reader").exists(), "the reader typed nothing");
    let t =
        app.ok(&token, "query($s: ID!) { sandbox(id: $s) { terminals { status exitCode } } }", json!({"s": sb})).await;
    assert_eq!(t["sandbox"]["terminals"][0]["status"], "EXITED");
    assert_eq!(t["sandbox"]["terminals"][0]["exitCode"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reattaches_gets_a_cut_then_the_scrollback_and_live_output_without_a_gap() {
    let app =
        TestApp::spawn_with(DbKind::Sqlite, |c| c.limits.processes.terminal_scrollback_bytes = 64 * 1024, None).await;
    let (_, token) = app.new_user("seq").await;
    let sb = app.create_sandbox(&token, "seq").await;
    let script = "sleep 0.5; seq 1 200000; touch seq-done; sleep 1; echo done-$((40+2))";
    let t = app.ok(&token, OPEN, json!({"s": sb, "c": ["sh", "-c", script]})).await["openTerminal"].clone();
    let id = t["id"].as_str().unwrap().to_string();
    // Watch the start, then drop the websocket while seq runs.
    let mut ws = attach(&app, &id, &token, 0).await;
    let mut first = Seen::default();
    read_until(&mut ws, &mut first, |s| s.bytes.len() > 1000).await;
    drop(ws);
    // Reattach once seq is through: far more than the scrollback came meanwhile.
    let done = app.sandbox_dir(&sb).join("disk/workspace/seq-done");
    assert!(eventually(30, || done.exists()).await, "seq ended");
    let mut ws = attach(&app, &id, &token, first.bytes.len() as u64).await;
    let mut again = Seen::default();
    read_until(&mut ws, &mut again, |s| s.closed.is_some()).await;
    assert_eq!(again.control[0]["type"], "ready");
    assert!(matches!(again.order.first(), Some(Err(n)) if *n > 0), "an explicit cut before the scrollback");
    // A pty turns each \n into \r\n. Every byte that came is where the expected output
    // has it, counting the cuts (another comes if this client falls behind the shell).
    let expected: String = (1..=200_000).map(|i| format!("{i}\r\n")).collect::<String>() + "done-42\r\n";
    let expected = expected.as_bytes();
    assert_eq!(first.bytes, expected[..first.bytes.len()], "the first attachment saw the start");
    let mut at = first.bytes.len();
    for piece in &again.order {
        match piece {
            Err(cut) => at += *cut as usize,
            Ok(bytes) => {
                assert!(bytes[..] == expected[at..at + bytes.len()], "bytes at {at} are not the output's");
                at += bytes.len();
            }
        }
    }
    assert_eq!(at, expected.len(), "it ends with the output's end: nothing lost but the cuts");
    assert!(again.bytes.len() >= 60 * 1024, "the kept scrollback came whole");
    assert_eq!(again.control.iter().find(|c| c["type"] == "exit").unwrap()["code"], 0);
}
