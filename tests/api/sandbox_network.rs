//! A sandbox's commands share one network: a server started with `startProcess` is
//! reachable from Claude's commands in the same sandbox, not from another sandbox, and
//! two sandboxes may each listen on the same port. The namespace still reaches nothing
//! outside but the gateway (`jail_network`, `terminal_network`).

use std::time::Duration;

use crate::{
    bounds::sh,
    helpers::{DbKind, TestApp},
};

/// Fetches `/hello.txt` from port 8123 of the sandbox's loopback, from inside it.
const FETCH: &str = "python3 -c 'import urllib.request as u\ntry:\n    print(u.urlopen(\"http://127.0.0.1:8123/hello.txt\", timeout=5).read().decode())\nexcept Exception as e:\n    print(\"failed\", type(e).__name__)'";

async fn serve(app: &TestApp, token: &str, sb: &str, text: &str) {
    app.write_file(token, sb, "hello.txt", text).await;
    app.start_process(token, sb, &["python3", "-m", "http.server", "8123", "--bind", "127.0.0.1"]).await;
}

async fn fetch_until(app: &TestApp, token: &str, sb: &str, want: &str) -> String {
    let mut said = String::new();
    for _ in 0..20 {
        said = sh(app, token, sb, FETCH).await["stdout"].as_str().unwrap_or_default().to_string();
        if said.contains(want) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    said
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_port_is_reachable_in_its_sandbox_only() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("net").await;
    let (_, neighbour) = app.new_user("neighbour").await;
    let a = app.create_sandbox(&token, "a").await;
    let b = app.create_sandbox(&neighbour, "b").await;
    serve(&app, &token, &a, "from-a").await;
    assert!(fetch_until(&app, &token, &a, "from-a").await.contains("from-a"), "Claude's command reaches the server");
    let from_b = sh(&app, &neighbour, &b, FETCH).await;
    assert!(from_b["stdout"].as_str().unwrap().contains("failed"), "another sandbox does not: {from_b}");
    // The same port in the other sandbox is its own.
    serve(&app, &neighbour, &b, "from-b").await;
    assert!(fetch_until(&app, &neighbour, &b, "from-b").await.contains("from-b"));
    assert!(fetch_until(&app, &token, &a, "from-a").await.contains("from-a"));
}
