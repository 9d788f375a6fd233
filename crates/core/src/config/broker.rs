//! The credential broker: the key account credentials are sealed with at rest, the keys
//! they may still be sealed with (rotation), and what the broker trusts when it carries a
//! sandbox's request to a host with the credential added.

use std::path::PathBuf;

use clap::Args;

use super::Secret;

/// How credentials are kept and how the broker reaches their hosts.
#[derive(Debug, Clone, Args)]
pub struct BrokerConfig {
    /// The key credentials are sealed with (AES-256-GCM): 32 random bytes, base64
    /// (`openssl rand -base64 32`). Without it `setCredential` is refused: a credential
    /// is never stored in the clear. Keep it out of the database's backups.
    #[arg(long, env = "SANDBOXQL_SECRETS_KEY", hide_env_values = true)]
    pub secrets_key: Option<Secret>,
    /// Earlier keys, comma-separated: credentials sealed with one are still opened, and
    /// resealed with `--secrets-key` at start-up (then the old key can go).
    #[arg(long, env = "SANDBOXQL_SECRETS_OLD_KEYS", value_delimiter = ',', hide_env_values = true)]
    pub secrets_old_keys: Vec<Secret>,
    /// PEM certificates the broker trusts for its upstreams besides the public web roots
    /// (a company's git server behind a private CA; the tests' server).
    #[arg(long, env = "SANDBOXQL_BROKER_CA", value_delimiter = ',')]
    pub broker_ca: Vec<PathBuf>,
}
