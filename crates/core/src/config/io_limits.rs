//! Limits on what the server takes in from its peers (an identity provider's key set, a
//! client's bearer token, Modal's answers, pages of stored events) and on the tables it
//! keeps about callers. Part of [`Limits`](super::Limits), flattened, so they are flags
//! and `limits` fields like every other limit.

use clap::Args;

/// Limits on input from peers and on per-caller tables.
#[derive(Debug, Clone, Args)]
pub struct IoLimits {
    /// Largest JWKS document (the identity provider's keys) read, in bytes.
    #[arg(long, env = "SANDBOXQL_MAX_JWKS_BYTES", default_value_t = 1024 * 1024)]
    pub max_jwks_bytes: usize,
    /// Longest line of a walk or watch answer another instance sends over the internal
    /// channel, in bytes (a chunk of a walk of many files).
    #[arg(long, env = "SANDBOXQL_INTERNAL_MAX_LINE_BYTES", default_value_t = 8 << 20)]
    pub internal_max_line_bytes: usize,
    /// Longest bearer token accepted, in bytes (a JWT with a few claims is well under it).
    #[arg(long, env = "SANDBOXQL_MAX_TOKEN_BYTES", default_value_t = 8 * 1024)]
    pub max_token_bytes: usize,
    /// Callers (accounts, and addresses before sign-in) whose request rate is tracked at
    /// once; the quietest are forgotten first (a forgotten caller starts with a full
    /// bucket, which one quiet that long has anyway).
    #[arg(long, env = "SANDBOXQL_RATE_LIMIT_MAX_CALLERS", default_value_t = 100_000)]
    pub rate_limit_max_callers: usize,
    /// Stored events read per database query when a subscriber catches up (memory per
    /// catching-up subscriber is this times the largest event).
    #[arg(long, env = "SANDBOXQL_EVENT_REPLAY_PAGE", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub event_replay_page: u64,
    /// Seconds one call to Modal's API may take before it fails (exec output streams are
    /// re-opened well before this).
    #[arg(long, env = "SANDBOXQL_MODAL_CALL_TIMEOUT_SECS", default_value_t = 90)]
    pub modal_call_timeout_secs: u64,
    /// Seconds between two readings of what running sandboxes use (the per-template sums
    /// of `/metrics`); each reading reads every running sandbox's cgroup and disk once.
    #[arg(long, env = "SANDBOXQL_USAGE_SAMPLE_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub usage_sample_secs: u64,
    /// Running sandboxes one such reading covers at most (the rest are left out of it).
    #[arg(long, env = "SANDBOXQL_USAGE_SAMPLE_MAX_SANDBOXES", default_value_t = 10_000)]
    pub usage_sample_max_sandboxes: u64,
    /// Seconds between two passes that look for sandboxes whose provider ended them
    /// while nobody called (Modal: lifetime, idle timeout), so they are listed SLEEPING.
    #[arg(long, env = "SANDBOXQL_RECONCILE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub reconcile_secs: u64,
    /// RUNNING sandboxes one such pass asks the provider about at most (one status call
    /// each; the longest unchanged first).
    #[arg(long, env = "SANDBOXQL_RECONCILE_MAX_SANDBOXES", default_value_t = 1000)]
    pub reconcile_max_sandboxes: u64,
}
