//! Sign-in with the embedding product's own JWTs, beside sandboxql's API tokens.

use clap::Args;

use super::Secret;

/// How the product's JWTs are checked and mapped to accounts. JWT sign-in is on when an
/// issuer, an audience and a key source (an HS256 secret or a JWKS URL) are set.
#[derive(Debug, Clone, Args)]
pub struct JwtConfig {
    /// Issuer (`iss`) the product's JWTs must carry.
    #[arg(long, env = "SANDBOXQL_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Audience (`aud`) the product's JWTs must carry.
    #[arg(long, env = "SANDBOXQL_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Shared secret of HS256-signed JWTs.
    #[arg(long, env = "SANDBOXQL_JWT_HS256_SECRET", hide_env_values = true)]
    pub jwt_hs256_secret: Option<Secret>,
    /// JWKS URL of RS256/ES256 signing keys (fetched, cached, refetched on an unknown `kid`).
    #[arg(long, env = "SANDBOXQL_JWT_JWKS_URL")]
    pub jwt_jwks_url: Option<String>,
    /// Claim holding the product's user id, matched to `Account.externalId`.
    #[arg(long, env = "SANDBOXQL_JWT_ACCOUNT_CLAIM", default_value = "sub")]
    pub jwt_account_claim: String,
    /// Claim holding the role (`ADMIN` or `USER`); without it every JWT user is a USER.
    #[arg(long, env = "SANDBOXQL_JWT_ROLE_CLAIM")]
    pub jwt_role_claim: Option<String>,
    /// Create the account on the first sign-in of an unknown user (a switch; the
    /// environment variable takes `true` or `false`).
    #[arg(long, env = "SANDBOXQL_JWT_AUTO_PROVISION")]
    pub jwt_auto_provision: bool,
}

impl JwtConfig {
    /// Whether JWT sign-in is configured at all.
    pub fn enabled(&self) -> bool {
        self.jwt_issuer.is_some()
            && self.jwt_audience.is_some()
            && (self.jwt_hs256_secret.is_some() || self.jwt_jwks_url.is_some())
    }
}
