//! Bounds on preview URLs: how many ports a sandbox exposes, how much one preview carries
//! at once, and how long its links and cookies open it. Part of
//! [`Limits`](super::Limits), flattened.

use clap::Args;

/// Bounds of previews.
#[derive(Debug, Clone, Args)]
pub struct PreviewLimits {
    /// Ports one sandbox may expose at once.
    #[arg(long, env = "SANDBOXQL_PREVIEWS_PER_SANDBOX", default_value_t = 8)]
    pub previews_per_sandbox: u64,
    /// Connections carried to one preview at once (the rest wait to be served).
    #[arg(long, env = "SANDBOXQL_PREVIEW_MAX_CONNECTIONS", default_value_t = 64)]
    pub preview_max_connections: usize,
    /// Idle kept-alive connections to one preview's app, kept for its next requests.
    #[arg(long, env = "SANDBOXQL_PREVIEW_IDLE_CONNECTIONS", default_value_t = 8)]
    pub preview_idle_connections: usize,
    /// Largest request body sent to a preview, in bytes (larger: 413).
    #[arg(long, env = "SANDBOXQL_PREVIEW_MAX_BODY_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub preview_max_body_bytes: u64,
    /// Largest request head (request line and headers) a preview takes, in bytes.
    #[arg(long, env = "SANDBOXQL_PREVIEW_MAX_HEAD_BYTES", default_value_t = 64 * 1024)]
    pub preview_max_head_bytes: usize,
    /// Requests one HTTP/2 client connection carries at once (its concurrent streams).
    #[arg(long, env = "SANDBOXQL_PREVIEW_MAX_STREAMS", default_value_t = 100)]
    pub preview_max_streams: u32,
    /// Seconds a proxied connection (or websocket) may carry nothing before it is closed.
    #[arg(long, env = "SANDBOXQL_PREVIEW_IDLE_SECS", default_value_t = 300)]
    pub preview_idle_secs: u64,
    /// Milliseconds a preview request may use what an earlier one found of its preview
    /// (exposed? visible to whom? is the sandbox running?) instead of asking the database;
    /// a change on another instance holds here within this time, on this one at once.
    #[arg(long, env = "SANDBOXQL_PREVIEW_ROUTE_CACHE_MS", default_value_t = 1000)]
    pub preview_route_cache_ms: u64,
    /// Preview hosts whose routes are remembered (found or not: a flood of made-up hosts
    /// costs one lookup each per period, then none).
    #[arg(long, env = "SANDBOXQL_PREVIEW_ROUTE_CACHE_ENTRIES", default_value_t = 10_000)]
    pub preview_route_cache_entries: usize,
    /// Seconds a signed preview link from `Preview.link` may be opened.
    #[arg(long, env = "SANDBOXQL_PREVIEW_LINK_SECS", default_value_t = 300)]
    pub preview_link_secs: u64,
    /// Seconds the cookie an opened link sets lets its browser in.
    #[arg(long, env = "SANDBOXQL_PREVIEW_COOKIE_SECS", default_value_t = 12 * 3600)]
    pub preview_cookie_secs: u64,
    /// A request that may open a sleeping sandbox's preview wakes the sandbox (and waits
    /// up to `wakeWaitSecs`) instead of answering 503. Off by default: a PUBLIC preview's
    /// visitors would keep its sandbox, and its bill, awake.
    #[arg(long, env = "SANDBOXQL_PREVIEW_WAKES", default_value_t = false, action = clap::ArgAction::Set)]
    pub preview_wakes: bool,
}
