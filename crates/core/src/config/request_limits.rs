//! Limits of what a request may be before anything runs: its document (size, expanded
//! nodes, arguments, variables, errors it may cause) and its connection (header time,
//! connections in all and per address, websockets). Part of [`Limits`](super::Limits), flattened, so
//! they are flags and `limits` fields like every other limit.

use clap::Args;

/// Document and connection limits.
#[derive(Debug, Clone, Args)]
pub struct RequestLimits {
    /// Longest query document in bytes (its variables, such as a file's content, travel
    /// apart and count only towards the body size).
    #[arg(long, env = "SANDBOXQL_MAX_DOCUMENT_BYTES", default_value_t = 256 * 1024)]
    pub max_document_bytes: usize,
    /// Most nodes a document may hold with every fragment expanded where it is spread:
    /// fields, fragment spreads, inline fragments, directives, arguments and their value
    /// nodes, over all its operations. Counted in one pass linear in the text before
    /// validation, so fragments that spread each other many times are refused at once.
    #[arg(long, env = "SANDBOXQL_MAX_EXPANDED_NODES", default_value_t = 10_000)]
    pub max_expanded_nodes: u64,
    /// Most arguments one field or directive may carry.
    #[arg(long, env = "SANDBOXQL_MAX_ARGUMENTS", default_value_t = 32)]
    pub max_arguments: usize,
    /// Most variables one operation may declare.
    #[arg(long, env = "SANDBOXQL_MAX_VARIABLES", default_value_t = 100)]
    pub max_variables: usize,
    /// Most errors one response carries; the rest are summed up in a last error (an
    /// invalid document of a few kilobytes can otherwise fail in thousands of places).
    #[arg(long, env = "SANDBOXQL_MAX_RESPONSE_ERRORS", default_value_t = 100)]
    pub max_response_errors: usize,
    /// Threads that parse and measure query documents not seen before (at the normal
    /// priority, apart from the runtime's threads and the CPU pool).
    #[arg(long, env = "SANDBOXQL_DOCUMENT_THREADS", default_value_t = super::limits::half_the_cores())]
    pub document_threads: u64,
    /// Milliseconds a client may take to send a request's headers; also how long a
    /// kept-alive connection may wait idle for its next request.
    #[arg(long, env = "SANDBOXQL_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// Client connections open at once per listener (kept `connectionFdReserve` below the
    /// process's descriptor limit, which the server raises to its hard limit at start).
    #[arg(long, env = "SANDBOXQL_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: u64,
    /// Client connections open at once from one address (an IPv6 client by its /64).
    /// Behind a reverse proxy every client shares the proxy's address: raise it there.
    #[arg(long, env = "SANDBOXQL_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 1_000)]
    pub max_connections_per_address: u64,
    /// Descriptors kept free of client connections, for files, the database, sandboxes
    /// and outgoing calls.
    #[arg(long, env = "SANDBOXQL_CONNECTION_FD_RESERVE", default_value_t = 2_048)]
    pub connection_fd_reserve: u64,
    /// Seconds a websocket client may take to send `connection_init`.
    #[arg(long, env = "SANDBOXQL_WS_INIT_TIMEOUT_SECS", default_value_t = 10)]
    pub ws_init_timeout_secs: u64,
    /// Largest websocket message a client may send, in bytes.
    #[arg(long, env = "SANDBOXQL_WS_MAX_MESSAGE_BYTES", default_value_t = 1024 * 1024)]
    pub ws_max_message_bytes: usize,
    /// Seconds between the server's websocket pings (keepalive through proxies).
    #[arg(long, env = "SANDBOXQL_WS_PING_SECS", default_value_t = 15)]
    pub ws_ping_secs: u64,
    /// Seconds a websocket may stay silent (not even a pong) before it is closed.
    #[arg(long, env = "SANDBOXQL_WS_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub ws_idle_timeout_secs: u64,
    /// Seconds one frame may take to leave; a client that does not read is disconnected.
    #[arg(long, env = "SANDBOXQL_WS_SEND_TIMEOUT_SECS", default_value_t = 10)]
    pub ws_send_timeout_secs: u64,
    /// Bytes of outgoing messages a connection may have queued; producers wait beyond it.
    #[arg(long, env = "SANDBOXQL_WS_SEND_BUFFER_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub ws_send_buffer_bytes: usize,
    /// Seconds between re-checks of a connection's credentials: a revoked token or a
    /// disabled account loses its open sockets within this time (plus the auth cache TTL).
    #[arg(long, env = "SANDBOXQL_WS_AUTH_RECHECK_SECS", default_value_t = 2)]
    pub ws_auth_recheck_secs: u64,
}
