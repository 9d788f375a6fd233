//! Persisted queries: Apollo's APQ round trip (unknown hash → PERSISTED_QUERY_NOT_FOUND,
//! then hash and text, then the hash alone), and trusted-documents mode, where a document
//! that is not listed is refused with UNTRUSTED_DOCUMENT on HTTP and websocket alike.

use serde_json::{Value, json};

use crate::helpers::{DbKind, TestApp, ws::WsClient};

fn sha(q: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(q.as_bytes()))
}

async fn post(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.http.post(app.url()).bearer_auth(token).json(&body).send().await.unwrap();
    res.json().await.unwrap()
}

fn pq(hash: &str) -> Value {
    json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apq_round_trip() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (id, token) = app.new_user("pat").await;
    let q = "query Me { viewer { id } }";
    let first = post(&app, &token, json!({"extensions": pq(&sha(q))})).await;
    assert_eq!(first["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND", "{first}");
    assert_eq!(first["errors"][0]["message"], "PersistedQueryNotFound");
    let register = post(&app, &token, json!({"query": q, "extensions": pq(&sha(q))})).await;
    assert_eq!(register["data"]["viewer"]["id"], id, "{register}");
    let by_hash = post(&app, &token, json!({"extensions": pq(&sha(q))})).await;
    assert_eq!(by_hash["data"]["viewer"]["id"], id, "{by_hash}");
    let wrong = post(&app, &token, json!({"query": q, "extensions": pq(&sha("{ x }"))})).await;
    assert_eq!(wrong["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{wrong}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_documents_refuse_anything_unlisted() {
    let listed = "query Me { viewer { id } }";
    let sub = "subscription($s: ID!) { claudeStream(sandboxId: $s, prompt: \"x\") { __typename } }";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trusted.json");
    std::fs::write(&file, json!({ sha(listed): listed }).to_string()).unwrap();
    let path = file.clone();
    let app = TestApp::spawn_with(DbKind::Sqlite, move |c| c.http.trusted_documents = Some(path), None).await;
    let (id, token) = app.new_user("tia").await;

    let by_hash = post(&app, &token, json!({"extensions": pq(&sha(listed))})).await;
    assert_eq!(by_hash["data"]["viewer"]["id"], id, "{by_hash}");
    let by_text = post(&app, &token, json!({"query": listed})).await;
    assert_eq!(by_text["data"]["viewer"]["id"], id, "{by_text}");
    for body in [
        json!({"query": "{ viewer { id name } }"}),
        json!({"query": "{ __schema { types { name } } }"}),
        json!({"extensions": pq(&sha("{ viewer { name } }"))}),
    ] {
        let got = post(&app, &token, body.clone()).await;
        assert_eq!(got["errors"][0]["extensions"]["code"], "UNTRUSTED_DOCUMENT", "{body}: {got}");
        assert!(got.get("data").is_none_or(|d| d.is_null()), "{got}");
    }
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    ws.subscribe("1", sub, json!({"s": uuid::Uuid::now_v7().to_string()})).await;
    let msg = ws.next().await;
    assert_eq!(msg["payload"]["errors"][0]["extensions"]["code"], "UNTRUSTED_DOCUMENT", "{msg}");
}
