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

/// Whether a token has the shape of ours: the prefix and 32 random bytes in url-safe
/// base64.
pub fn is_api_token(token: &str) -> bool {
    token.starts_with(PREFIX) && token.len() == PREFIX.len() + 43
}

/// The viewer of an API token, with its expiry (None: it does not expire). Unknown,
/// revoked, expired and disabled all answer UNAUTHENTICATED with the same words.
pub(super) async fn lookup(
    db: &DatabaseConnection,
    hash: &str,
) -> AppResult<(Viewer, Option<chrono::DateTime<chrono::Utc>>)> {
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenSha256.eq(hash))
        .find_also_related(account::Entity)
        .one(db)
        .await?;
    let t = now();
    let (tok, acct) = match found {
        Some((tok, Some(acct)))
            if tok.revoked_at.is_none() && !acct.disabled && tok.expires_at.is_none_or(|e| e > t) =>
        {
            (tok, acct)
        }
        _ => return Err(AppError::Unauthenticated("invalid or expired token")),
    };
    let expires_at = tok.expires_at;
    let read_only = tok.read_only;
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
    Ok((Viewer { account_id: acct.id, organization_id: acct.organization_id, role: acct.role, read_only }, expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_shape_is_an_api_token() {
        assert!(is_api_token(&generate_token()));
        for bad in ["", "sbq_short", "xyz", "eyJ.eyJ.sig"] {
            assert!(!is_api_token(bad), "{bad:?}");
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
