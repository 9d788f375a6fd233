//! Bounds on webhooks: endpoints per account, how long a delivery may take and how much
//! of its answer is kept, how retries are spaced and how many deliveries go out at once.
//! Part of [`Limits`](super::Limits), flattened.

use clap::Args;

/// Bounds of webhooks and their deliveries.
#[derive(Debug, Clone, Args)]
pub struct WebhookLimits {
    /// Endpoints one account may have.
    #[arg(long, env = "SANDBOXQL_WEBHOOKS_PER_ACCOUNT", default_value_t = 10)]
    pub webhooks_per_account: u64,
    /// Milliseconds to connect to an endpoint.
    #[arg(long, env = "SANDBOXQL_WEBHOOK_CONNECT_TIMEOUT_MS", default_value_t = 3000)]
    pub webhook_connect_timeout_ms: u64,
    /// Milliseconds one delivery may take in all (connect, send, answer).
    #[arg(long, env = "SANDBOXQL_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
    /// Bytes of an endpoint's answer read and kept (the rest is not read).
    #[arg(long, env = "SANDBOXQL_WEBHOOK_RESPONSE_EXCERPT_BYTES", default_value_t = 1024)]
    pub webhook_response_excerpt_bytes: u64,
    /// Seconds before each retry, in order (with up to 20 % jitter); after the last, the
    /// delivery fails and its endpoint is disabled. The default spans about a day.
    #[arg(
        long,
        env = "SANDBOXQL_WEBHOOK_RETRY_SECS",
        value_delimiter = ',',
        default_value = "5,30,120,600,1800,3600,7200,14400,28800,28800"
    )]
    pub webhook_retry_secs: Vec<u64>,
    /// Deliveries one instance has in flight at once.
    #[arg(long, env = "SANDBOXQL_WEBHOOK_CONCURRENCY", default_value_t = 32)]
    pub webhook_concurrency: u64,
    /// Deliveries to one endpoint per second (more wait their turn).
    #[arg(long, env = "SANDBOXQL_WEBHOOK_PER_ENDPOINT_PER_SEC", default_value_t = 100)]
    pub webhook_per_endpoint_per_sec: u64,
    /// Milliseconds between looks for due deliveries when no new event woke the deliverer.
    #[arg(long, env = "SANDBOXQL_WEBHOOK_POLL_MS", default_value_t = 500)]
    pub webhook_poll_ms: u64,
    /// Seconds an instance holds a delivery it attempts (another takes it up after).
    #[arg(long, env = "SANDBOXQL_WEBHOOK_LEASE_SECS", default_value_t = 60)]
    pub webhook_lease_secs: u64,
    /// Seconds a rotated-out secret keeps signing beside the new one.
    #[arg(long, env = "SANDBOXQL_WEBHOOK_ROTATION_OVERLAP_SECS", default_value_t = 86_400)]
    pub webhook_rotation_overlap_secs: u64,
}
