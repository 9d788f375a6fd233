//! Tools of the abuse suite: memory figures of this process (nextest runs each test in its
//! own process, and the server under test runs inside it), a watchdog that keeps another
//! account's `viewer` query going while an attack runs, and builders of hostile trees.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::json;

use super::TestApp;

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Peak resident memory of this process so far, in MB.
pub fn peak_rss_mb() -> u64 {
    status_kb("VmHWM:") / 1024
}

/// Resident memory of this process now, in MB.
pub fn rss_mb() -> u64 {
    status_kb("VmRSS:") / 1024
}

/// Another account's `viewer` query, every 100 ms, while something else goes on.
pub struct Watchdog {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(u32, Vec<String>, Duration)>,
}

impl Watchdog {
    /// Starts asking `viewer` as the owner of `token`.
    pub fn start(app: &TestApp, token: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (url, token, s) = (app.url(), token.to_string(), stop.clone());
        let task = tokio::spawn(async move {
            let client = reqwest::Client::new();
            let (mut ok, mut errors, mut worst) = (0u32, vec![], Duration::ZERO);
            while !s.load(Ordering::Relaxed) {
                let t = Instant::now();
                let sent = client.post(&url).bearer_auth(&token).json(&json!({"query": "{ viewer { id } }"})).send();
                match tokio::time::timeout(Duration::from_secs(10), sent).await {
                    Ok(Ok(r)) if r.status() == 200 => ok += 1,
                    Ok(Ok(r)) => errors.push(format!("status {}", r.status())),
                    Ok(Err(e)) => errors.push(e.to_string()),
                    Err(_) => errors.push("no answer in 10 s".into()),
                }
                worst = worst.max(t.elapsed());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (ok, errors, worst)
        });
        Self { stop, task }
    }

    /// Stops and asserts every query during the attack was answered.
    pub async fn finish(self, what: &str) {
        self.stop.store(true, Ordering::Relaxed);
        let (ok, errors, worst) = self.task.await.unwrap();
        println!("{what}: another account's viewer answered {ok} times, slowest {worst:?}");
        assert!(errors.is_empty(), "{what}: another account was refused: {errors:?}");
        assert!(ok > 0, "{what}: another account was never answered");
    }
}

/// Makes `depth` nested directories `d/d/d/…` under `dir` with one file at the bottom, the
/// way a `mkdir` loop in a shell would (each level made relative to the one above).
pub fn deep_dir(dir: &Path, depth: usize) {
    use rustix::fs::{Mode, OFlags, mkdirat, openat};
    let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
    let mut fd = openat(rustix::fs::CWD, dir, flags, Mode::empty()).unwrap();
    for _ in 0..depth {
        mkdirat(&fd, "d", Mode::from_raw_mode(0o755)).unwrap();
        fd = openat(&fd, "d", flags, Mode::empty()).unwrap();
    }
    let f = openat(&fd, "bottom.txt", OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC, Mode::from_raw_mode(0o644));
    rustix::io::write(f.unwrap(), b"deep").unwrap();
}

/// Fills `dir` with `dirs` directories of `files` empty files each.
pub fn many_files(dir: &Path, dirs: usize, files: usize) {
    use rustix::fs::{Mode, OFlags, mkdirat, openat};
    let root = openat(rustix::fs::CWD, dir, OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty()).unwrap();
    for d in 0..dirs {
        let name = format!("d{d:04}");
        mkdirat(&root, name.as_str(), Mode::from_raw_mode(0o755)).unwrap();
        let sub = openat(&root, name.as_str(), OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty()).unwrap();
        for f in 0..files {
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC;
            drop(openat(&sub, format!("f{f:04}").as_str(), flags, Mode::from_raw_mode(0o644)).unwrap());
        }
    }
}
