//! The embedding product's JWTs: signature (HS256 with the configured secret, RS256 or
//! ES256 with a key of the configured JWKS), issuer, audience, expiry and not-before
//! checked by a maintained crate (`jsonwebtoken`); never hand-written crypto.
//!
//! The header's algorithm must agree with the key that verifies it: HS256 only with the
//! secret, RS256 only with an RSA key, ES256 only with an EC key, so a token "signed" with
//! a public key as an HMAC secret, or with `alg: none`, never passes.

use std::time::{Duration, Instant};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation, decode, decode_header,
    jwk::{AlgorithmParameters, JwkSet},
};
use serde_json::Value;
use tokio::sync::RwLock;

use crate::{
    config::{JwtConfig, Limits},
    entity::enums::Role,
    error::{AppError, AppResult},
};

/// What a valid JWT says about its bearer.
#[derive(Debug, Clone)]
pub struct JwtClaims {
    /// The product's user id (the account claim).
    pub subject: String,
    /// The role the token grants, when a role claim is configured (USER if absent).
    pub role: Option<Role>,
    /// A display name for a new account (`name`, else `email`).
    pub name: Option<String>,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

struct Keys {
    set: Option<JwkSet>,
    fetched: Option<Instant>,
}

/// Verifies JWTs against the configuration.
pub struct JwtVerifier {
    cfg: JwtConfig,
    http: reqwest::Client,
    keys: RwLock<Keys>,
    min_refresh: Duration,
    max_jwks_bytes: usize,
}

fn invalid() -> AppError {
    AppError::Unauthenticated("invalid token")
}

/// Whether a bearer token has the shape of a JWT (three base64url parts).
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

impl JwtVerifier {
    /// A verifier, or None when JWT sign-in is not configured.
    pub fn new(cfg: &JwtConfig, limits: &Limits) -> Option<Self> {
        if !cfg.enabled() {
            return None;
        }
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().ok()?;
        let keys = RwLock::new(Keys { set: None, fetched: None });
        let min_refresh = Duration::from_secs(limits.jwks_min_refresh_secs);
        Some(Self { cfg: cfg.clone(), http, keys, min_refresh, max_jwks_bytes: limits.io.max_jwks_bytes })
    }

    async fn fetch_keys(&self, url: &str) -> AppResult<JwkSet> {
        let fail = |e: &dyn std::fmt::Display| {
            AppError::provider("the sign-in keys are unavailable", format!("JWKS {url}: {e}"))
        };
        let mut resp = self.http.get(url).send().await.map_err(|e| fail(&e))?;
        if !resp.status().is_success() {
            return Err(fail(&resp.status()));
        }
        // Read at most the limit, whatever the peer says or sends.
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| fail(&e))? {
            if body.len() + chunk.len() > self.max_jwks_bytes {
                return Err(fail(&"document too large"));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| fail(&e))
    }

    /// The key with id `kid` and the algorithm it verifies; refetches the set (at most
    /// once per `min_refresh`) when the kid is unknown, so rotated keys are picked up.
    async fn jwks_key(&self, url: &str, kid: &str) -> AppResult<(DecodingKey, Algorithm)> {
        for attempt in 0..2 {
            {
                let keys = self.keys.read().await;
                if let Some(jwk) = keys.set.as_ref().and_then(|s| s.find(kid)) {
                    let alg = match &jwk.algorithm {
                        AlgorithmParameters::RSA(_) => Algorithm::RS256,
                        AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                        _ => return Err(invalid()),
                    };
                    return Ok((DecodingKey::from_jwk(jwk).map_err(|_| invalid())?, alg));
                }
                let fresh = keys.fetched.is_some_and(|t| t.elapsed() < self.min_refresh);
                if attempt > 0 || fresh {
                    return Err(invalid());
                }
            }
            let mut keys = self.keys.write().await;
            if keys.fetched.is_none_or(|t| t.elapsed() >= self.min_refresh) {
                let set = self.fetch_keys(url).await?;
                keys.set = Some(set);
                keys.fetched = Some(Instant::now());
            }
        }
        Err(invalid())
    }

    /// Checks a JWT and returns what it says; UNAUTHENTICATED for anything wrong.
    pub async fn verify(&self, token: &str) -> AppResult<JwtClaims> {
        let header = decode_header(token).map_err(|_| invalid())?;
        let (key, alg) = match (header.alg, &self.cfg.jwt_hs256_secret, &self.cfg.jwt_jwks_url) {
            (Algorithm::HS256, Some(secret), _) => (DecodingKey::from_secret(secret.0.as_bytes()), Algorithm::HS256),
            (Algorithm::RS256 | Algorithm::ES256, _, Some(url)) => {
                let kid = header.kid.as_deref().ok_or_else(invalid)?;
                self.jwks_key(url, kid).await?
            }
            _ => return Err(invalid()),
        };
        if alg != header.alg {
            return Err(invalid());
        }
        let mut v = Validation::new(alg);
        v.leeway = 5;
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v.set_issuer(&[self.cfg.jwt_issuer.as_deref().unwrap_or_default()]);
        v.set_audience(&[self.cfg.jwt_audience.as_deref().unwrap_or_default()]);
        let data = decode::<Value>(token, &key, &v).map_err(|_| invalid())?;
        let claims = data.claims;
        let subject = claims[self.cfg.jwt_account_claim.as_str()]
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= 255)
            .ok_or_else(invalid)?
            .to_string();
        // With a role claim configured, the token alone decides: ADMIN when it says so,
        // USER when it says anything else or nothing. Without one, the account's role.
        let role = self.cfg.jwt_role_claim.as_deref().map(|c| match claims[c].as_str() {
            Some(r) if r.eq_ignore_ascii_case("admin") => Role::Admin,
            _ => Role::User,
        });
        let name = claims["name"].as_str().or_else(|| claims["email"].as_str()).map(|n| n.chars().take(100).collect());
        let expires_at = claims["exp"].as_i64().ok_or_else(invalid)?;
        Ok(JwtClaims { subject, role, name, expires_at })
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_jwt;

    #[test]
    fn only_three_part_base64url_tokens_look_like_jwts() {
        assert!(looks_like_jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!looks_like_jwt("sbq_abc"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c d"));
    }
}
