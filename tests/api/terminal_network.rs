//! From a terminal, the sandbox's network is what Claude's is: the metadata address, the
//! server's Postgres and the S3 endpoint are unreachable (the same targets as the jail
//! network test), and no operator key is in its environment.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::helpers::{DbKind, TestApp, s3};

const OPERATOR_KEY: &str = "sk-ant-operator-terminal-77e1";

const PROBE: &str = r#"
import socket, sys
for t in sys.argv[1:]:
    host, port = t.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close(); print("PROBE", t, "open")
    except Exception as e:
        print("PROBE", t, "failed")
print("PROBE-DONE")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_reaches_no_database_store_or_metadata_and_holds_no_operator_key() {
    let moto = s3::start_moto().await;
    let endpoint = moto.endpoint.clone();
    let app = TestApp::spawn_with(
        DbKind::Postgres,
        |c| {
            c.gateway.anthropic_api_key = Some(sandboxql::config::Secret(OPERATOR_KEY.into()));
            s3::use_s3(c, &endpoint);
        },
        None,
    )
    .await;
    let targets = ["169.254.169.254:80".to_string(), "127.0.0.1:5432".into(), format!("127.0.0.1:{}", moto.port)];
    // Control: from the test's own network they are there.
    assert!(std::net::TcpStream::connect("127.0.0.1:5432").is_ok(), "Postgres is up");
    assert!(std::net::TcpStream::connect(format!("127.0.0.1:{}", moto.port)).is_ok(), "S3 is up");
    let (_, token) = app.new_user("net").await;
    let sb = app.create_sandbox(&token, "net").await;
    let mut command = vec!["sh".to_string(), "-c".into(), "env; python3 -c \"$0\" \"$@\"".into(), PROBE.into()];
    command.extend(targets.iter().cloned());
    let q = "mutation($s: ID!, $c: [String!]) { openTerminal(sandboxId: $s, command: $c) { id } }";
    let id =
        app.ok(&token, q, json!({"s": sb, "c": command})).await["openTerminal"]["id"].as_str().unwrap().to_string();

    let mut req = format!("ws://{}/terminal/{id}", app.addr).into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sandboxql.terminal"));
    let (mut ws, _) = connect_async(req).await.unwrap();
    ws.send(Message::Text(json!({"authorization": format!("Bearer {token}")}).to_string().into())).await.unwrap();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&out).contains("PROBE-DONE") {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => out.extend_from_slice(&b),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Err(_) => break,
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(text.contains("PROBE-DONE"), "{text}");
    for t in &targets {
        assert!(text.contains(&format!("PROBE {t} failed")), "{t} reachable from a terminal: {text}");
    }
    assert!(!text.contains(OPERATOR_KEY), "the operator key is visible in a terminal");
    assert!(!text.contains("ANTHROPIC_API_KEY") && !text.contains("DATABASE_URL"), "{text}");
    assert!(!text.contains("AWS_"), "no storage credential: {text}");
}
