//! The admin API: an admin provisions accounts and tokens over GraphQL (audited, the secret
//! shown once); a user reaches none of it and changes nothing.

use sandboxql::entity::change_log;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    both_dbs,
    helpers::{DbKind, TestApp},
};

const CREATE_ACCOUNT: &str =
    "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id name role externalId disabled } }";
const CREATE_TOKEN: &str = "mutation($a: ID!, $n: String, $e: DateTime, $r: Boolean) {
    createToken(accountId: $a, name: $n, expiresAt: $e, readOnly: $r) {
        token info { id accountId name createdAt lastUsedAt expiresAt revokedAt readOnly } } }";
const UPDATE_ACCOUNT: &str =
    "mutation($id: ID!, $i: UpdateAccountInput!) { updateAccount(id: $id, input: $i) { id name disabled } }";
const REVOKE: &str = "mutation($id: ID!) { revokeToken(id: $id) { id revokedAt } }";
const ACCOUNTS: &str = "query($f: AccountFilter, $first: Int = 20, $after: String) {
    accounts(filter: $f, first: $first, after: $after) {
        nodes { id name externalId disabled tokens { id name readOnly revokedAt expiresAt lastUsedAt } }
        pageInfo { hasNextPage endCursor } } }";

/// Every answer an admin got that is not `createToken`'s: none may carry a token's secret
/// or its stored hash.
fn assert_no_secret(bodies: &[&Value], token: &str) {
    let hash = sandboxql::auth::hash_token(token);
    for body in bodies {
        let text = body.to_string();
        assert!(!text.contains(token), "a token's secret leaked: {text}");
        assert!(!text.contains(&hash), "a token's hash leaked: {text}");
    }
}

async fn admin_provisions(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let admin = app.admin_token.clone();
    let (admin_id, _) = {
        let v = app.ok(&admin, "{ viewer { id } }", json!({})).await;
        (v["viewer"]["id"].as_str().unwrap().to_string(), ())
    };

    let made = app.ok(&admin, CREATE_ACCOUNT, json!({"i": {"name": "Ada", "externalId": "user-17"}})).await;
    let acct = &made["createAccount"];
    assert_eq!(acct["role"], "USER");
    assert_eq!(acct["externalId"], "user-17");
    assert_eq!(acct["disabled"], false);
    let acct_id = acct["id"].as_str().unwrap().to_string();

    let issued = app.ok(&admin, CREATE_TOKEN, json!({"a": acct_id, "n": "backend"})).await;
    let token = issued["createToken"]["token"].as_str().unwrap().to_string();
    let info = &issued["createToken"]["info"];
    assert_eq!(info["accountId"], acct_id);
    assert_eq!(info["name"], "backend");
    assert_eq!(info["readOnly"], false);
    assert!(info["revokedAt"].is_null() && info["expiresAt"].is_null());
    let token_id = info["id"].as_str().unwrap().to_string();

    // The token works, as the new account, which starts empty.
    let me = app.ok(&token, "{ viewer { id externalId } sandboxes { totalCount } }", json!({})).await;
    assert_eq!(me["viewer"], json!({"id": acct_id, "externalId": "user-17"}));
    assert_eq!(me["sandboxes"]["totalCount"], 0);
    app.create_sandbox(&token, "first").await;

    // The admin finds it by external id; its tokens are listed without their secret.
    // Use is recorded off the request path, so it may land a moment after the answer.
    let mut found = app.ok(&admin, ACCOUNTS, json!({"f": {"externalId": "user-17"}})).await;
    for _ in 0..50 {
        if !found["accounts"]["nodes"][0]["tokens"][0]["lastUsedAt"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        found = app.ok(&admin, ACCOUNTS, json!({"f": {"externalId": "user-17"}})).await;
    }
    let nodes = found["accounts"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0]["id"], acct_id);
    assert_eq!(nodes[0]["tokens"][0]["id"], token_id);
    assert!(!nodes[0]["tokens"][0]["lastUsedAt"].is_null(), "use is recorded");
    // Nothing in the type can hold a secret.
    let fields = app.ok(&admin, "{ __type(name: \"ApiToken\") { fields { name } } }", json!({})).await;
    let names: Vec<&str> =
        fields["__type"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["id", "accountId", "name", "createdAt", "lastUsedAt", "expiresAt", "revokedAt", "readOnly"]);

    // Paging over all accounts (admin, Ada): one per page, newest first.
    let p1 = app.ok(&admin, ACCOUNTS, json!({"first": 1})).await;
    assert_eq!(p1["accounts"]["nodes"][0]["id"], acct_id);
    assert_eq!(p1["accounts"]["pageInfo"]["hasNextPage"], true);
    let p2 = app.ok(&admin, ACCOUNTS, json!({"first": 1, "after": p1["accounts"]["pageInfo"]["endCursor"]})).await;
    assert_eq!(p2["accounts"]["nodes"][0]["id"], admin_id);
    assert_eq!(p2["accounts"]["pageInfo"]["hasNextPage"], false);
    let enabled = app.ok(&admin, ACCOUNTS, json!({"f": {"disabled": true}})).await;
    assert_eq!(enabled["accounts"]["nodes"], json!([]));

    // A second account may not take the same external id.
    let (code, _) = app.err(Some(&admin), CREATE_ACCOUNT, json!({"i": {"name": "Eve", "externalId": "user-17"}})).await;
    assert_eq!(code, "CONFLICT");
    let (code, _) = app.err(Some(&admin), CREATE_TOKEN, json!({"a": uuid::Uuid::now_v7()})).await;
    assert_eq!(code, "NOT_FOUND");
    let (code, _) = app.err(Some(&admin), CREATE_TOKEN, json!({"a": acct_id, "e": "2020-01-01T00:00:00Z"})).await;
    assert_eq!(code, "BAD_USER_INPUT", "an expiry in the past");

    // Disabling refuses the token at once on this instance; enabling lets it back in.
    let off = app.ok(&admin, UPDATE_ACCOUNT, json!({"id": acct_id, "i": {"disabled": true, "name": "Ada L."}})).await;
    assert_eq!(off["updateAccount"], json!({"id": acct_id, "name": "Ada L.", "disabled": true}));
    let (code, _) = app.err(Some(&token), "{ viewer { id } }", json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED");
    app.ok(&admin, UPDATE_ACCOUNT, json!({"id": acct_id, "i": {"disabled": false}})).await;
    app.ok(&token, "{ viewer { id } }", json!({})).await;

    // Revoking refuses it at once; revoking again changes nothing.
    let first = app.ok(&admin, REVOKE, json!({"id": token_id})).await;
    let (code, _) = app.err(Some(&token), "{ viewer { id } }", json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED");
    let again = app.ok(&admin, REVOKE, json!({"id": token_id})).await;
    assert_eq!(first, again);

    // Every change is audited with the admin as actor.
    let admin_uuid = uuid::Uuid::parse_str(&admin_id).unwrap();
    let audited = |entity: &'static str, action: &'static str| {
        let db = app.services.db.clone();
        async move {
            change_log::Entity::find()
                .filter(change_log::Column::Entity.eq(entity))
                .filter(change_log::Column::Action.eq(action))
                .filter(change_log::Column::AccountId.eq(admin_uuid))
                .count(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(audited("accounts", "create").await, 1);
    assert_eq!(audited("accounts", "update").await, 2);
    assert_eq!(audited("api_tokens", "create").await, 1);
    assert_eq!(audited("api_tokens", "revoke").await, 1);

    let listed = app.ok(&admin, ACCOUNTS, json!({})).await;
    let one = app
        .ok(&admin, "query($id: ID!) { account(id: $id) { tokens { id revokedAt } } }", json!({"id": acct_id}))
        .await;
    assert_no_secret(&[&found, &p1, &p2, &listed, &one, &first, &off], &token);
}
both_dbs!(admin_creates_accounts_and_tokens, admin_provisions);

async fn user_refused(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (me_id, me) = app.new_user("me").await;
    let (other_id, other) = app.new_user("other").await;
    let my_token_id = app.ok(&me, "{ viewer { tokens { id } } }", json!({})).await["viewer"]["tokens"][0]["id"].clone();
    let other_token_id =
        app.ok(&other, "{ viewer { tokens { id } } }", json!({})).await["viewer"]["tokens"][0]["id"].clone();
    let counts = || async {
        (
            app.count("SELECT COUNT(*) FROM accounts").await,
            app.count("SELECT COUNT(*) FROM api_tokens").await,
            app.count("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NOT NULL").await,
            app.count("SELECT COUNT(*) FROM accounts WHERE disabled").await,
            app.count("SELECT COUNT(*) FROM change_logs").await,
        )
    };
    let before = counts().await;

    let attempts: Vec<(&str, Value)> = vec![
        (ACCOUNTS, json!({})),
        ("{ accounts { nodes { id } } }", json!({})),
        (CREATE_ACCOUNT, json!({"i": {"name": "mine", "role": "ADMIN"}})),
        (UPDATE_ACCOUNT, json!({"id": me_id, "i": {"name": "x"}})),
        (UPDATE_ACCOUNT, json!({"id": other_id, "i": {"disabled": true}})),
        (CREATE_TOKEN, json!({"a": me_id})),
        (CREATE_TOKEN, json!({"a": other_id})),
        (REVOKE, json!({"id": my_token_id})),
        (REVOKE, json!({"id": other_token_id})),
    ];
    for (query, vars) in attempts {
        let (status, body) = app.post(Some(&me), query, vars.clone()).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{query} {vars}: {body}");
        assert!(body["data"].is_null() || body["data"].as_object().is_some_and(|d| d.values().all(Value::is_null)));
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(counts().await, before, "nothing changed");
    app.ok(&other, "{ viewer { id } }", json!({})).await;

    // Another account is invisible: null like a random id, its tokens out of reach.
    let q = "query($id: ID!) { account(id: $id) { id tokens { id } } }";
    for id in [other_id.clone(), uuid::Uuid::now_v7().to_string()] {
        assert_eq!(app.ok(&me, q, json!({"id": id})).await, json!({"account": null}));
    }
    let own = app.ok(&me, q, json!({"id": me_id})).await;
    assert_eq!(own["account"]["tokens"], json!([{"id": my_token_id}]));
    let viewer = app.ok(&me, "{ viewer { tokens { id } } }", json!({})).await;
    assert!(!viewer.to_string().contains(other_token_id.as_str().unwrap()));
}
both_dbs!(a_user_gets_forbidden_on_admin_fields_and_nothing_changes, user_refused);
