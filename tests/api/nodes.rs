//! Relay object identification: `node(id)` answers each type by its id, scoped like the
//! type's own query; another account's id is null, as is an unknown one.

use serde_json::json;

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp},
};

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id } }";
const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Sandbox { name } } }";

async fn nodes(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (ann_id, ann) = app.new_user("ann").await;
    let (_, ben) = app.new_user("ben").await;
    let sb = app.create_sandbox(&ann, "mine").await;
    let run = app.start_run(&ann, &sb, "hello").await;
    app.wait_idle(&ann, &sb).await;
    let sync = "mutation($id: ID!) { syncSandbox(id: $id) { snapshot { id } } }";
    let snap =
        app.ok(&ann, sync, json!({"id": sb})).await["syncSandbox"]["snapshot"]["id"].as_str().unwrap().to_string();

    for (id, kind) in [(&sb, "Sandbox"), (&run, "AgentRun"), (&snap, "Snapshot"), (&ann_id, "Account")] {
        let got = app.ok(&ann, NODE, json!({"id": id})).await;
        assert_eq!(got["node"], json!({"__typename": kind, "id": id}), "{kind}");
        // Another account sees nothing, exactly as for an id that does not exist.
        assert_eq!(app.ok(&ben, NODE, json!({"id": id})).await["node"], json!(null), "{kind} leaked");
        // The admin sees every account's objects.
        assert_eq!(app.ok(&app.admin_token, NODE, json!({"id": id})).await["node"]["__typename"], kind);
    }
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(app.ok(&ann, NODE, json!({"id": unknown})).await["node"], json!(null));
    assert_eq!(app.err(Some(&ann), NODE, json!({"id": "not-an-id"})).await.0, "BAD_USER_INPUT");

    let got = app.ok(&ann, NODES, json!({"ids": [run, unknown, sb]})).await;
    assert_eq!(got["nodes"][0]["__typename"], "AgentRun");
    assert_eq!(got["nodes"][1], json!(null));
    assert_eq!(got["nodes"][2], json!({"__typename": "Sandbox", "id": sb, "name": "mine"}));
    let theirs = app.ok(&ben, NODES, json!({"ids": [sb, run, snap, ann_id]})).await;
    assert_eq!(theirs["nodes"], json!([null, null, null, null]));
    let many: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    assert_eq!(app.err(Some(&ann), NODES, json!({"ids": many})).await.0, "BAD_USER_INPUT");
}
both_dbs!(node_answers_every_type_and_hides_other_accounts, nodes);
