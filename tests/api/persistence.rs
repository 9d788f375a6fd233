//! Sandboxes survive restarts, and replicas on one Postgres share them.

use serde_json::json;

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp},
};

async fn survives_restart(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("gina").await;
    let a = app.create_sandbox(&token, "a").await;
    let b = app.create_sandbox(&token, "b").await;
    let before = app.ok(&token, "{ sandboxes { nodes { id name status createdAt } } }", json!({})).await;

    let app = app.restart().await;
    let after = app.ok(&token, "{ sandboxes { nodes { id name status createdAt } } }", json!({})).await;
    assert_eq!(before, after);
    let ids: Vec<_> =
        after["sandboxes"]["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, vec![b, a]);
    // The admin token from the first start still works, and no second admin appeared.
    app.ok(&app.admin_token, "{ viewer { id } }", json!({})).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts WHERE role = 'ADMIN'").await, 1);
}
both_dbs!(sandboxes_survive_restart, survives_restart);

async fn abandoned_creating(kind: DbKind) {
    use sandboxql::entity::{enums::SandboxStatus, sandbox};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("cra").await;
    let id = app.create_sandbox(&token, "half").await;
    // As if the server died between writing the row and hearing from the backend.
    let row =
        sandbox::Entity::find_by_id(uuid::Uuid::parse_str(&id).unwrap()).one(&app.services.db).await.unwrap().unwrap();
    let mut am: sandbox::ActiveModel = row.into();
    am.status = Set(SandboxStatus::Creating);
    am.created_at = Set(chrono::Utc::now() - chrono::Duration::minutes(10));
    am.update(&app.services.db).await.unwrap();
    let app = app.restart().await;
    let got = app.ok(&token, "query($id: ID!) { sandbox(id: $id) { status statusReason } }", json!({"id": id})).await;
    assert_eq!(got["sandbox"]["status"], "ERROR");
    assert!(got["sandbox"]["statusReason"].as_str().unwrap().contains("interrupted"));
}
both_dbs!(sandboxes_left_creating_become_error_on_restart, abandoned_creating);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_instance_on_same_postgres_sees_same_data() {
    let one = TestApp::spawn(DbKind::Postgres).await;
    let two = one.another_instance().await;
    assert_ne!(one.addr, two.addr);
    let (_, token) = one.new_user("hank").await;
    let id = one.create_sandbox(&token, "shared").await;
    let got = two.ok(&token, "query($id: ID!) { sandbox(id: $id) { name } }", json!({"id": id})).await;
    assert_eq!(got["sandbox"]["name"], "shared");
    two.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id) { id } }", json!({"id": id})).await;
    let gone = one.ok(&token, "{ sandboxes { totalCount } }", json!({})).await;
    assert_eq!(gone["sandboxes"]["totalCount"], 0);
}
