//! API tokens: random, shown once, stored as sha256, looked up by hash.

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

/// Resolves an `Authorization` header value (`Bearer <token>`) to the caller.
///
/// Unknown, revoked and disabled all answer UNAUTHENTICATED with a short reason; the
/// reason never says whether a token exists.
pub async fn resolve_bearer(db: &DatabaseConnection, header: Option<&str>) -> AppResult<Viewer> {
    let header = header.ok_or(AppError::Unauthenticated("missing bearer token"))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AppError::Unauthenticated("expected 'Authorization: Bearer <token>'"))?;
    if !token.starts_with(PREFIX) || token.len() > 128 {
        return Err(AppError::Unauthenticated("invalid token"));
    }
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenSha256.eq(hash_token(token)))
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
    fn tokens_are_random_prefixed_and_stored_only_as_a_hash() {
        let (a, b) = (generate_token(), generate_token());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 43);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(!hash_token(&a).contains(&a[PREFIX.len()..]));
    }
}
