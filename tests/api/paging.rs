//! Relay paging: every sandbox exactly once, newest first, with a right totalCount.

use std::collections::HashSet;

use serde_json::json;

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp},
};

async fn paging(kind: DbKind) {
    let app = TestApp::spawn_with(kind, |c| c.limits.max_sandboxes_per_account = 100, None).await;
    let (_, token) = app.new_user("ivy").await;
    let mut made = vec![];
    for i in 0..25 {
        made.push(app.create_sandbox(&token, &format!("s{i:02}")).await);
    }
    made.reverse();
    let q = "query($after: String) { sandboxes(first: 10, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id } } } }";
    let (mut seen, mut after, mut pages) = (vec![], None::<String>, 0);
    loop {
        let data = app.ok(&token, q, json!({"after": after})).await;
        let conn = &data["sandboxes"];
        assert_eq!(conn["totalCount"], 25);
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], after.is_some());
        for e in conn["edges"].as_array().unwrap() {
            seen.push(e["node"]["id"].as_str().unwrap().to_string());
        }
        pages += 1;
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made, "every sandbox once, newest first");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);

    let empty = app
        .ok(&token, "{ sandboxes(first: 0) { totalCount edges { cursor } pageInfo { hasNextPage } } }", json!({}))
        .await;
    assert_eq!(empty["sandboxes"]["edges"], json!([]));
    assert_eq!(empty["sandboxes"]["pageInfo"]["hasNextPage"], true);
}
both_dbs!(pages_cover_every_sandbox_once, paging);

async fn quota(kind: DbKind) {
    let app = TestApp::spawn_with(kind, |c| c.limits.max_sandboxes_per_account = 2, None).await;
    let (_, token) = app.new_user("jay").await;
    let first = app.create_sandbox(&token, "1").await;
    app.create_sandbox(&token, "2").await;
    let (code, msg) = app.err(Some(&token), "mutation { createSandbox(input: {}) { id } }", json!({})).await;
    assert_eq!(code, "FORBIDDEN", "{msg}");
    assert!(msg.contains("limit"));
    app.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id) { id } }", json!({"id": first})).await;
    app.create_sandbox(&token, "3").await;
}
both_dbs!(sandboxes_per_account_are_limited, quota);
