//! The embedding product's identity provider, as far as sandboxql sees it: a JWKS endpoint
//! (keys can be rotated during a test, fetches are counted) and JWTs signed with the
//! committed test keys in `tests/fixtures/jwt/`.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{Json, Router, extract::State, routing::get};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

/// Issuer every test JWT carries unless a case changes it.
pub const ISSUER: &str = "https://id.product.test";
/// Audience every test JWT carries unless a case changes it.
pub const AUDIENCE: &str = "sandboxql";

#[derive(Clone, Default)]
struct Shared {
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

/// A running JWKS endpoint.
pub struct Jwks {
    /// Its URL (`http://127.0.0.1:port/.well-known/jwks.json`).
    pub url: String,
    shared: Shared,
}

/// A committed test file's text.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/jwt/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn serve(State(s): State<Shared>) -> Json<Value> {
    s.fetches.fetch_add(1, Ordering::SeqCst);
    let keys = s.keys.lock().unwrap().clone();
    Json(json!({ "keys": keys }))
}

impl Jwks {
    /// Serves the public keys with the given ids (`rsa-1`, `rsa-2`, `ec-1`).
    pub async fn start(kids: &[&str]) -> Jwks {
        let shared = Shared::default();
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        let app = Router::new().route("/.well-known/jwks.json", get(serve)).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let jwks = Jwks { url, shared };
        jwks.publish(kids);
        jwks
    }

    /// Replaces the published keys (a rotation).
    pub fn publish(&self, kids: &[&str]) {
        let keys = kids.iter().map(|k| serde_json::from_str(&fixture(&format!("{k}.jwk.json"))).unwrap()).collect();
        *self.shared.keys.lock().unwrap() = keys;
    }

    /// How many times the server fetched the keys.
    pub fn fetches(&self) -> usize {
        self.shared.fetches.load(Ordering::SeqCst)
    }
}

/// Claims of a valid token for `sub`, valid for ten minutes.
pub fn claims(sub: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now - 1, "exp": now + 600})
}

/// A JWT signed with the private key of `kid` (RS256 for `rsa-*`, ES256 for `ec-*`),
/// with that kid in its header.
pub fn sign(kid: &str, claims: &Value) -> String {
    let pem = fixture(&format!("{kid}.pem"));
    let (alg, key) = if kid.starts_with("ec") {
        (Algorithm::ES256, EncodingKey::from_ec_pem(pem.as_bytes()).unwrap())
    } else {
        (Algorithm::RS256, EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap())
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_string());
    encode(&header, claims, &key).unwrap()
}

/// A JWT signed with HMAC-SHA256 over `secret`, with an optional kid.
pub fn sign_hs256(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_string);
    encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// An unsigned token (`alg: none`), as an attacker would send one.
pub fn unsigned(kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": kid});
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", part(&header), part(claims))
}
