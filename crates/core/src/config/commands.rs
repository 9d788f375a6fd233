//! The command line: `serve`, the operator's account and token commands, `schema`, and the
//! jail's `relay`.

use clap::{Parser, Subcommand};

use super::{Config, StoreConfig};

/// The command line: one subcommand per thing an operator does.
#[derive(Debug, Parser)]
#[command(name = "sandboxql", version, about = "GraphQL control plane for Claude Code sandboxes")]
pub struct Cli {
    /// How logs are written to stderr: `text` (colours only on a terminal) or `json` (one
    /// object per line, for log collectors).
    #[arg(long, global = true, env = "SANDBOXQL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Send traces (one span per GraphQL operation, with what runs inside it) to this
    /// OpenTelemetry collector over OTLP/HTTP, e.g. `http://otel-collector:4318`.
    #[arg(long, global = true, env = "SANDBOXQL_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; ANSI colours only when stderr is a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// Operator commands; each takes the same storage flags so they act on the server's data.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GraphQL server.
    Serve(Box<Config>),
    /// Manage accounts.
    Accounts {
        /// Account action.
        #[command(subcommand)]
        action: AccountsCommand,
    },
    /// Print the GraphQL schema (SDL), as committed in schema.graphql.
    Schema,
    /// Manage API tokens.
    Tokens {
        /// Token action.
        #[command(subcommand)]
        action: TokensCommand,
    },
    /// Inside a jail: forward loopback ports to host sockets and run a command (started
    /// by the local backend, not by hand).
    #[command(hide = true)]
    Relay(RelayArgs),
}

/// `sandboxql relay …`: what the jail's relay forwards and runs. Parsed on its own too
/// (`relay::main_fast`), before anything of the server starts.
#[derive(Debug, clap::Parser)]
#[command(name = "relay")]
pub struct RelayArgs {
    /// `127.0.0.1:PORT=/path/to/socket`, repeatable.
    #[arg(long)]
    pub forward: Vec<String>,
    /// Connections carried at once (`Limits::jail_max_connections`).
    #[arg(long, default_value_t = 1)]
    pub max_connections: usize,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// `sandboxql accounts …`
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// List accounts, newest first (id, role, disabled, external id, name).
    List {
        /// Storage settings of the server.
        #[command(flatten)]
        store: StoreConfig,
    },
    /// Disable an account: all its tokens are refused from the next request on.
    Disable {
        /// Account id (UUID).
        #[arg(long)]
        id: String,
        /// Storage settings of the server.
        #[command(flatten)]
        store: StoreConfig,
    },
    /// Set an account's budget: USD per UTC day and month through the gateway, and runs
    /// at once (each omitted cap is removed).
    Budget {
        /// Account id (UUID).
        #[arg(long)]
        id: String,
        /// Most USD per UTC day.
        #[arg(long)]
        daily_usd: Option<f64>,
        /// Most USD per UTC calendar month.
        #[arg(long)]
        monthly_usd: Option<f64>,
        /// Most runs at once.
        #[arg(long)]
        max_concurrent_runs: Option<i64>,
        /// Storage settings of the server.
        #[command(flatten)]
        store: StoreConfig,
    },
    /// Create an account and print a token for it (the token alone on the last line).
    Create {
        /// Display name of the account.
        #[arg(long)]
        name: String,
        /// Make the account an administrator (sees every account's sandboxes).
        #[arg(long)]
        admin: bool,
        /// The embedding product's id of this user (what its JWTs name).
        #[arg(long)]
        external_id: Option<String>,
        /// Storage settings of the server.
        #[command(flatten)]
        store: StoreConfig,
    },
}

/// `sandboxql tokens …`
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List an account's tokens (never their secrets).
    List {
        /// Account id (UUID).
        #[arg(long)]
        account: String,
        /// Storage settings of the server.
        #[command(flatten)]
        store: StoreConfig,
    },
    /// Revoke a token by its id (printed when it was created): refused from the next request on.
    Revoke {
        /// Token id (UUID).
        #[arg(long)]
        id: String,
        /// Storage settings of the server.
        #[command(flatten)]
        store: StoreConfig,
    },
    /// Create a token for an account and print it (alone on the last line).
    Create {
        /// Account id (UUID).
        #[arg(long)]
        account: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// When the token stops working (RFC 3339, e.g. 2027-01-31T00:00:00Z).
        #[arg(long)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        /// The token may run queries and subscriptions only.
        #[arg(long)]
        read_only: bool,
        /// Storage settings of the server.
        #[command(flatten)]
        store: StoreConfig,
    },
}
