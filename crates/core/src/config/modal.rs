//! Settings of the Modal backend, part of `sandboxql serve`'s command line.

use clap::Args;

use super::Secret;

/// Settings of the Modal backend. The token pair is the one `modal token new` writes;
/// it stays in this process and is never passed into a sandbox.
#[derive(Debug, Clone, Args)]
pub struct ModalConfig {
    /// Modal token id.
    #[arg(long, env = "MODAL_TOKEN_ID", hide_env_values = true)]
    pub modal_token_id: Option<Secret>,
    /// Modal token secret.
    #[arg(long, env = "MODAL_TOKEN_SECRET", hide_env_values = true)]
    pub modal_token_secret: Option<Secret>,
    /// Modal API endpoint (gRPC over HTTP/2; `http://` for a local fake).
    #[arg(long, env = "MODAL_SERVER_URL", default_value = "https://api.modal.com")]
    pub modal_server_url: String,
    /// Modal environment; empty means the workspace's default.
    #[arg(long, env = "MODAL_ENVIRONMENT", default_value = "")]
    pub modal_environment: String,
    /// Name of the Modal app that owns sandboxql's sandboxes.
    #[arg(long, env = "SANDBOXQL_MODAL_APP", default_value = "sandboxql")]
    pub modal_app_name: String,
    /// Modal image builder version used to build the template images.
    #[arg(long, env = "MODAL_IMAGE_BUILDER_VERSION", default_value = "2025.06")]
    pub modal_image_builder_version: String,
    /// Attempts per Modal call on UNAVAILABLE / DEADLINE_EXCEEDED before giving up.
    #[arg(long, env = "SANDBOXQL_MODAL_MAX_ATTEMPTS", default_value_t = 5)]
    pub modal_max_attempts: u32,
    /// First retry delay in milliseconds (doubles per attempt up to the cap).
    #[arg(long, env = "SANDBOXQL_MODAL_RETRY_BASE_MS", default_value_t = 100)]
    pub modal_retry_base_ms: u64,
    /// Longest delay between two attempts, in milliseconds.
    #[arg(long, env = "SANDBOXQL_MODAL_RETRY_CAP_MS", default_value_t = 5000)]
    pub modal_retry_cap_ms: u64,
    /// Container ports every Modal sandbox opens, each through a Modal tunnel, when it is
    /// made (as `Sandbox.create(encrypted_ports=…)` does): the ports `exposePort` can
    /// preview there. Modal fixes a sandbox's ports at create, so a changed list reaches a
    /// sandbox at its next wake. Empty (`--modal-preview-ports=`): no tunnels, no previews.
    #[arg(
        long,
        env = "SANDBOXQL_MODAL_PREVIEW_PORTS",
        value_delimiter = ',',
        num_args = 0..,
        default_values_t = [3000u16, 5173, 8000, 8080]
    )]
    pub modal_preview_ports: Vec<u16>,
    /// A root certificate (PEM) trusted for Modal's tunnels besides the public web roots:
    /// a private Modal deployment, or a test's fake.
    #[arg(long, env = "SANDBOXQL_MODAL_TUNNEL_CA")]
    pub modal_tunnel_ca: Option<std::path::PathBuf>,
}
