//! Every limit the server enforces, in one struct: each one a flag and an environment
//! variable, and all of them published by the `limits` query so clients can size their
//! requests. What is not here is not a limit but a fixed property of a protocol or a
//! batch size, named where it is used with why it cannot be a setting (Modal's retry
//! count, which mirrors its official client; rows per INSERT, which SQLite's variable
//! limit fixes); a test refuses limit-like constants elsewhere.

use clap::Args;

/// Limits that protect the server (and every other tenant) from expensive or abusive
/// requests. Field docs double as `--help` text and as the `limits` query's descriptions.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Deepest field nesting a query may have (a root field is at depth 1; introspection,
    /// bounded by the schema, is not counted).
    #[arg(long, env = "SANDBOXQL_MAX_QUERY_DEPTH", default_value_t = 12)]
    pub max_query_depth: usize,
    /// Largest cost a request may have, counted before it runs: a field costs 1, a
    /// database query or backend call 250, a KiB read 1, a list its page size times its
    /// items, a recursive walk 20,000, a sync 25,000.
    #[arg(long, alias = "max-query-complexity", env = "SANDBOXQL_MAX_QUERY_COST", default_value_t = 50_000)]
    pub max_query_cost: usize,
    /// Most operations in one JSON batch request.
    #[arg(long, env = "SANDBOXQL_MAX_BATCH_OPERATIONS", default_value_t = 10)]
    pub max_batch_operations: usize,
    /// Milliseconds a query or mutation may run before it is stopped (its spawned work,
    /// such as a sync, still finishes).
    #[arg(long, env = "SANDBOXQL_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// Largest response body in bytes; a larger one is replaced by an error.
    #[arg(long, env = "SANDBOXQL_MAX_RESPONSE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_response_bytes: usize,
    /// Deepest nesting of a document: brackets in its text, and selections with fragment
    /// spreads and inline fragments counted as levels.
    #[arg(long, env = "SANDBOXQL_MAX_RECURSIVE_DEPTH", default_value_t = 64)]
    pub max_recursive_depth: usize,
    /// Limits of query documents and of connections, before anything runs.
    #[command(flatten)]
    pub requests: super::request_limits::RequestLimits,
    /// Limits on what the server takes in from its peers and on per-caller tables.
    #[command(flatten)]
    pub io: super::io_limits::IoLimits,
    /// Bounds on warm Claude processes.
    #[command(flatten)]
    pub warm: super::warm_limits::WarmLimits,
    /// Bounds on users' processes in their sandboxes.
    #[command(flatten)]
    pub processes: super::process_limits::ProcessLimits,
    /// Bounds on preview URLs.
    #[command(flatten)]
    pub previews: super::preview_limits::PreviewLimits,
    /// Bounds on git and the credential broker.
    #[command(flatten)]
    pub git: super::git_limits::GitLimits,
    /// Bounds on webhooks.
    #[command(flatten)]
    pub webhooks: super::webhook_limits::WebhookLimits,
    /// Bounds on checkpoints and blob reclaim.
    #[command(flatten)]
    pub checkpoints: super::checkpoint_limits::CheckpointLimits,
    /// Bounds on stored snapshots and their verification.
    #[command(flatten)]
    pub storage: super::storage_limits::StorageLimits,
    /// Largest request body in bytes (room for a base64 file of max-file-write-bytes).
    #[arg(long, env = "SANDBOXQL_MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Operations (subscriptions) open at once on one connection.
    #[arg(long, env = "SANDBOXQL_MAX_SUBSCRIPTIONS_PER_CONNECTION", default_value_t = 100)]
    pub max_subscriptions_per_connection: u64,
    /// Operations open at once by one account on an instance, over all its connections.
    #[arg(long, env = "SANDBOXQL_MAX_SUBSCRIPTIONS_PER_ACCOUNT", default_value_t = 500)]
    pub max_subscriptions_per_account: u64,
    /// Milliseconds a resolved bearer token is remembered; a revoked token or disabled
    /// account is refused at most this long after the change.
    #[arg(long, env = "SANDBOXQL_AUTH_CACHE_TTL_MS", default_value_t = 1000)]
    pub auth_cache_ttl_ms: u64,
    /// Bearer tokens remembered at most.
    #[arg(long, env = "SANDBOXQL_AUTH_CACHE_ENTRIES", default_value_t = 10_000)]
    pub auth_cache_entries: u64,
    /// Parsed query documents kept (clients repeat the same few queries).
    #[arg(long, env = "SANDBOXQL_QUERY_CACHE_ENTRIES", default_value_t = 1000)]
    pub query_cache_entries: u64,
    /// Longest query text whose parsed document is kept, in bytes.
    #[arg(long, env = "SANDBOXQL_QUERY_CACHE_MAX_BYTES", default_value_t = 16 * 1024)]
    pub query_cache_max_bytes: u64,
    /// Requests (and subscriptions started) per second one account may make on an
    /// instance, on average.
    #[arg(long, env = "SANDBOXQL_RATE_LIMIT_PER_SEC", default_value_t = 100)]
    pub rate_limit_per_sec: u64,
    /// Requests one account may make in a burst above the average rate.
    #[arg(long, env = "SANDBOXQL_RATE_LIMIT_BURST", default_value_t = 500)]
    pub rate_limit_burst: u64,
    /// Seconds between two fetches of the JWKS: a JWT with an unknown `kid` refetches
    /// the keys at most this often, so forged kids cannot make the server hammer the URL.
    #[arg(long, env = "SANDBOXQL_JWKS_MIN_REFRESH_SECS", default_value_t = 5)]
    pub jwks_min_refresh_secs: u64,
    /// Largest request body a sandbox may send through the Anthropic gateway.
    #[arg(long, env = "SANDBOXQL_GATEWAY_MAX_REQUEST_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub gateway_max_request_bytes: u64,
    /// Largest non-streamed gateway answer, or line of a streamed one, held to read its
    /// usage (longer lines are skipped unread; an answer is at most `max_tokens` of text,
    /// far below this).
    #[arg(long, env = "SANDBOXQL_GATEWAY_MAX_JSON_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub gateway_max_json_bytes: u64,
    /// Connections one jail's relay carries at once to the gateway and the egress proxy
    /// (more wait for one to close).
    #[arg(long, env = "SANDBOXQL_JAIL_MAX_CONNECTIONS", default_value_t = 256)]
    pub jail_max_connections: u64,
    /// Connections the egress proxy carries at once, over all sandboxes.
    #[arg(long, env = "SANDBOXQL_EGRESS_MAX_CONNECTIONS", default_value_t = 2048)]
    pub egress_max_connections: u64,
    /// Largest request head (request line and headers) the egress proxy reads.
    #[arg(long, env = "SANDBOXQL_EGRESS_MAX_HEAD_BYTES", default_value_t = 16 * 1024)]
    pub egress_max_head_bytes: u64,
    /// Seconds a run, write or sync waits for another caller's wake of the same sleeping
    /// sandbox before answering CONFLICT (reason SANDBOX_ASLEEP).
    #[arg(long, env = "SANDBOXQL_WAKE_WAIT_SECS", default_value_t = 120)]
    pub wake_wait_secs: u64,
    /// Distinct GraphQL operation names that become metric labels (later ones count as
    /// `other`, so clients cannot grow the metrics without bound).
    #[arg(long, env = "SANDBOXQL_METRICS_MAX_OPERATIONS", default_value_t = 200)]
    pub metrics_max_operations: u64,
    /// Largest page of sandboxes, runs and snapshots.
    #[arg(long, env = "SANDBOXQL_MAX_PAGE_SIZE", default_value_t = 100)]
    pub max_page_size: u64,
    /// Largest page of a run's stored events.
    #[arg(long, env = "SANDBOXQL_MAX_EVENTS_PAGE", default_value_t = 1000)]
    pub max_events_page: u64,
    /// Largest page of a file listing.
    #[arg(long, env = "SANDBOXQL_MAX_FILE_LIST_PAGE", default_value_t = 1000)]
    pub max_file_list_page: u64,
    /// Most entries one recursive listing walks before it stops and says so.
    #[arg(long, env = "SANDBOXQL_MAX_WALK_ENTRIES", default_value_t = 500_000)]
    pub max_walk_entries: u64,
    /// Most nodes a file tree returns.
    #[arg(long, env = "SANDBOXQL_MAX_TREE_NODES", default_value_t = 5000)]
    pub max_tree_nodes: u64,
    /// Deepest file tree a client may ask for.
    #[arg(long, env = "SANDBOXQL_MAX_TREE_DEPTH", default_value_t = 20)]
    pub max_tree_depth: u64,
    /// Largest `maxBytes` a file read may ask for.
    #[arg(long, env = "SANDBOXQL_MAX_FILE_READ_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_file_read_bytes: u64,
    /// Largest file that can be written through the API.
    #[arg(long, env = "SANDBOXQL_MAX_FILE_WRITE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_file_write_bytes: u64,
    /// Largest answer a backend command may return to the server (a whole-tree listing).
    #[arg(long, env = "SANDBOXQL_MAX_BACKEND_ANSWER_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub max_backend_answer_bytes: u64,
    /// Seconds later pages of a listing may reuse the first page's walk.
    #[arg(long, env = "SANDBOXQL_LISTING_CACHE_TTL_SECS", default_value_t = 15)]
    pub listing_cache_ttl_secs: u64,
    /// Bytes of walks kept for paging at most (oldest dropped first).
    #[arg(long, env = "SANDBOXQL_LISTING_CACHE_BYTES", default_value_t = 128 * 1024 * 1024)]
    pub listing_cache_bytes: u64,
    /// Deepest level below a workspace root that walks, listings, trees and snapshots reach;
    /// deeper directories are skipped and reported, never fatal.
    #[arg(long, env = "SANDBOXQL_MAX_WALK_DEPTH", default_value_t = 256)]
    pub max_walk_depth: u64,
    /// Removals one recursive delete may make before giving up (a process that keeps
    /// creating files cannot keep the server busy forever).
    #[arg(long, env = "SANDBOXQL_MAX_DELETE_STEPS", default_value_t = 10_000_000)]
    pub max_delete_steps: u64,
    /// Threads for CPU-heavy work (walks, hashing, manifests), shared by all tenants; the
    /// rest of the cores stay free for requests.
    #[arg(long, env = "SANDBOXQL_CPU_POOL_THREADS", default_value_t = half_the_cores())]
    pub cpu_pool_threads: u64,
    /// Threads one deep walk of a big tree uses at most. Above the CPU pool's size a walk
    /// takes the cores the pool leaves to requests: faster listings on an idle server,
    /// slower answers for everybody else while it runs.
    #[arg(long, env = "SANDBOXQL_WALK_THREADS", default_value_t = half_the_cores(), value_parser = clap::value_parser!(u64).range(1..=64))]
    pub walk_threads: u64,
    /// How much lower than the server's own the scheduling priority of sandbox processes
    /// and CPU-heavy work is (a nice value, 0 to 19; above 0 the CPU pool also runs in the
    /// idle scheduling class): under load the threads that answer requests get the CPU
    /// first.
    #[arg(long, env = "SANDBOXQL_BACKGROUND_NICE", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=19))]
    pub background_nice: u64,
    /// Seconds a lease lasts (runs, syncs, creates, deletes); its holder renews it every
    /// third of that, and any instance takes over work whose lease has expired.
    #[arg(long, env = "SANDBOXQL_LEASE_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(3..=300))]
    pub lease_secs: u64,
    /// Milliseconds a shutting-down server waits for requests in flight before it stops.
    #[arg(long, env = "SANDBOXQL_SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
    /// Bytes of snapshot manifests kept in memory at most; a manifest over a quarter of it
    /// is streamed from storage on every use instead.
    #[arg(long, env = "SANDBOXQL_MANIFEST_CACHE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub manifest_cache_bytes: u64,
    /// Most entries one snapshot may hold.
    #[arg(long, env = "SANDBOXQL_MAX_SNAPSHOT_ENTRIES", default_value_t = 1_000_000)]
    pub max_snapshot_entries: u64,
    /// Files hashed or uploaded at once by one sync.
    #[arg(long, env = "SANDBOXQL_SYNC_PARALLELISM", default_value_t = 8)]
    pub sync_parallelism: u64,
    /// Syncs one account may run at once on an instance.
    #[arg(long, env = "SANDBOXQL_MAX_CONCURRENT_SYNCS_PER_ACCOUNT", default_value_t = 2)]
    pub max_concurrent_syncs_per_account: u64,
    /// Restores (creates from a snapshot) one account may run at once on an instance.
    #[arg(long, env = "SANDBOXQL_MAX_CONCURRENT_RESTORES_PER_ACCOUNT", default_value_t = 2)]
    pub max_concurrent_restores_per_account: u64,
    /// Recursive listings and trees one account may walk at once on an instance.
    #[arg(long, env = "SANDBOXQL_MAX_CONCURRENT_WALKS_PER_ACCOUNT", default_value_t = 4)]
    pub max_concurrent_walks_per_account: u64,
    /// Live (not terminated) sandboxes one account may hold.
    #[arg(long, env = "SANDBOXQL_MAX_SANDBOXES_PER_ACCOUNT", default_value_t = 50)]
    pub max_sandboxes_per_account: u64,
    /// Longest sandbox or account name, in characters.
    #[arg(long, env = "SANDBOXQL_MAX_NAME_CHARS", default_value_t = 100)]
    pub max_name_chars: u64,
    /// Largest prompt in bytes.
    #[arg(long, env = "SANDBOXQL_MAX_PROMPT_BYTES", default_value_t = 100_000)]
    pub max_prompt_bytes: u64,
    /// Largest `maxTurns` a run may ask for.
    #[arg(long, env = "SANDBOXQL_MAX_TURNS", default_value_t = 500)]
    pub max_turns: u64,
    /// A run still going after this many seconds is stopped and FAILED.
    #[arg(long, env = "SANDBOXQL_RUN_TIMEOUT_SECS", default_value_t = 3600)]
    pub run_timeout_secs: u64,
    /// Seconds cancel and delete wait for a run to stop before answering.
    #[arg(long, env = "SANDBOXQL_RUN_STOP_WAIT_SECS", default_value_t = 10)]
    pub run_stop_wait_secs: u64,
    /// Longest output line of a sandbox command kept whole; longer ones are cut and marked.
    #[arg(long, env = "SANDBOXQL_MAX_OUTPUT_LINE_BYTES", default_value_t = 1024 * 1024)]
    pub max_output_line_bytes: usize,
    /// Live events buffered per watched run before a slow subscriber re-reads the database.
    #[arg(long, env = "SANDBOXQL_LIVE_EVENTS_BUFFER", default_value_t = 8192)]
    pub live_events_buffer: usize,
    /// Seconds an interactive run waits for a follow-up message after Claude's turn ends
    /// before it ends by itself (`endRun` ends it at once).
    #[arg(long, env = "SANDBOXQL_RUN_IDLE_SECS", default_value_t = 300)]
    pub run_idle_secs: u64,
    /// Seconds a tool permission request waits for `answerPermission` before it is denied.
    #[arg(long, env = "SANDBOXQL_PERMISSION_TIMEOUT_SECS", default_value_t = 300)]
    pub permission_timeout_secs: u64,
    /// Messages and control inputs queued for one run and not yet delivered to Claude;
    /// also the permission requests one run may have open (more are denied unasked).
    #[arg(long, env = "SANDBOXQL_MAX_PENDING_RUN_INPUTS", default_value_t = 32)]
    pub max_pending_run_inputs: u64,
    /// Milliseconds `workspaceChanges` gathers file changes, coalesced per path, before it
    /// sends them: at most one batch per interval.
    #[arg(long, env = "SANDBOXQL_WORKSPACE_CHANGES_DEBOUNCE_MS", default_value_t = 200)]
    pub workspace_changes_debounce_ms: u64,
    /// Most changed paths one `workspaceChanges` batch holds; a busier interval is sent as
    /// one OVERFLOW (the client re-lists).
    #[arg(long, env = "SANDBOXQL_WORKSPACE_CHANGES_MAX_PATHS", default_value_t = 1000)]
    pub workspace_changes_max_paths: u64,
    /// Milliseconds between re-listings of a workspace whose backend cannot watch it
    /// (Modal), for `workspaceChanges`.
    #[arg(long, env = "SANDBOXQL_WORKSPACE_CHANGES_POLL_MS", default_value_t = 2000)]
    pub workspace_changes_poll_ms: u64,
    /// Raw file system events queued per watched workspace; beyond it they are dropped and
    /// reported as one OVERFLOW.
    #[arg(long, env = "SANDBOXQL_WORKSPACE_CHANGES_QUEUE", default_value_t = 4096)]
    pub workspace_changes_queue: u64,
}

/// Half the machine's cores (at least one): the default size of the CPU pool.
pub(super) fn half_the_cores() -> u64 {
    (std::thread::available_parallelism().map(usize::from).unwrap_or(2) / 2).max(1) as u64
}

/// A command line holding only the limits, to read them outside `serve`.
#[derive(clap::Parser)]
struct LimitsOnly {
    #[command(flatten)]
    limits: Limits,
}

impl Limits {
    /// The limits from their environment variables and defaults, for the operator
    /// commands (which share the server's environment but not its flags).
    pub fn from_env() -> anyhow::Result<Self> {
        use clap::Parser;
        Ok(LimitsOnly::try_parse_from(["sandboxql"])?.limits)
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
