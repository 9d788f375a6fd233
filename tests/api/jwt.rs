//! Sign-in with the embedding product's own JWTs: RS256/ES256 against a local JWKS server
//! (accounts created on first use, rotated keys picked up), HS256 with a shared secret, and
//! every forged or stale token UNAUTHENTICATED, over HTTP and websocket.

use std::time::Duration;

use sandboxql::config::{Config, Secret};
use serde_json::{Value, json};

use crate::{
    both_dbs,
    helpers::{
        DbKind, TestApp,
        jwks::{AUDIENCE, ISSUER, Jwks, claims, fixture, sign, sign_hs256, unsigned},
        ws::{Closed, WsClient},
    },
};

const WHO: &str = "{ viewer { id externalId name role } }";
const HS_SECRET: &str = "a-shared-secret-of-the-product-0123456789";

fn configure(config: &mut Config, jwks: Option<&str>, hs256: Option<&str>, auto: bool) {
    config.jwt.jwt_issuer = Some(ISSUER.into());
    config.jwt.jwt_audience = Some(AUDIENCE.into());
    config.jwt.jwt_jwks_url = jwks.map(str::to_string);
    config.jwt.jwt_hs256_secret = hs256.map(|s| Secret(s.into()));
    config.jwt.jwt_role_claim = Some("role".into());
    config.jwt.jwt_auto_provision = auto;
    config.limits.jwks_min_refresh_secs = 1;
}

/// Claims for `sub` with `change` applied on top.
fn with(sub: &str, change: Value) -> Value {
    let mut c = claims(sub);
    for (k, v) in change.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

async fn accounts_for(app: &TestApp, sub: &str) -> i64 {
    app.count(&format!("SELECT COUNT(*) FROM accounts WHERE external_id = '{sub}'")).await
}

async fn refused(app: &TestApp, token: &str, case: &str) {
    let (code, message) = app.err(Some(token), WHO, json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED", "{case}: {message}");
    assert_eq!(message, "authentication required: invalid token", "{case}: the reason is never more specific");
}

async fn rs256(kind: DbKind) {
    let jwks = Jwks::start(&["rsa-1", "ec-1"]).await;
    let app = TestApp::spawn_with(kind, |c| configure(c, Some(&jwks.url), None, true), None).await;

    // A valid RS256 JWT signs in; its account is created on first use (externalId = sub).
    assert_eq!(accounts_for(&app, "user-42").await, 0);
    let token = sign("rsa-1", &with("user-42", json!({"name": "Grace"})));
    let me = app.ok(&token, WHO, json!({})).await;
    assert_eq!(me["viewer"]["externalId"], "user-42");
    assert_eq!(me["viewer"]["name"], "Grace");
    assert_eq!(me["viewer"]["role"], "USER");
    let sandbox = app.create_sandbox(&token, "from-jwt").await;
    // A second token for the same user is the same account, not a new one.
    let again = sign("rsa-1", &claims("user-42"));
    let listed = app.ok(&again, "{ viewer { id } sandboxes { nodes { id } } }", json!({})).await;
    assert_eq!(listed["viewer"]["id"], me["viewer"]["id"]);
    assert_eq!(listed["sandboxes"]["nodes"], json!([{"id": sandbox}]));
    assert_eq!(accounts_for(&app, "user-42").await, 1);
    // ES256 from the same key set; the role claim makes an admin; API tokens still work.
    let boss = sign("ec-1", &with("boss", json!({"role": "admin"})));
    assert_eq!(app.ok(&boss, WHO, json!({})).await["viewer"]["role"], "ADMIN");
    app.ok(&boss, "{ accounts { nodes { id } } }", json!({})).await;
    app.ok(&app.admin_token, "{ accounts { nodes { id } } }", json!({})).await;
    assert_eq!(jwks.fetches(), 1, "keys are cached");

    // A rotated key (new kid) is picked up by refetching the set.
    jwks.publish(&["rsa-2", "ec-1"]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let rotated = sign("rsa-2", &claims("user-42"));
    assert_eq!(app.ok(&rotated, WHO, json!({})).await["viewer"]["id"], me["viewer"]["id"]);
    assert_eq!(jwks.fetches(), 2);
    // Unknown kids cannot make the server hammer the JWKS URL.
    for i in 0..20 {
        let forged = resign("rsa-1", &format!("unknown-{i}"), &claims(&format!("flood-{i}")));
        refused(&app, &forged, "an unknown kid").await;
    }
    assert!(jwks.fetches() <= 3, "{} fetches for 20 unknown kids", jwks.fetches());

    // Every bad case is UNAUTHENTICATED and provisions nothing.
    let now = chrono::Utc::now().timestamp();
    let public_pem = fixture("rsa-2.pub.pem");
    let cases: Vec<(&str, String)> = vec![
        ("expired", sign("rsa-2", &with("bad-exp", json!({"exp": now - 60})))),
        ("not yet valid", sign("rsa-2", &with("bad-nbf", json!({"nbf": now + 300})))),
        ("wrong issuer", sign("rsa-2", &with("bad-iss", json!({"iss": "https://evil.test"})))),
        ("wrong audience", sign("rsa-2", &with("bad-aud", json!({"aud": "another-service"})))),
        (
            "no expiry",
            sign("rsa-2", &{
                let mut c = claims("bad-noexp");
                c.as_object_mut().unwrap().remove("exp");
                c
            }),
        ),
        ("alg none", unsigned("rsa-2", &claims("bad-none"))),
        ("HS256 keyed with the RSA public key", sign_hs256(public_pem.as_bytes(), Some("rsa-2"), &claims("bad-hs"))),
        ("HS256 without a configured secret", sign_hs256(HS_SECRET.as_bytes(), None, &claims("bad-hs2"))),
        ("signed by another key under this kid", resign("rsa-1", "rsa-2", &claims("bad-key"))),
        ("no kid", strip_kid(&sign("rsa-2", &claims("bad-nokid")))),
        ("tampered claims", tamper(&sign("rsa-2", &claims("bad-tamper")))),
        ("not a JWT", "eyJhbGciOi.garbage.x".into()),
    ];
    for (case, token) in &cases {
        refused(&app, token, case).await;
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts WHERE external_id LIKE 'bad-%'").await, 0);

    // The same over websocket.
    let mut ws = WsClient::connect(app.addr, Some(&rotated)).await.expect("a valid JWT opens a socket");
    ws.subscribe("v", WHO, json!({})).await;
    assert_eq!(ws.next().await["payload"]["data"]["viewer"]["externalId"], "user-42");
    for (case, token) in &cases {
        assert_eq!(WsClient::connect(app.addr, Some(token)).await.err(), Some(Closed { code: 4403 }), "{case}");
    }

    // Disabling the account refuses its JWTs too.
    let id = me["viewer"]["id"].clone();
    let q = "mutation($id: ID!) { updateAccount(id: $id, input: {disabled: true}) { disabled } }";
    app.ok(&app.admin_token, q, json!({"id": id})).await;
    refused(&app, &sign("rsa-2", &claims("user-42")), "disabled account").await;
}
both_dbs!(rs256_and_es256_jwts_sign_in_rotate_and_refuse_forgeries, rs256);

/// A JWT whose header names `kid` but is signed with `signer`'s key.
fn resign(signer: &str, kid: &str, claims: &Value) -> String {
    let token = sign(signer, claims);
    let (_, rest) = token.split_once('.').unwrap();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    format!("{}.{rest}", b64(&header.to_string()))
}

fn strip_kid(token: &str) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", b64(&json!({"alg": "RS256", "typ": "JWT"}).to_string()))
}

fn tamper(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut body: Value = serde_json::from_slice(&unb64(parts[1])).unwrap();
    body["sub"] = json!("user-42");
    format!("{}.{}.{}", parts[0], b64(&body.to_string()), parts[2])
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn unb64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

async fn hs256(kind: DbKind) {
    let app = TestApp::spawn_with(kind, |c| configure(c, None, Some(HS_SECRET), false), None).await;

    // Without auto-provisioning, an unknown user is refused and nothing is created...
    let token = sign_hs256(HS_SECRET.as_bytes(), None, &claims("u-9"));
    let (code, _) = app.err(Some(&token), WHO, json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert_eq!(accounts_for(&app, "u-9").await, 0);
    // ...until the product's backend provisions the account over the admin API.
    let q = "mutation { createAccount(input: {name: \"Nine\", externalId: \"u-9\"}) { id } }";
    let made = app.ok(&app.admin_token, q, json!({})).await;
    let me = app.ok(&token, WHO, json!({})).await;
    assert_eq!(me["viewer"]["id"], made["createAccount"]["id"]);
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.expect("socket");
    ws.subscribe("v", WHO, json!({})).await;
    assert_eq!(ws.next().await["payload"]["data"]["viewer"]["id"], made["createAccount"]["id"]);

    // Another secret, an RS256 token (no JWKS configured) and an expired one are refused.
    let bad = [
        ("another secret", sign_hs256(b"not-the-secret", None, &claims("u-9"))),
        ("RS256 without a JWKS", sign("rsa-1", &claims("u-9"))),
        ("expired", sign_hs256(HS_SECRET.as_bytes(), None, &with("u-9", json!({"exp": 1_000_000})))),
        ("alg none", unsigned("x", &claims("u-9"))),
    ];
    for (case, token) in &bad {
        refused(&app, token, case).await;
        assert_eq!(WsClient::connect(app.addr, Some(token)).await.err(), Some(Closed { code: 4403 }), "{case}");
    }
}
both_dbs!(an_hs256_secret_configuration_signs_in_provisioned_users, hs256);
