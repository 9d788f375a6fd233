//! Documents built to make analysis explode (fragments that spread the next one twice,
//! and the other shapes of the abuse corpus) are refused at once on every transport —
//! HTTP POST and GET, batches, graphql-ws, graphql-sse, persisted queries — with and
//! without a token, while documents that use fragments a lot (GraphQL tools' standard
//! introspection query) pass whole.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{
    DbKind, TestApp,
    abuse_documents::{corpus, doubling},
    ws::WsClient,
};

/// A refusal, not a hang: far above the milliseconds it takes, far below a hang.
const LOOSE: Duration = Duration::from_secs(2);

/// The start of a body, for assertion messages (some answers are big).
fn head(body: &Value) -> String {
    body.to_string().chars().take(600).collect()
}

fn reason(body: &Value) -> String {
    body["errors"][0]["extensions"]["reason"].as_str().unwrap_or("<none>").to_string()
}

async fn refused_over_http(app: &TestApp, token: Option<&str>, doc: &str) -> Value {
    let started = Instant::now();
    let (status, body) = app.post(token, doc, json!({})).await;
    assert!(started.elapsed() < LOOSE, "took {:?}", started.elapsed());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{}", head(&body));
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shape_of_the_corpus_is_refused_with_its_reason_with_and_without_a_token() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("mallory").await;
    for (name, doc, expected) in corpus() {
        for t in [Some(token.as_str()), None] {
            let body = refused_over_http(&app, t, &doc).await;
            assert_eq!(reason(&body), expected, "{name} (token: {}): {}", t.is_some(), head(&body));
        }
    }
    // Within the bounds but invalid everywhere: the errors are capped, not one per field.
    let conflicting: String =
        (0..2_000).map(|i| format!("id: name{} ", if i % 2 == 0 { "" } else { "(x: 1)" })).collect();
    let body = refused_over_http(&app, Some(&token), &format!("{{ viewer {{ {conflicting} }} }}")).await;
    let errors = body["errors"].as_array().unwrap();
    assert!(errors.len() <= 101, "{} errors", errors.len());
    assert!(errors.last().unwrap()["message"].as_str().unwrap().contains("more errors"), "{}", head(&body));
    app.ok(&token, "{ viewer { id } }", json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_31_fragment_document_is_refused_on_every_transport() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("mallory").await;
    let doc = format!("query {{ viewer {{ ...F0 }} }}\n{}", doubling(31, 2, "Account", "id"));

    // GET, with and without a token.
    for t in [Some(&token), None] {
        let mut url = reqwest::Url::parse(&app.url()).unwrap();
        url.query_pairs_mut().append_pair("query", &doc);
        let mut req = app.http.get(url);
        if let Some(t) = t {
            req = req.bearer_auth(t);
        }
        let started = Instant::now();
        let body: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(started.elapsed() < LOOSE);
        assert_eq!(reason(&body), "DOCUMENT_TOO_LARGE", "{body}");
    }
    // A batch: the bad one refused, the good one answered.
    let batch = json!([{"query": doc}, {"query": "{ viewer { name } }"}]);
    let body: Value =
        app.http.post(app.url()).bearer_auth(&token).json(&batch).send().await.unwrap().json().await.unwrap();
    assert_eq!(reason(&body[0]), "DOCUMENT_TOO_LARGE", "{body}");
    assert_eq!(body[1]["data"]["viewer"]["name"], "mallory");
    // APQ: registering the hash with the text is refused the same way; the hash alone
    // then is unknown (nothing was remembered as runnable).
    let hash = hex::encode(Sha256::digest(doc.as_bytes()));
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let body: Value = app
        .http
        .post(app.url())
        .json(&json!({"query": doc, "extensions": ext}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reason(&body), "DOCUMENT_TOO_LARGE", "{body}");
    // graphql-ws.
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.expect("ack");
    let started = Instant::now();
    ws.subscribe("1", &doc, json!({})).await;
    let frame = ws.next_raw().await.expect("a frame").expect("not closed");
    assert!(started.elapsed() < LOOSE);
    let payload =
        if frame["type"] == "error" { frame["payload"][0].clone() } else { frame["payload"]["errors"][0].clone() };
    assert_eq!(payload["extensions"]["reason"], "DOCUMENT_TOO_LARGE", "{frame}");
    // graphql-sse (distinct connections mode).
    let started = Instant::now();
    let text = app
        .http
        .post(format!("http://{}/graphql/stream", app.addr))
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .json(&json!({"query": doc}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(started.elapsed() < LOOSE);
    assert!(text.contains("DOCUMENT_TOO_LARGE"), "{text}");
    app.ok(&token, "{ viewer { id } }", json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standard_introspection_query_passes_whole() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("tools").await;
    let q = include_str!("../fixtures/introspection-all-options.graphql");
    for t in [Some(token.as_str()), None] {
        let (_, body) = app.post(t, q, json!({})).await;
        assert!(body.get("errors").is_none(), "{body}");
        let types = body["data"]["__schema"]["types"].as_array().unwrap();
        assert!(types.iter().any(|t| t["name"] == "Sandbox"));
        assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    }
    // A query as deep as introspection's TypeRef, but over data, is still refused.
    let deep = format!("{{ viewer {} id {} }}", "sandboxes { nodes { ".repeat(6), "} } ".repeat(6));
    let body = refused_over_http(&app, Some(&token), &deep).await;
    assert_eq!(reason(&body), "QUERY_TOO_DEEP", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_can_be_switched_off() {
    let app = TestApp::spawn_with(DbKind::Sqlite, |c| c.http.no_introspection = true, None).await;
    let (_, token) = app.new_user("prod").await;
    let (_, body) = app.post(Some(&token), "{ __schema { queryType { name } } }", json!({})).await;
    assert!(body["data"]["__schema"].is_null() || body.get("errors").is_some(), "{body}");
    assert_eq!(app.ok(&token, "{ viewer { name } }", json!({})).await["viewer"]["name"], "prod");
}
