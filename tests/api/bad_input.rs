//! Bad input gets a clear error with a stable code and changes nothing.

use sandboxql::entity::{account, api_token};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp},
};

async fn snapshot(app: &TestApp) -> (i64, i64) {
    (app.count("SELECT COUNT(*) FROM sandboxes").await, app.count("SELECT COUNT(*) FROM change_logs").await)
}

async fn bad_input(kind: DbKind) {
    // A small body limit, so the oversized body below fits in socket buffers and the
    // client always reads the 413 instead of racing the server's early close.
    let app = TestApp::spawn_with(kind, |c| c.limits.max_body_bytes = 64 * 1024, None).await;
    let (_, token) = app.new_user("carol").await;
    app.create_sandbox(&token, "keep").await;
    let before = snapshot(&app).await;

    // Deeper than 12 fields over data (introspection is bounded by the schema and exempt).
    let deep = format!("{{ viewer {} id {} }}", "sandboxes { nodes { ".repeat(6), "} } ".repeat(6));
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("malformed id", "{ sandbox(id: \"not-a-uuid\") { id } }", json!({}), "BAD_USER_INPUT"),
        ("malformed id on delete", "mutation { deleteSandbox(id: \"1 OR 1=1\") { id } }", json!({}), "BAD_USER_INPUT"),
        (
            "malformed agent id",
            "mutation { createSandbox(input: {agentId: \"x\"}) { id } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "unknown provider",
            "mutation { createSandbox(input: {provider: DOCKER}) { id } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "unknown provider in variables",
            "mutation($i: CreateSandboxInput!) { createSandbox(input: $i) { id } }",
            json!({"i": {"provider": "NOPE"}}),
            "BAD_USER_INPUT",
        ),
        ("empty name", "mutation { createSandbox(input: {name: \"  \"}) { id } }", json!({}), "BAD_USER_INPUT"),
        (
            "name too long",
            "mutation($n: String) { createSandbox(input: {name: $n}) { id } }",
            json!({"n": "x".repeat(101)}),
            "BAD_USER_INPUT",
        ),
        ("page too large", "{ sandboxes(first: 1000) { totalCount } }", json!({}), "BAD_USER_INPUT"),
        ("negative page", "{ sandboxes(first: -1) { totalCount } }", json!({}), "BAD_USER_INPUT"),
        ("foreign cursor", "{ sandboxes(after: \"garbage!\") { totalCount } }", json!({}), "BAD_USER_INPUT"),
        ("over-deep query", deep.as_str(), json!({}), "BAD_USER_INPUT"),
        ("syntax error", "{ sandboxes { ", json!({}), "BAD_USER_INPUT"),
        ("unknown field", "{ sandboxes { secret } }", json!({}), "BAD_USER_INPUT"),
    ];
    for (what, query, vars, want) in cases {
        let (code, msg) = app.err(Some(&token), query, vars).await;
        assert_eq!(code, want, "{what}: {msg}");
        assert!(!msg.is_empty() && !msg.to_lowercase().contains("sql"), "{what}: unclear message {msg:?}");
    }

    // Credentials.
    let (code, _) = app.err(None, "{ viewer { id } }", json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED", "missing token");
    let (code, _) = app.err(None, "mutation { createSandbox(input: {}) { id } }", json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED", "missing token on a mutation");
    let (status, body) = app.post(Some("sbq_wrongwrongwrong"), "{ viewer { id } }", json!({})).await;
    assert_eq!((status, body["errors"][0]["extensions"]["code"].as_str()), (401, Some("UNAUTHENTICATED")));
    let (status, _) =
        app.post(Some("not even a token"), "mutation { createSandbox(input: {}) { id } }", json!({})).await;
    assert_eq!(status, 401);

    // Body too large and mutations over GET are refused before execution.
    let big = "x".repeat(200 * 1024);
    let resp = app
        .http
        .post(app.url())
        .bearer_auth(&token)
        .json(&json!({"query": "{ viewer { id } }", "variables": {"pad": big}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // The server closes a connection whose body it refused: a new client, not a reused
    // connection that may be closing under it.
    let resp = reqwest::Client::new()
        .get(format!("{}?query=mutation%20%7B%20createSandbox(input%3A%20%7B%7D)%20%7B%20id%20%7D%20%7D", app.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    let resp = app
        .http
        .post(app.url())
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    assert_eq!(snapshot(&app).await, before, "bad input changed the database");
}
both_dbs!(bad_input_is_refused_with_codes, bad_input);

async fn revoked_and_disabled(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (account_id, token) = app.new_user("dave").await;
    app.ok(&token, "{ viewer { id } }", json!({})).await;

    let tok = api_token::Entity::find()
        .filter(api_token::Column::TokenSha256.eq(sandboxql::auth::hash_token(&token)))
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap();
    let mut am: api_token::ActiveModel = tok.clone().into();
    am.revoked_at = Set(Some(chrono::Utc::now()));
    am.update(&app.services.db).await.unwrap();
    app.refused_within(&token, 2).await;

    let issued = sandboxql::service::accounts::create_token(
        &app.services.db,
        uuid::Uuid::parse_str(&account_id).unwrap(),
        "second",
    )
    .await
    .unwrap();
    app.ok(&issued.token, "{ viewer { id } }", json!({})).await;
    let acct = account::Entity::find_by_id(uuid::Uuid::parse_str(&account_id).unwrap())
        .one(&app.services.db)
        .await
        .unwrap()
        .unwrap();
    let mut am: account::ActiveModel = acct.into();
    am.disabled = Set(true);
    am.update(&app.services.db).await.unwrap();
    app.refused_within(&issued.token, 2).await;
}
both_dbs!(revoked_token_and_disabled_account_are_refused, revoked_and_disabled);
