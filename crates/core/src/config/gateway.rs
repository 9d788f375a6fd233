//! The Anthropic gateway: the upstream it forwards to with the operator's key, where it
//! listens, how sandboxes reach it, what else they may reach, and what tokens cost.

use std::{net::SocketAddr, path::PathBuf};

use clap::Args;

use super::Secret;

/// Where the gateway listens and what it forwards to. The operator's key is used here
/// only: sandboxes get a per-run token instead.
#[derive(Debug, Clone, Args)]
pub struct GatewayConfig {
    /// The operator's Anthropic API key: sent upstream by the gateway, never to a sandbox.
    #[arg(long, env = "ANTHROPIC_API_KEY", hide_env_values = true)]
    pub anthropic_api_key: Option<Secret>,
    /// The operator's Anthropic auth token (sent upstream as `Authorization: Bearer`).
    #[arg(long, env = "ANTHROPIC_AUTH_TOKEN", hide_env_values = true)]
    pub anthropic_auth_token: Option<Secret>,
    /// The upstream the gateway forwards to.
    #[arg(long, env = "ANTHROPIC_BASE_URL", default_value = "https://api.anthropic.com")]
    pub anthropic_base_url: String,
    /// Address of the gateway's own listener (port 0 picks one). Local sandboxes reach it
    /// through a socket in their jail; Modal sandboxes through `--gateway-public-url`.
    #[arg(long, env = "SANDBOXQL_GATEWAY_LISTEN", default_value = "127.0.0.1:0")]
    pub gateway_listen: SocketAddr,
    /// URL at which remote sandboxes (Modal) reach the gateway listener.
    #[arg(long, env = "SANDBOXQL_GATEWAY_PUBLIC_URL")]
    pub gateway_public_url: Option<String>,
    /// Hosts a jailed sandbox may reach besides the gateway, through an HTTPS proxy
    /// (`host[:port]`, port 443 by default; `*.example.com` for subdomains), e.g.
    /// `registry.npmjs.org,pypi.org,files.pythonhosted.org`.
    #[arg(long, env = "SANDBOXQL_SANDBOX_EGRESS", value_delimiter = ',')]
    pub sandbox_egress: Vec<String>,
    /// The `sandboxql` executable run inside jails as the network relay (default: this
    /// executable).
    #[arg(long, env = "SANDBOXQL_RELAY_BIN")]
    pub relay_bin: Option<PathBuf>,
    /// Price overrides, `model-prefix=input,output,cache-write,cache-read` in USD per
    /// million tokens, separated by `;` (the longest matching prefix wins; `*` matches
    /// any model).
    #[arg(long, env = "SANDBOXQL_MODEL_PRICES", value_delimiter = ';')]
    pub model_prices: Vec<String>,
}
