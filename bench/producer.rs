//! The bench binary as the `claude` command: started with `-p … -- "[flood N] [rate R]
//! [wait MS]"`, it prints stream-json lines, each assistant text carrying the wall-clock
//! time it was written, so a bench measures latency per line (shared by `run_stream` and
//! `hosts` with `#[path]`).

use std::{
    io::Write,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::json;

/// Nanoseconds since the epoch.
pub fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// Microseconds since the time a produced line carries (`"{i} {ns}"`).
#[allow(dead_code)] // not every bench that includes this module reads the lines back
pub fn latency_of(text: &str) -> Option<f64> {
    let ts: u128 = text.split(' ').nth(1)?.parse().ok()?;
    Some((now_ns().saturating_sub(ts)) as f64 / 1000.0)
}

/// Producer mode: behave like `claude -p … -- "[flood N] [wait MS]"`.
fn produce(prompt: &str) {
    let num = |tag: &str| -> u64 {
        prompt
            .split(&format!("[{tag} "))
            .nth(1)
            .and_then(|s| s.split(']').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let out = std::io::stdout();
    let mut out = out.lock();
    let init = json!({"type": "system", "subtype": "init", "session_id": "bench-session", "model": "bench", "cwd": "/", "tools": []});
    let _ = writeln!(out, "{init}");
    let _ = out.flush();
    std::thread::sleep(Duration::from_millis(num("wait")));
    let rate = num("rate");
    let start = Instant::now();
    for i in 0..num("flood") {
        if rate > 0 {
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let line = json!({"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text", "text": format!("{i} {}", now_ns())}]}});
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    let result = json!({"type": "result", "subtype": "success", "is_error": false, "num_turns": 1, "duration_ms": 1, "total_cost_usd": 0.0, "result": "ok"});
    let _ = writeln!(out, "{result}");
}

/// When this process was started as the `claude` command (by a server under bench):
/// answers `--version` (the server's start-up check) and `-p …` (a run), and says so, so
/// `main` returns instead of starting the bench again inside itself.
pub fn act_as_claude() -> bool {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--version") {
        println!("2.1.332 (Claude Code)");
        return true;
    }
    if args.iter().any(|a| a == "-p") {
        produce(args.last().map(String::as_str).unwrap_or(""));
        return true;
    }
    false
}
