//! Create → get → list → delete through GraphQL over HTTP, with the audit trail.

use sandboxql::entity::{enums::SandboxStatus, sandbox};
use sea_orm::EntityTrait;
use serde_json::json;

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp},
};

const SANDBOX_FIELDS: &str = "id name status statusReason provider backend agentId externalId accountId organizationId createdAt updatedAt lastSyncAt syncStats { filesProcessed bytesTransferred durationMs }";

async fn crud(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("alice").await;
    let agent = uuid::Uuid::new_v4().to_string();

    let q = format!("mutation($i: CreateSandboxInput!) {{ createSandbox(input: $i) {{ {SANDBOX_FIELDS} }} }}");
    let created =
        app.ok(&token, &q, json!({"i": {"provider": "CLAUDE_CODE", "agentId": agent, "name": "first"}})).await;
    let sb = &created["createSandbox"];
    let id = sb["id"].as_str().unwrap().to_string();
    assert_eq!(sb["name"], "first");
    assert_eq!(sb["status"], "RUNNING");
    assert_eq!(sb["provider"], "CLAUDE_CODE");
    assert_eq!(sb["backend"], "LOCAL");
    assert_eq!(sb["agentId"], agent);
    assert!(sb["externalId"].is_string());
    assert!(sb["lastSyncAt"].is_null() && sb["syncStats"].is_null());
    // The local backend made a workspace for it.
    let ext = sb["externalId"].as_str().unwrap();
    let dir = app.data_path().join("sandboxes").join(uuid::Uuid::parse_str(ext).unwrap().simple().to_string());
    assert!(dir.join("disk/workspace").is_dir() && dir.join("disk/home").is_dir());

    let got = app
        .ok(&token, &format!("query($id: ID!) {{ sandbox(id: $id) {{ {SANDBOX_FIELDS} }} }}"), json!({"id": id}))
        .await;
    assert_eq!(got["sandbox"], *sb);

    let second = app.create_sandbox(&token, "second").await;
    let list = app.ok(&token, "{ sandboxes { totalCount edges { node { id name } } nodes { id } } }", json!({})).await;
    assert_eq!(list["sandboxes"]["totalCount"], 2);
    let names: Vec<_> =
        list["sandboxes"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].clone()).collect();
    assert_eq!(names, vec![json!("second"), json!("first")], "newest first");

    let filtered = app.ok(&token, "{ sandboxes(filter: {status: TERMINATED}) { totalCount } }", json!({})).await;
    assert_eq!(filtered["sandboxes"]["totalCount"], 0);

    let del = app.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id) { id deletedAt } }", json!({"id": id})).await;
    assert_eq!(del["deleteSandbox"]["id"], id);
    assert!(del["deleteSandbox"]["deletedAt"].is_string());
    assert!(!dir.exists(), "a deleted sandbox's workspace is removed from disk (after its final snapshot)");

    let gone = app.ok(&token, "query($id: ID!) { sandbox(id: $id) { id } }", json!({"id": id})).await;
    assert!(gone["sandbox"].is_null(), "deleted sandbox is gone from sandbox(id)");
    let list = app.ok(&token, "{ sandboxes { totalCount nodes { id } } }", json!({})).await;
    assert_eq!(list["sandboxes"]["totalCount"], 1);
    assert_eq!(list["sandboxes"]["nodes"][0]["id"], second);
    let (code, _) =
        app.err(Some(&token), "mutation($id: ID!) { deleteSandbox(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(code, "NOT_FOUND", "deleting twice");

    // The row is soft-deleted and TERMINATED; the change log has a create and a delete.
    let row =
        sandbox::Entity::find_by_id(uuid::Uuid::parse_str(&id).unwrap()).one(&app.services.db).await.unwrap().unwrap();
    assert_eq!(row.status, SandboxStatus::Terminated);
    assert!(row.deleted_at.is_some());
    assert_eq!(app.count("SELECT COUNT(*) FROM change_logs WHERE entity = 'sandboxes' AND action = 'create'").await, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM change_logs WHERE entity = 'sandboxes' AND action = 'delete'").await, 1);
}
both_dbs!(create_get_list_delete, crud);

async fn templates_and_viewer(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (account_id, token) = app.new_user("bob").await;
    let data = app.ok(&token, "{ viewer { id name role } templates { provider name description } }", json!({})).await;
    assert_eq!(data["viewer"]["id"], account_id);
    assert_eq!(data["viewer"]["role"], "USER");
    assert_eq!(data["templates"][0]["provider"], "CLAUDE_CODE");
    let admin = app.ok(&app.admin_token, "{ viewer { role } }", json!({})).await;
    assert_eq!(admin["viewer"]["role"], "ADMIN");
    let health = app.http.get(format!("http://{}/healthz", app.addr)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let graphiql = app.http.get(format!("http://{}/graphiql", app.addr)).send().await.unwrap();
    assert!(graphiql.text().await.unwrap().contains("graphiql"));
}
both_dbs!(viewer_templates_health, templates_and_viewer);

async fn cors(kind: DbKind) {
    let app = TestApp::spawn_with(kind, |c| c.http.cors_origins = vec!["https://app.example".into()], None).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url())
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization,content-type")
            .send()
    };
    let ok = preflight("https://app.example").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example");
    assert!(ok.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none(), "unlisted origins get no CORS grant");
    let resp = app
        .http
        .post(app.url())
        .header("Origin", "https://app.example")
        .bearer_auth(&app.admin_token)
        .json(&json!({"query": "{ viewer { role } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "https://app.example");
    assert!(resp.headers()["access-control-expose-headers"].to_str().unwrap().contains("x-request-id"));
}
both_dbs!(cors_only_for_configured_origins, cors);
