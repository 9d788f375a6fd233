//! Prometheus metrics for operators (`GET /metrics`): GraphQL operations by name and
//! result code with their latency, open websockets and subscriptions, active runs, run
//! events stored, bytes synced, backend errors, and what running sandboxes use per
//! template (never per sandbox: the label set is the operator's templates). One
//! process-wide registry.
//!
//! Operation names come from clients, so they are labels only when short, plain and among
//! the first `Limits::metrics_max_operations` seen; any other is counted as `other`: a
//! tenant cannot grow the registry by inventing names.

use std::{
    collections::HashSet,
    sync::{LazyLock, Mutex},
    time::Duration,
};

use prometheus::{Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

struct Metrics {
    registry: Registry,
    operations: IntCounterVec,
    latency: HistogramVec,
    websockets: IntGauge,
    subscriptions: IntGauge,
    active_runs: IntGauge,
    events_stored: IntCounter,
    sync_bytes: IntCounter,
    backend_errors: IntCounterVec,
    connections: IntGauge,
    connections_refused: IntCounter,
    sandbox_usage: GaugeVec,
    webhook_attempts: IntCounterVec,
    webhook_lag: prometheus::Histogram,
    checkpoints: prometheus::Histogram,
    names: Mutex<HashSet<String>>,
    max_names: std::sync::atomic::AtomicUsize,
}

#[allow(clippy::expect_used)] // start-up: fixed, valid metric definitions
fn build() -> Metrics {
    let registry = Registry::new();
    let operations = IntCounterVec::new(
        Opts::new("sandboxql_graphql_operations_total", "GraphQL operations by name and result code"),
        &["operation", "code"],
    )
    .expect("metric");
    let buckets = vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
    let latency = HistogramVec::new(
        HistogramOpts::new("sandboxql_graphql_duration_seconds", "GraphQL operation latency").buckets(buckets),
        &["operation"],
    )
    .expect("metric");
    let websockets = IntGauge::new("sandboxql_websockets_open", "Open websocket connections").expect("metric");
    let subscriptions = IntGauge::new("sandboxql_subscriptions_active", "Active subscriptions").expect("metric");
    let active_runs = IntGauge::new("sandboxql_runs_active", "Claude runs executing on this instance").expect("metric");
    let events_stored = IntCounter::new("sandboxql_run_events_stored_total", "Run events stored").expect("metric");
    let sync_bytes = IntCounter::new("sandboxql_sync_bytes_total", "Bytes uploaded by syncs").expect("metric");
    let backend_errors = IntCounterVec::new(
        Opts::new("sandboxql_backend_errors_total", "Failed calls to the sandbox provider"),
        &["backend"],
    )
    .expect("metric");
    let connections = IntGauge::new("sandboxql_connections_open", "Open client connections").expect("metric");
    let connections_refused = IntCounter::new(
        "sandboxql_connections_refused_total",
        "Connections closed at once because a connection cap was reached",
    )
    .expect("metric");
    let sandbox_usage = GaugeVec::new(
        Opts::new("sandboxql_sandbox_usage", "What this instance's running sandboxes use, summed per template"),
        &["template", "resource"],
    )
    .expect("metric");
    let webhook_attempts = IntCounterVec::new(
        Opts::new("sandboxql_webhook_attempts_total", "Webhook delivery attempts by result (ok, failed)"),
        &["result"],
    )
    .expect("metric");
    let lag_buckets = vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 3600.0];
    let webhook_lag = prometheus::Histogram::with_opts(
        HistogramOpts::new("sandboxql_webhook_lag_seconds", "From an event's commit to its delivery (2xx)")
            .buckets(lag_buckets),
    )
    .expect("metric");
    let cp_buckets = vec![0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
    let checkpoints = prometheus::Histogram::with_opts(
        HistogramOpts::new("sandboxql_checkpoint_seconds", "Time to take a checkpoint").buckets(cp_buckets),
    )
    .expect("metric");
    for m in [
        Box::new(sandbox_usage.clone()) as Box<dyn prometheus::core::Collector>,
        Box::new(checkpoints.clone()),
        Box::new(webhook_attempts.clone()),
        Box::new(webhook_lag.clone()),
        Box::new(connections.clone()),
        Box::new(connections_refused.clone()),
        Box::new(operations.clone()),
        Box::new(latency.clone()),
        Box::new(websockets.clone()),
        Box::new(subscriptions.clone()),
        Box::new(active_runs.clone()),
        Box::new(events_stored.clone()),
        Box::new(sync_bytes.clone()),
        Box::new(backend_errors.clone()),
    ] {
        registry.register(m).expect("register metric");
    }
    Metrics {
        registry,
        operations,
        latency,
        websockets,
        subscriptions,
        active_runs,
        events_stored,
        sync_bytes,
        backend_errors,
        connections,
        connections_refused,
        sandbox_usage,
        webhook_attempts,
        webhook_lag,
        checkpoints,
        names: Mutex::new(HashSet::new()),
        max_names: std::sync::atomic::AtomicUsize::new(200),
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(build);

/// Sets how many distinct operation names become labels (from `Limits`).
pub fn set_max_operation_names(n: usize) {
    METRICS.max_names.store(n, std::sync::atomic::Ordering::Relaxed);
}

/// The label for a client-given operation name.
fn label(name: Option<&str>) -> String {
    let Some(name) = name.filter(|n| !n.is_empty()) else { return "anonymous".into() };
    let plain = name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        return "other".into();
    }
    let mut names = METRICS.names.lock().unwrap_or_else(|e| e.into_inner());
    if names.contains(name) || names.len() < METRICS.max_names.load(std::sync::atomic::Ordering::Relaxed) {
        names.insert(name.to_string());
        name.to_string()
    } else {
        "other".into()
    }
}

/// One finished GraphQL operation.
pub fn operation(name: Option<&str>, code: &str, took: Duration) {
    let op = label(name);
    METRICS.operations.with_label_values(&[op.as_str(), code]).inc();
    METRICS.latency.with_label_values(&[op.as_str()]).observe(took.as_secs_f64());
}

/// Counts something open while the guard lives.
pub struct Open(&'static IntGauge);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn open(g: &'static IntGauge) -> Open {
    g.inc();
    Open(g)
}

/// A websocket connection, open until the guard drops.
pub fn websocket() -> Open {
    open(&METRICS.websockets)
}

/// A subscription, active until the guard drops.
pub fn subscription() -> Open {
    open(&METRICS.subscriptions)
}

/// An admitted client connection, open until the guard drops.
pub fn connection() -> Open {
    open(&METRICS.connections)
}

/// A connection closed at once because a cap was reached.
pub fn connection_refused() {
    METRICS.connections_refused.inc();
}

/// A webhook delivery attempt: whether the endpoint took it.
pub fn webhook_attempt(ok: bool) {
    METRICS.webhook_attempts.with_label_values(&[if ok { "ok" } else { "failed" }]).inc();
}

/// Seconds from an event's commit to its delivery.
pub fn webhook_lag(secs: f64) {
    METRICS.webhook_lag.observe(secs);
}

/// A run executing here, until the guard drops.
pub fn run() -> Open {
    open(&METRICS.active_runs)
}

/// Run events written to the store.
pub fn events_stored(n: usize) {
    METRICS.events_stored.inc_by(n as u64);
}

/// A checkpoint taken, and how long it took.
pub fn checkpoint(took: std::time::Duration) {
    METRICS.checkpoints.observe(took.as_secs_f64());
}

/// Bytes a sync uploaded.
pub fn sync_bytes(n: u64) {
    METRICS.sync_bytes.inc_by(n);
}

/// A failed call to the sandbox provider.
pub fn backend_error(backend: &'static str) {
    METRICS.backend_errors.with_label_values(&[backend]).inc();
}

/// What the running sandboxes of `template` use together: `figures` are (resource,
/// value) pairs such as `("memory_bytes", …)`, `("sandboxes", …)`.
pub fn sandbox_usage(template: &str, figures: &[(&str, f64)]) {
    for (resource, value) in figures {
        METRICS.sandbox_usage.with_label_values(&[template, resource]).set(*value);
    }
}

/// The registry in Prometheus' text format.
pub fn render() -> String {
    let mut out = Vec::new();
    let _ = prometheus::TextEncoder::new().encode(&METRICS.registry.gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_operation_names_cannot_grow_the_registry() {
        set_max_operation_names(3);
        for i in 0..50 {
            operation(Some(&format!("Op{i}")), "OK", Duration::from_millis(1));
        }
        operation(Some("bad name with spaces"), "OK", Duration::from_millis(1));
        let text = render();
        let distinct = text.lines().filter(|l| l.starts_with("sandboxql_graphql_operations_total{")).count();
        assert!(distinct <= 5, "{text}");
        assert!(text.contains("operation=\"other\""));
    }
}
