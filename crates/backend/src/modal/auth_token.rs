//! Modal's short-lived auth token (`AuthTokenGet`), sent as `x-modal-auth-token` on every
//! call as libmodal does. Its lifetime is the JWT's `exp` claim; it is refreshed between
//! 50 % and 60 % of the way through that lifetime (jittered, so many instances do not
//! refresh together), by one caller while the others keep using the still-valid token;
//! with no valid token every caller waits on that single fetch.

use std::sync::{Arc, RwLock};

use base64::Engine;
use chrono::{DateTime, Utc};
use rand::Rng;
use tonic::metadata::AsciiMetadataValue;

/// Lifetime assumed for a token whose JWT carries no `exp` (libmodal's default).
const DEFAULT_LIFETIME_SECS: i64 = 20 * 60;

/// A token and when to refresh it and when it stops being valid.
#[derive(Clone)]
pub(super) struct Held {
    pub value: AsciiMetadataValue,
    refresh_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// The `exp` claim of a JWT (seconds since the epoch), without checking its signature:
/// the server checks it, the client only needs to know when to fetch another.
pub(super) fn jwt_expiry(token: &str) -> Option<DateTime<Utc>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    DateTime::from_timestamp(claims.get("exp")?.as_i64()?, 0)
}

impl Held {
    /// A freshly fetched token.
    pub(super) fn new(token: &str, now: DateTime<Utc>) -> Option<Self> {
        let value = token.parse().ok()?;
        let expires_at = jwt_expiry(token).unwrap_or_else(|| now + chrono::Duration::seconds(DEFAULT_LIFETIME_SECS));
        let lifetime_ms = (expires_at - now).num_milliseconds().max(0);
        let fraction = 0.5 + rand::rng().random::<f64>() * 0.1;
        let refresh_at = now + chrono::Duration::milliseconds((lifetime_ms as f64 * fraction) as i64);
        Some(Self { value, refresh_at, expires_at })
    }

    /// Still accepted by the server.
    pub(super) fn valid(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }

    /// Time to fetch the next one.
    pub(super) fn due(&self, now: DateTime<Utc>) -> bool {
        now >= self.refresh_at
    }
}

/// The current token, shared by the interceptor (which reads it on every call) and the
/// refresher.
#[derive(Clone, Default)]
pub(super) struct TokenSlot {
    held: Arc<RwLock<Option<Held>>>,
    /// One fetch at a time.
    pub fetching: Arc<tokio::sync::Mutex<()>>,
}

impl TokenSlot {
    /// The token now held, if any.
    pub(super) fn current(&self) -> Option<Held> {
        self.held.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the held token.
    pub(super) fn set(&self, held: Held) {
        *self.held.write().unwrap_or_else(|e| e.into_inner()) = Some(held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(exp: i64) -> String {
        let enc = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", enc(serde_json::json!({"alg": "none"})), enc(serde_json::json!({"exp": exp})))
    }

    #[test]
    fn expiry_comes_from_the_jwt_and_refresh_at_half_to_sixty_percent() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let held = Held::new(&jwt(1_000_100), now).unwrap();
        assert_eq!(held.expires_at.timestamp(), 1_000_100);
        let at = (held.refresh_at - now).num_seconds();
        assert!((50..=60).contains(&at), "{at}");
        assert!(held.valid(now) && !held.due(now));
        assert!(held.due(now + chrono::Duration::seconds(61)));
        assert!(!held.valid(now + chrono::Duration::seconds(100)));
    }

    #[test]
    fn a_token_without_exp_lives_twenty_minutes() {
        let now = Utc::now();
        let held = Held::new("opaque-token", now).unwrap();
        assert_eq!((held.expires_at - now).num_seconds(), DEFAULT_LIFETIME_SECS);
        assert_eq!(jwt_expiry("a.b"), None);
    }
}
