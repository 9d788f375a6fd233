//! Bounds on the processes users start in their sandboxes (dev servers, scripts): how
//! many, and how much of their output is kept. Part of [`Limits`](super::Limits),
//! flattened.

use clap::Args;

/// How many processes there may be and how much output each keeps.
#[derive(Debug, Clone, Args)]
pub struct ProcessLimits {
    /// Processes running at once in one sandbox (`startProcess`).
    #[arg(long, env = "SANDBOXQL_PROCESSES_PER_SANDBOX", default_value_t = 8)]
    pub processes_per_sandbox: u64,
    /// Processes running at once over all of one account's sandboxes.
    #[arg(long, env = "SANDBOXQL_PROCESSES_PER_ACCOUNT", default_value_t = 32)]
    pub processes_per_account: u64,
    /// Bytes of output kept per process (the newest; older output is cut, and a replay
    /// says how much).
    #[arg(long, env = "SANDBOXQL_PROCESS_LOG_BYTES", default_value_t = 1024 * 1024)]
    pub process_log_bytes: u64,
    /// Arguments of a process's command line, and environment variables it is given.
    #[arg(long, env = "SANDBOXQL_PROCESS_MAX_ARGS", default_value_t = 256)]
    pub process_max_args: usize,
    /// Bytes of a process's command line and environment together.
    #[arg(long, env = "SANDBOXQL_PROCESS_MAX_ARGV_BYTES", default_value_t = 64 * 1024)]
    pub process_max_argv_bytes: usize,
    /// Terminals open at once in one sandbox (`openTerminal`).
    #[arg(long, env = "SANDBOXQL_TERMINALS_PER_SANDBOX", default_value_t = 4)]
    pub terminals_per_sandbox: u64,
    /// Terminals open at once over all of one account's sandboxes.
    #[arg(long, env = "SANDBOXQL_TERMINALS_PER_ACCOUNT", default_value_t = 16)]
    pub terminals_per_account: u64,
    /// Seconds a terminal lives with no client attached and nothing typed: then it is
    /// closed (its whole tree killed), and an ended one is forgotten.
    #[arg(long, env = "SANDBOXQL_TERMINAL_IDLE_SECS", default_value_t = 1800)]
    pub terminal_idle_secs: u64,
    /// Bytes per second a client may type into one terminal (a paste may burst to one
    /// second's worth); faster input waits, nothing typed is dropped.
    #[arg(long, env = "SANDBOXQL_TERMINAL_INPUT_BYTES_PER_SEC", default_value_t = 256 * 1024)]
    pub terminal_input_bytes_per_sec: u32,
    /// Bytes of a terminal's recent output kept for a client that (re)attaches.
    #[arg(long, env = "SANDBOXQL_TERMINAL_SCROLLBACK_BYTES", default_value_t = 256 * 1024)]
    pub terminal_scrollback_bytes: usize,
}
