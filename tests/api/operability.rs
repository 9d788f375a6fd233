//! What an operator sees: Prometheus counters after a few operations, and logs that are
//! plain text (no terminal escape codes) when written to a file, or JSON when asked.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use serde_json::json;

use crate::helpers::{DbKind, TestApp, process::start_up_log, ws::WsClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_operations_by_name_and_code() {
    let secret = sandboxql::config::Secret("scrape-me".into());
    let app = TestApp::spawn_with(DbKind::Sqlite, |c| c.http.metrics_token = Some(secret), None).await;
    let (_, token) = app.new_user("mo").await;
    for _ in 0..3 {
        app.ok(&token, "query Viewer { viewer { id } }", json!({})).await;
    }
    let bad = "query Missing($id: ID!) { sandbox(id: $id) { id } }";
    app.err(Some(&token), "mutation Del($id: ID!) { deleteSandbox(id: $id) { id } }", json!({"id": "nope"})).await;
    app.ok(&token, bad, json!({"id": uuid::Uuid::now_v7().to_string()})).await;
    let _ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();

    let metrics = format!("http://{}/metrics", app.addr);
    assert_eq!(app.http.get(&metrics).send().await.unwrap().status(), 404, "not without the token");
    assert_eq!(app.http.get(&metrics).bearer_auth(&token).send().await.unwrap().status(), 404, "nor a tenant's");
    let res = app.http.get(&metrics).bearer_auth("scrape-me").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    let has = |needle: &str| text.lines().any(|l| l == needle);
    assert!(has("sandboxql_graphql_operations_total{code=\"OK\",operation=\"Viewer\"} 3"), "{text}");
    assert!(has("sandboxql_graphql_operations_total{code=\"OK\",operation=\"Missing\"} 1"), "{text}");
    assert!(has("sandboxql_graphql_operations_total{code=\"BAD_USER_INPUT\",operation=\"Del\"} 1"), "{text}");
    assert!(has("sandboxql_graphql_duration_seconds_count{operation=\"Viewer\"} 3"), "{text}");
    assert!(has("sandboxql_websockets_open 1"), "{text}");
    for family in ["sandboxql_runs_active", "sandboxql_run_events_stored_total", "sandboxql_sync_bytes_total"] {
        assert!(text.contains(&format!("# TYPE {family}")), "{family} missing: {text}");
    }
}

#[test]
fn logs_to_a_file_carry_no_escape_codes_and_json_is_json() {
    let text = start_up_log(&[]);
    assert!(text.contains("listening"), "{text}");
    assert!(!text.contains('\u{1b}'), "escape codes in a log file: {text:?}");
    let json = start_up_log(&["--log-format", "json"]);
    let lines: Vec<&str> = json.lines().collect();
    assert!(!lines.is_empty());
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{line}");
    }
}

/// With `--otlp-endpoint`, each GraphQL operation becomes a span exported over OTLP/HTTP
/// (protobuf) to the collector, named for the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_go_to_the_otlp_collector() {
    use std::sync::{Arc, Mutex};
    /// What the collector received: content type and body of each export.
    type Exports = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let seen: Exports = Arc::default();
    let record = seen.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let record = record.clone();
            async move {
                let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                record.lock().unwrap().push((ct, body.to_vec()));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandboxql"))
        .args(["serve", "--listen", "127.0.0.1:0", "--otlp-endpoint", &endpoint])
        .current_dir(data.path())
        .env_remove("DATABASE_URL")
        .env_remove("SANDBOXQL_DATA_DIR")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("SANDBOXQL_SANDBOX_BOUNDS", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
    let token = lines.by_ref().find_map(|l| l.strip_prefix("admin token: ").map(str::to_string)).unwrap();
    let addr = lines
        .find_map(|l| {
            l.strip_prefix("sandboxql listening on http://").map(|r| r.split(' ').next().unwrap().to_string())
        })
        .unwrap();
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": "query Traced { viewer { id } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["data"]["viewer"]["id"].is_string(), "{body}");
    let mut found = false;
    for _ in 0..100 {
        found = seen.lock().unwrap().iter().any(|(_, b)| b.windows(6).any(|w| w == b"Traced"));
        if found {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "no span for the operation reached the collector");
    let got = seen.lock().unwrap();
    assert!(
        got.iter().all(|(ct, _)| ct == "application/x-protobuf"),
        "{:?}",
        got.iter().map(|g| &g.0).collect::<Vec<_>>()
    );
    assert!(got.iter().any(|(_, b)| b.windows(9).any(|w| w == b"sandboxql")), "service name");
}
