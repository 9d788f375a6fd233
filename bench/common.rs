//! Shared by the benchmarks: timing loops and summary figures.

use std::time::{Duration, Instant};

#[path = "../tests/common/config.rs"]
mod config;
pub use config::config_for;

/// A GraphQL request to the server at `addr` as `token`; its `data`, or an error with the
/// response when it has errors.
pub async fn gql(addr: &str, token: &str, query: &str, vars: serde_json::Value) -> anyhow::Result<serde_json::Value> {
    let body = serde_json::json!({"query": query, "variables": vars});
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(v["errors"].is_null(), "{v}");
    Ok(v["data"].clone())
}

/// Latency samples of one measured run and its wall time.
pub struct Run {
    /// Per-operation latencies.
    pub samples: Vec<Duration>,
    /// Wall time of the whole run.
    pub wall: Duration,
}

impl Run {
    /// Operations per second over the run.
    pub fn throughput(&self) -> f64 {
        self.samples.len() as f64 / self.wall.as_secs_f64()
    }

    /// The q-quantile latency (0.5 = median).
    pub fn quantile(&mut self, q: f64) -> Duration {
        self.samples.sort();
        let i = ((self.samples.len() as f64 - 1.0) * q).round() as usize;
        self.samples[i]
    }

    /// One line of figures.
    pub fn line(&mut self, name: &str) -> String {
        let (p50, p99) = (self.quantile(0.5), self.quantile(0.99));
        format!(
            "{name:<28} {:>9.0} ops/s   p50 {:>8.1} µs   p99 {:>8.1} µs",
            self.throughput(),
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        )
    }
}

/// Runs `op` `per_task` times in each of `tasks` concurrent tasks and records latencies.
#[allow(dead_code)] // not every bench that includes this module runs concurrent clients
pub async fn concurrent<F, Fut>(tasks: usize, per_task: usize, op: F) -> Run
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut v = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let t = Instant::now();
                    op().await;
                    v.push(t.elapsed());
                }
                v
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(tasks * per_task);
    for h in handles {
        samples.extend(h.await.expect("bench task"));
    }
    Run { samples, wall: start.elapsed() }
}
