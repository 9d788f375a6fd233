//! What the broker needs of the services: the address every command in a sandbox gets
//! (a URL carrying a token signed for that sandbox, so the broker knows whose sandbox
//! calls and no sandbox can pass for another), and for a token, the sandbox, its account
//! and that account's credential for a host.
//!
//! Git in a sandbox is pointed at the broker by environment only (`GIT_CONFIG_COUNT`:
//! `url.{broker}/git/.insteadOf https://`), so `.git/config` keeps the real remote, and
//! neither the files nor the environment hold a secret: the token opens the broker for
//! this sandbox's account only while the sandbox is RUNNING, and the broker holds the
//! credentials.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use sha2::Sha256;
use uuid::Uuid;

use super::{Credentials, Opened};
use crate::{
    backend::{ExternalId, sandbox_env::SandboxEnv},
    entity::{enums::SandboxStatus, sandbox},
    error::AppResult,
};

/// Name of the broker's signing key in `server_keys`.
pub const KEY_NAME: &str = "broker-signing";

/// The path under the gateway the broker answers on.
pub const PATH: &str = "/broker";

/// Signs and checks sandboxes' broker tokens.
#[derive(Clone)]
pub struct BrokerTokens {
    key: Vec<u8>,
}

impl BrokerTokens {
    /// Tokens under `key` (the shared `broker-signing` key).
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, external_id: &str) -> Hmac<Sha256> {
        // An HMAC takes a key of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(format!("sandboxql-broker|{external_id}").as_bytes());
        mac
    }

    /// The token of the sandbox the backend knows as `external_id`: `{id}.{mac}`.
    pub fn token(&self, external_id: &str) -> String {
        let tag = self.mac(external_id).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(external_id), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The backend's id of the sandbox a token was signed for, if it verifies.
    pub fn verify(&self, token: &str) -> Option<String> {
        let (id, tag) = token.split_once('.')?;
        let id = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(&id).verify_slice(&tag).ok()?;
        Some(id)
    }
}

impl SandboxEnv for BrokerTokens {
    fn env(&self, id: &ExternalId, gateway: &str) -> Vec<(String, String)> {
        let base = format!("{}{PATH}/{}", gateway.trim_end_matches('/'), self.token(id.as_str()));
        vec![
            ("GIT_CONFIG_COUNT".into(), "1".into()),
            ("GIT_CONFIG_KEY_0".into(), format!("url.{base}/git/.insteadOf")),
            ("GIT_CONFIG_VALUE_0".into(), "https://".into()),
            // A host without a credential answers 401: git must fail, not ask.
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
            ("SANDBOXQL_BROKER_URL".into(), format!("{base}/http")),
        ]
    }
}

/// A sandbox a broker token opens.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The sandbox.
    pub sandbox_id: Uuid,
    /// Its account, whose credentials it gets.
    pub account_id: Uuid,
}

/// The broker's view of the services.
#[derive(Clone)]
pub struct Broker {
    db: DatabaseConnection,
    tokens: BrokerTokens,
    credentials: Credentials,
}

impl Broker {
    /// The broker over `db`, checking `tokens` and opening `credentials`.
    pub fn new(db: DatabaseConnection, tokens: BrokerTokens, credentials: Credentials) -> Self {
        Self { db, tokens, credentials }
    }

    /// The RUNNING, undeleted sandbox a token was signed for (None: it opens nothing).
    pub async fn caller(&self, token: &str) -> AppResult<Option<Caller>> {
        let Some(ext) = self.tokens.verify(token) else { return Ok(None) };
        let row = sandbox::Entity::find()
            .filter(sandbox::Column::ExternalId.eq(ext))
            .filter(sandbox::Column::DeletedAt.is_null())
            .filter(sandbox::Column::Status.eq(SandboxStatus::Running))
            .one(&self.db)
            .await?;
        Ok(row.map(|r| Caller { sandbox_id: r.id, account_id: r.account_id }))
    }

    /// The caller's account's credential for `host`.
    pub async fn credential(&self, caller: &Caller, host: &str) -> AppResult<Option<Opened>> {
        self.credentials.open_for(caller.account_id, host).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_sandbox_and_no_other() {
        let t = BrokerTokens::new(b"k".repeat(32));
        let tok = t.token("sb-123");
        assert_eq!(t.verify(&tok).as_deref(), Some("sb-123"));
        let (_, tag) = tok.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("sb-456"));
        assert_eq!(t.verify(&forged), None);
        assert_eq!(BrokerTokens::new(b"j".repeat(32)).verify(&tok), None, "another server's key");
        let env = t.env(&"sb-123".to_string().into(), "http://127.0.0.1:9/");
        let rewrite = env.iter().find(|(k, _)| k == "GIT_CONFIG_KEY_0").unwrap();
        assert_eq!(rewrite.1, format!("url.http://127.0.0.1:9/broker/{tok}/git/.insteadOf"));
    }
}
