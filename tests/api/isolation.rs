//! One account never sees another's sandboxes: same answer as for a random id.

use sandboxql::entity::sandbox;
use sea_orm::EntityTrait;
use serde_json::json;

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp},
};

async fn isolation(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (a_id, a) = app.new_user("a").await;
    let (b_id, b) = app.new_user("b").await;
    let b_box = app.create_sandbox(&b, "b-secret").await;
    let a_box = app.create_sandbox(&a, "a-own").await;
    let random = uuid::Uuid::now_v7().to_string();
    let before =
        sandbox::Entity::find_by_id(uuid::Uuid::parse_str(&b_box).unwrap()).one(&app.services.db).await.unwrap();

    // get: null, exactly as for a random id.
    for id in [&b_box, &random] {
        let got = app.ok(&a, "query($id: ID!) { sandbox(id: $id) { id name } }", json!({"id": id})).await;
        assert_eq!(got, json!({"sandbox": null}));
    }
    // list and count: only A's own, also when A asks for B's account explicitly.
    let list = app.ok(&a, "{ sandboxes { totalCount nodes { id } } }", json!({})).await;
    assert_eq!(list["sandboxes"], json!({"totalCount": 1, "nodes": [{"id": a_box}]}));
    let probe = app
        .ok(
            &a,
            "query($acc: ID) { sandboxes(filter: {accountId: $acc}) { totalCount nodes { id } } }",
            json!({"acc": b_id}),
        )
        .await;
    assert_eq!(probe["sandboxes"], json!({"totalCount": 0, "nodes": []}));
    // delete: NOT_FOUND with the same message as a random id.
    let del = "mutation($id: ID!) { deleteSandbox(id: $id) { id } }";
    let theirs = app.err(Some(&a), del, json!({"id": b_box})).await;
    let nobody = app.err(Some(&a), del, json!({"id": random})).await;
    assert_eq!(theirs.0, "NOT_FOUND");
    assert_eq!(theirs, nobody);
    // B's row is untouched.
    let after =
        sandbox::Entity::find_by_id(uuid::Uuid::parse_str(&b_box).unwrap()).one(&app.services.db).await.unwrap();
    assert_eq!(before, after);
    assert_eq!(app.count("SELECT COUNT(*) FROM change_logs WHERE action = 'delete'").await, 0);

    // The admin sees both and can narrow to one account.
    let all = app.ok(&app.admin_token, "{ sandboxes { totalCount } }", json!({})).await;
    assert_eq!(all["sandboxes"]["totalCount"], 2);
    let only_a = app
        .ok(
            &app.admin_token,
            "query($acc: ID) { sandboxes(filter: {accountId: $acc}) { nodes { id accountId } } }",
            json!({"acc": a_id}),
        )
        .await;
    assert_eq!(only_a["sandboxes"]["nodes"], json!([{"id": a_box, "accountId": a_id}]));
    let got = app.ok(&app.admin_token, "query($id: ID!) { sandbox(id: $id) { name } }", json!({"id": b_box})).await;
    assert_eq!(got["sandbox"]["name"], "b-secret");

    // The account fields: B's account and tokens are null for A, exactly as a random id;
    // the admin fields are FORBIDDEN (see `admin.rs` for every one of them).
    let q = "query($id: ID!) { account(id: $id) { id name tokens { id name } } }";
    for id in [&b_id, &random] {
        assert_eq!(app.ok(&a, q, json!({"id": id})).await, json!({"account": null}));
    }
    let own = app.ok(&a, "{ viewer { id tokens { accountId } } }", json!({})).await;
    assert_eq!(own["viewer"]["tokens"], json!([{"accountId": a_id}]));
    let (code, _) = app.err(Some(&a), "{ accounts { nodes { id } } }", json!({})).await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) =
        app.err(Some(&a), "mutation($id: ID!) { createToken(accountId: $id) { token } }", json!({"id": b_id})).await;
    assert_eq!(code, "FORBIDDEN");
    let b_tokens = app.ok(&app.admin_token, q, json!({"id": b_id})).await;
    assert_eq!(b_tokens["account"]["tokens"].as_array().map(Vec::len), Some(1), "B still has one token");
}
both_dbs!(accounts_are_isolated, isolation);
