//! Bounds on warm Claude processes (started ahead of a sandbox's next run, so its first
//! words come without the CLI's start-up). Part of [`Limits`](super::Limits), flattened.

use clap::Args;

/// How many warm processes there may be and how long each waits.
#[derive(Debug, Clone, Args)]
pub struct WarmLimits {
    /// Start a warm Claude ahead of a sandbox's next run (when a run ends, and on
    /// `prepareSandbox`); `false` makes every run start cold.
    #[arg(long, env = "SANDBOXQL_WARM_STARTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub warm_starts: bool,
    /// Keep the Claude a run talked to (over stdin) waiting for the sandbox's next run,
    /// when the run ended well, instead of starting a new one: it has started and loaded
    /// its session already. Only where a waiting command ends by itself without its
    /// server (the local jail, Modal); `false` starts a fresh warm process after every run.
    #[arg(long, env = "SANDBOXQL_WARM_REUSE", default_value_t = true, action = clap::ArgAction::Set)]
    pub warm_reuse: bool,
    /// Warm processes one account may have at once, over all instances.
    #[arg(long, env = "SANDBOXQL_WARM_PER_ACCOUNT", default_value_t = 2)]
    pub warm_per_account: u64,
    /// Warm processes at once over the whole deployment.
    #[arg(long, env = "SANDBOXQL_WARM_TOTAL", default_value_t = 32)]
    pub warm_total: u64,
    /// Seconds a warm process waits for a prompt before it ends (it ends by itself, so
    /// none outlives a crashed instance by more than this).
    #[arg(long, env = "SANDBOXQL_WARM_IDLE_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub warm_idle_secs: u64,
    /// Output lines a warm process may print before its prompt (kept for the run); one
    /// that prints more is stopped.
    #[arg(long, env = "SANDBOXQL_WARM_MAX_EARLY_LINES", default_value_t = 64)]
    pub warm_max_early_lines: usize,
}
