//! API tokens: random, shown once, stored as sha256, looked up by hash.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use base64::Engine;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use super::Viewer;
use crate::{
    entity::{account, api_token, now},
    error::{AppError, AppResult},
};

/// Prefix that makes a leaked token recognisable to secret scanners.
const PREFIX: &str = "sbq_";

/// How stale `last_used_at` may get before a request refreshes it (spares a write per call).
const LAST_USED_GRANULARITY_SECS: i64 = 60;

/// A new token: 32 random bytes, url-safe, with a recognisable prefix.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Hex sha256 of a token: the only form that is stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token of an `Authorization: Bearer <token>` header value, checked for shape.
fn bearer_token(header: Option<&str>) -> AppResult<&str> {
    let header = header.ok_or(AppError::Unauthenticated("missing bearer token"))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AppError::Unauthenticated("expected 'Authorization: Bearer <token>'"))?;
    // 32 random bytes in url-safe base64 after the prefix: anything else is not ours.
    if !token.starts_with(PREFIX) || token.len() != PREFIX.len() + 43 {
        return Err(AppError::Unauthenticated("invalid token"));
    }
    Ok(token)
}

/// Resolves bearer tokens to viewers, remembering recent answers for a short time so a
/// request costs no database round trip for its token. Revocation and disabling take
/// effect when an entry expires (the TTL is a limit, default one second).
pub struct Authenticator {
    db: DatabaseConnection,
    cache: Mutex<HashMap<String, (Instant, Viewer)>>,
    ttl: Duration,
    capacity: usize,
}

impl Authenticator {
    /// An authenticator over the accounts in `db`, caching up to `capacity` tokens for `ttl`.
    pub fn new(db: DatabaseConnection, ttl: Duration, capacity: usize) -> Self {
        Self { db, cache: Mutex::default(), ttl, capacity }
    }

    fn cached(&self, hash: &str) -> Option<Viewer> {
        let map = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        map.get(hash).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    fn remember(&self, hash: String, viewer: &Viewer) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let mut map = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.capacity {
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        map.insert(hash, (Instant::now(), viewer.clone()));
    }

    /// Resolves an `Authorization` header value (`Bearer <token>`) to the caller.
    ///
    /// Unknown, revoked and disabled all answer UNAUTHENTICATED with a short reason; the
    /// reason never says whether a token exists.
    pub async fn resolve(&self, header: Option<&str>) -> AppResult<Viewer> {
        let hash = hash_token(bearer_token(header)?);
        if let Some(v) = self.cached(&hash) {
            return Ok(v);
        }
        let viewer = lookup(&self.db, &hash).await?;
        self.remember(hash, &viewer);
        Ok(viewer)
    }
}

async fn lookup(db: &DatabaseConnection, hash: &str) -> AppResult<Viewer> {
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenSha256.eq(hash))
        .find_also_related(account::Entity)
        .one(db)
        .await?;
    let (tok, acct) = match found {
        Some((tok, Some(acct))) if tok.revoked_at.is_none() && !acct.disabled => (tok, acct),
        _ => return Err(AppError::Unauthenticated("invalid token")),
    };
    let stale = tok.last_used_at.is_none_or(|t| (now() - t).num_seconds() >= LAST_USED_GRANULARITY_SECS);
    if stale {
        let db = db.clone();
        tokio::spawn(async move {
            let mut am: api_token::ActiveModel = tok.into();
            am.last_used_at = Set(Some(now()));
            if let Err(e) = am.update(&db).await {
                tracing::warn!(error = %e, "could not record token use");
            }
        });
    }
    Ok(Viewer { account_id: acct.id, organization_id: acct.organization_id, role: acct.role })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_headers_are_refused_before_any_lookup() {
        let good = generate_token();
        assert_eq!(bearer_token(Some(&format!("Bearer {good}"))).unwrap(), good);
        for bad in [None, Some(""), Some("Basic abc"), Some("Bearer "), Some("Bearer sbq_short"), Some("Bearer xyz")] {
            assert_eq!(bearer_token(bad).unwrap_err().code(), "UNAUTHENTICATED", "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_random_prefixed_and_stored_only_as_a_hash() {
        let (a, b) = (generate_token(), generate_token());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 43);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(!hash_token(&a).contains(&a[PREFIX.len()..]));
    }
}
