//! Preview URLs: where the preview listener is, which host names it answers to, and the
//! bounds of what it carries. The listener is its own origin (`{port}-{sandboxId}.
//! {previewDomain}`), never the API's, so a page a sandbox serves cannot read the API
//! with the user's credentials.

use std::net::SocketAddr;

use clap::Args;

/// Where previews are served and how their URLs are written.
#[derive(Debug, Clone, Args)]
pub struct PreviewConfig {
    /// Address of the preview listener (port 0 picks a free port; default: the API's
    /// address with the next port, or a free one when the API's port is 0).
    #[arg(long, env = "SANDBOXQL_PREVIEW_LISTEN")]
    pub preview_listen: Option<SocketAddr>,
    /// The domain preview hosts end in: `{port}-{sandboxId}.{domain}` (wildcard DNS to
    /// this server; `localhost` works in browsers without any).
    #[arg(long, env = "SANDBOXQL_PREVIEW_DOMAIN", default_value = "localhost")]
    pub preview_domain: String,
    /// Scheme of preview URLs as users open them (`https` behind a TLS proxy; the
    /// preview cookie is then `Secure`).
    #[arg(long, env = "SANDBOXQL_PREVIEW_SCHEME", default_value = "http")]
    pub preview_scheme: String,
    /// Port in preview URLs as users open them (None: the listener's own; 0: none, the
    /// scheme's default).
    #[arg(long, env = "SANDBOXQL_PREVIEW_PUBLIC_PORT")]
    pub preview_public_port: Option<u16>,
}

impl PreviewConfig {
    /// The address to bind beside an API listening at `api`.
    pub fn listen_beside(&self, api: SocketAddr) -> SocketAddr {
        self.preview_listen.unwrap_or_else(|| {
            let port = if api.port() == 0 { 0 } else { api.port().saturating_add(1) };
            SocketAddr::new(api.ip(), port)
        })
    }
}
