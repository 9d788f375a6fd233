//! Resolves `Authorization: Bearer …` to a viewer, for every transport: sandboxql's own
//! API tokens, and (when configured) the embedding product's JWTs, mapped to accounts by
//! `externalId` and created on first use when auto-provisioning is on.
//!
//! Answers are remembered for a short time (a limit, one second by default, never past
//! the token's own expiry), so a request costs no database round trip for its token; a
//! revocation or a disabled account takes effect when the entry expires.

use std::time::{Duration, Instant};

use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::{
    Viewer,
    jwt::{JwtClaims, JwtVerifier, looks_like_jwt},
    token::{hash_token, is_api_token, lookup},
};
use crate::{
    cache::Bounded,
    config::Limits,
    entity::{account, enums::Role, new_id, now},
    error::{AppError, AppResult},
};

/// Resolves bearer tokens to viewers.
pub struct Authenticator {
    db: DatabaseConnection,
    jwt: Option<JwtVerifier>,
    auto_provision: bool,
    cache: Bounded<String, Viewer>,
    ttl: Duration,
    max_token_bytes: usize,
}

fn bearer(header: Option<&str>, max_bytes: usize) -> AppResult<&str> {
    let header = header.ok_or(AppError::Unauthenticated("missing bearer token"))?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= max_bytes)
        .ok_or(AppError::Unauthenticated("expected 'Authorization: Bearer <token>'"))
}

/// When a cached answer must be dropped: after the TTL, or when the token expires.
fn keep_until(ttl: Duration, expires_at: Option<chrono::DateTime<chrono::Utc>>) -> Instant {
    let ttl = match expires_at {
        Some(e) => ttl.min((e - now()).to_std().unwrap_or_default()),
        None => ttl,
    };
    Instant::now() + ttl
}

impl Authenticator {
    /// An authenticator over the accounts in `db`, checking JWTs with `jwt` when given,
    /// caching answers as `limits` say.
    pub fn new(db: DatabaseConnection, jwt: Option<JwtVerifier>, auto_provision: bool, limits: &Limits) -> Self {
        let ttl = Duration::from_millis(limits.auth_cache_ttl_ms);
        let cache = Bounded::by_count(limits.auth_cache_entries as usize, Some(ttl));
        Self { db, jwt, auto_provision, cache, ttl, max_token_bytes: limits.io.max_token_bytes }
    }

    fn remember(&self, hash: String, viewer: &Viewer, until: Instant) {
        if !self.ttl.is_zero() {
            self.cache.insert_until(hash, viewer.clone(), until);
        }
    }

    /// Forgets every remembered answer (after a change made here: a revoked token or a
    /// disabled account is refused at once on this instance).
    pub fn forget_all(&self) {
        self.cache.clear();
    }

    /// Resolves an `Authorization` header value (`Bearer <token>`) to the caller.
    ///
    /// Unknown, revoked, expired, disabled and badly signed all answer UNAUTHENTICATED
    /// with a short reason that never says whether a token exists.
    pub async fn resolve(&self, header: Option<&str>) -> AppResult<Viewer> {
        let token = bearer(header, self.max_token_bytes)?;
        let hash = hash_token(token);
        if let Some(v) = self.cache.get(&hash) {
            return Ok(v);
        }
        let (viewer, until) = if is_api_token(token) {
            let (viewer, expires_at) = lookup(&self.db, &hash).await?;
            (viewer, keep_until(self.ttl, expires_at))
        } else if let (Some(jwt), true) = (&self.jwt, looks_like_jwt(token)) {
            let claims = jwt.verify(token).await?;
            let expires_at = chrono::DateTime::from_timestamp(claims.expires_at, 0);
            (self.jwt_viewer(claims).await?, keep_until(self.ttl, expires_at))
        } else {
            return Err(AppError::Unauthenticated("invalid token"));
        };
        self.remember(hash, &viewer, until);
        Ok(viewer)
    }

    /// The account a JWT names (by `externalId`), created on first use when allowed.
    async fn jwt_viewer(&self, claims: JwtClaims) -> AppResult<Viewer> {
        let find = || account::Entity::find().filter(account::Column::ExternalId.eq(claims.subject.clone()));
        let found = match find().one(&self.db).await? {
            Some(a) => a,
            None if self.auto_provision => {
                let t = now();
                let row = account::ActiveModel {
                    id: Set(new_id()),
                    name: Set(claims.name.clone().unwrap_or_else(|| claims.subject.chars().take(100).collect())),
                    role: Set(claims.role.unwrap_or(Role::User)),
                    organization_id: Set(None),
                    disabled: Set(false),
                    external_id: Set(Some(claims.subject.clone())),
                    created_at: Set(t),
                    updated_at: Set(t),
                };
                // Two first requests at once: one insert wins, both read the same row.
                if let Err(e) = row.insert(&self.db).await {
                    tracing::debug!(error = %e, "auto-provisioned account already exists");
                }
                find().one(&self.db).await?.ok_or(AppError::Unauthenticated("invalid token"))?
            }
            None => return Err(AppError::Unauthenticated("no account for this user")),
        };
        if found.disabled {
            return Err(AppError::Unauthenticated("invalid token"));
        }
        let role = claims.role.unwrap_or(found.role);
        Ok(Viewer { account_id: found.id, organization_id: found.organization_id, role, read_only: false })
    }
}
