//! Bounds on git and the credential broker: how many credentials an account keeps, how
//! large their secrets are, how much one brokered request carries, and how much of git's
//! answers (status, diff, log) the API reads. Part of [`Limits`](super::Limits), flattened.

use clap::Args;

/// Bounds of git and brokered requests.
#[derive(Debug, Clone, Args)]
pub struct GitLimits {
    /// Credentials one account may keep.
    #[arg(long, env = "SANDBOXQL_CREDENTIALS_PER_ACCOUNT", default_value_t = 50)]
    pub credentials_per_account: u64,
    /// Largest credential secret, in bytes.
    #[arg(long, env = "SANDBOXQL_CREDENTIAL_MAX_SECRET_BYTES", default_value_t = 8 * 1024)]
    pub credential_max_secret_bytes: u64,
    /// Largest request body a sandbox sends through the broker (a `git push`'s pack).
    #[arg(long, env = "SANDBOXQL_BROKER_MAX_REQUEST_BYTES", default_value_t = 2 * 1024 * 1024 * 1024)]
    pub broker_max_request_bytes: u64,
    /// Brokered requests in flight at once, over all sandboxes.
    #[arg(long, env = "SANDBOXQL_BROKER_MAX_REQUESTS", default_value_t = 256)]
    pub broker_max_requests: u64,
    /// Bytes of git's output (status, diff, log) one API call reads; more is cut off
    /// and said so.
    #[arg(long, env = "SANDBOXQL_GIT_MAX_OUTPUT_BYTES", default_value_t = 1024 * 1024)]
    pub git_max_output_bytes: u64,
    /// Seconds one git command run for the API (a clone, a push) may take.
    #[arg(long, env = "SANDBOXQL_GIT_TIMEOUT_SECS", default_value_t = 600)]
    pub git_timeout_secs: u64,
}
