//! Every setting the server reads, from flags or environment variables.
//!
//! Nothing else in the crate reads the environment: a setting that is not here does not
//! exist, and `sandboxql --help` documents each one. Every config type lives in this
//! module, so lower layers (backends, runs, storage) depend on it and never the reverse.

mod auth;
mod broker;
mod checkpoint_limits;
mod commands;
mod gateway;
mod git_limits;
mod hosts;
mod io_limits;
mod limits;
mod modal;
mod preview;
mod preview_limits;
mod process_limits;
mod request_limits;
mod sandbox;
mod storage_limits;
mod warm_limits;
mod webhook_limits;

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, ValueEnum};

pub use self::{
    auth::JwtConfig,
    broker::BrokerConfig,
    checkpoint_limits::CheckpointLimits,
    commands::{AccountsCommand, Cli, Command, LogFormat, RelayArgs, TokensCommand},
    gateway::GatewayConfig,
    git_limits::GitLimits,
    hosts::HostsConfig,
    io_limits::IoLimits,
    limits::Limits,
    modal::ModalConfig,
    preview::PreviewConfig,
    preview_limits::PreviewLimits,
    process_limits::ProcessLimits,
    request_limits::RequestLimits,
    sandbox::{BoundsMode, JailMode, SandboxConfig},
    storage_limits::StorageLimits,
    warm_limits::WarmLimits,
    webhook_limits::WebhookLimits,
};

/// Where the server keeps its state; shared by `serve` and the admin commands.
#[derive(Debug, Clone, Args)]
pub struct StoreConfig {
    /// Directory for the SQLite file, local workspaces and the filesystem blob store.
    #[arg(long, env = "SANDBOXQL_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://…` or `postgres://…`); default: a SQLite file in the data dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Maximum database connections in the pool.
    #[arg(long, env = "SANDBOXQL_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

impl StoreConfig {
    /// The database URL in force: the flag, or the embedded SQLite default.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("sandboxql.db").display()),
        }
    }
}

/// Which implementation runs sandboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// A workspace directory per sandbox on this host.
    Local,
    /// Modal's sandboxes over its gRPC API.
    Modal,
}

/// Settings of `sandboxql serve`.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "SANDBOXQL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Storage settings.
    #[command(flatten)]
    pub store: StoreConfig,
    /// Sandbox backend.
    #[arg(long, env = "SANDBOXQL_BACKEND", value_enum, default_value = "local")]
    pub backend: BackendKind,
    /// Query limits.
    #[command(flatten)]
    pub limits: Limits,
    /// How Claude runs.
    #[command(flatten)]
    pub runs: RunConfig,
    /// What sandboxes are made from and how they are confined and bounded.
    #[command(flatten)]
    pub sandbox: SandboxConfig,
    /// Where snapshots are stored.
    #[command(flatten)]
    pub storage: StorageConfig,
    /// How to reach Modal (backend `modal`).
    #[command(flatten)]
    pub modal: ModalConfig,
    /// HTTP settings.
    #[command(flatten)]
    pub http: HttpConfig,
    /// Sign-in with the embedding product's JWTs.
    #[command(flatten)]
    pub jwt: JwtConfig,
    /// The Anthropic gateway between sandboxes and the API.
    #[command(flatten)]
    pub gateway: GatewayConfig,
    /// Preview URLs of sandbox ports.
    #[command(flatten)]
    pub preview: PreviewConfig,
    /// Account credentials and the broker that adds them.
    #[command(flatten)]
    pub broker: BrokerConfig,
    /// The host of this instance's local sandboxes and the channel to other hosts.
    #[command(flatten)]
    pub hosts: HostsConfig,
    /// Deliver webhooks to private, loopback and link-local addresses too (development
    /// and tests only: in production an endpoint there could reach the server's own
    /// network).
    #[arg(long, env = "SANDBOXQL_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// Name of this server instance; runs it left RUNNING are marked INTERRUPTED when an
    /// instance of the same name starts. Default: host name and data dir.
    #[arg(long, env = "SANDBOXQL_INSTANCE_ID")]
    pub instance_id: Option<String>,
}

/// Which blob store holds snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StorageKind {
    /// Files under `{data_dir}/blobs`.
    Fs,
    /// An S3 bucket (AWS or S3-compatible).
    S3,
}

/// Snapshot storage settings.
#[derive(Debug, Clone, Args)]
pub struct StorageConfig {
    /// Blob store for snapshots.
    #[arg(long, env = "SANDBOXQL_STORAGE", value_enum, default_value = "fs")]
    pub storage: StorageKind,
    /// S3 bucket (3+ characters).
    #[arg(long, env = "SANDBOXQL_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 region.
    #[arg(long, env = "SANDBOXQL_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Endpoint URL of an S3-compatible service (MinIO, R2, moto…).
    #[arg(long, env = "SANDBOXQL_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most self-hosted services.
    #[arg(long, env = "SANDBOXQL_S3_PATH_STYLE")]
    pub s3_path_style: bool,
}

/// A secret setting: never printed by `Debug`, so a logged config cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// Settings of Claude runs and of the processes they start.
#[derive(Debug, Clone, Args)]
pub struct RunConfig {
    /// The Claude Code command (a name on PATH or a path).
    #[arg(long, env = "CLAUDE_BIN", default_value = "claude")]
    pub claude_bin: String,
    /// Ask Claude for token-level deltas (`--include-partial-messages`) so text appears
    /// live; on unless `--no-claude-partial-messages` (or the environment variable is
    /// `false`).
    #[arg(
        long = "no-claude-partial-messages",
        env = "SANDBOXQL_CLAUDE_PARTIAL_MESSAGES",
        action = clap::ArgAction::SetFalse
    )]
    pub claude_partial_messages: bool,
}

/// HTTP settings that are not limits.
#[derive(Debug, Clone, Args)]
pub struct HttpConfig {
    /// Origins of browser apps allowed to call the API (comma-separated, e.g.
    /// `https://app.example.com`); none means same-origin only.
    #[arg(long, env = "SANDBOXQL_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Run only these documents: a JSON file of `{"<sha256>": "<query>"}` (or Apollo's
    /// persisted query manifest). Anything else answers `UNTRUSTED_DOCUMENT`.
    #[arg(long, env = "SANDBOXQL_TRUSTED_DOCUMENTS")]
    pub trusted_documents: Option<std::path::PathBuf>,
    /// Refuse introspection (`__schema`, `__type`): for production deployments whose
    /// clients ship their queries; GraphiQL and code generators then cannot read the schema.
    #[arg(long, env = "SANDBOXQL_NO_INTROSPECTION")]
    pub no_introspection: bool,
    /// Serve `/metrics` on this address of its own (e.g. `127.0.0.1:9464`) instead of the
    /// API's port.
    #[arg(long, env = "SANDBOXQL_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token that opens `/metrics` on the API's port; without it (and without
    /// `--metrics-listen`), `/metrics` is not served there.
    #[arg(long, env = "SANDBOXQL_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{JwtConfig, RunConfig};

    #[derive(Parser)]
    struct Switches {
        #[command(flatten)]
        jwt: JwtConfig,
        #[command(flatten)]
        runs: RunConfig,
    }

    /// Boolean settings are switches on the command line and `true`/`false` in the
    /// environment. One test, because the environment is the process's (nextest runs
    /// each test in its own).
    #[test]
    fn booleans_are_switches_and_the_environment_says_true_or_false() {
        let s = Switches::parse_from(["x"]);
        assert!(!s.jwt.jwt_auto_provision);
        assert!(s.runs.claude_partial_messages, "partial messages are on by default");
        let s = Switches::parse_from(["x", "--jwt-auto-provision", "--no-claude-partial-messages"]);
        assert!(s.jwt.jwt_auto_provision);
        assert!(!s.runs.claude_partial_messages);
        assert!(Switches::try_parse_from(["x", "--jwt-auto-provision", "true"]).is_err(), "a switch takes no value");

        // SAFETY: nothing else in this test process reads or writes the environment.
        unsafe {
            std::env::set_var("SANDBOXQL_JWT_AUTO_PROVISION", "true");
            std::env::set_var("SANDBOXQL_CLAUDE_PARTIAL_MESSAGES", "false");
        }
        let s = Switches::parse_from(["x"]);
        assert!(s.jwt.jwt_auto_provision);
        assert!(!s.runs.claude_partial_messages);
        unsafe {
            std::env::set_var("SANDBOXQL_JWT_AUTO_PROVISION", "false");
            std::env::set_var("SANDBOXQL_CLAUDE_PARTIAL_MESSAGES", "true");
        }
        let s = Switches::parse_from(["x"]);
        assert!(!s.jwt.jwt_auto_provision);
        assert!(s.runs.claude_partial_messages);
    }
}
