//! Long-running commands (Claude runs) in a Modal sandbox: output as lines, the run's
//! gateway token in the exec's own environment (an inline secret source, never argv),
//! and cancellation by killing the command's process group, which the router has no
//! call for.

use std::{collections::HashMap, sync::Arc};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    ModalBackend, WORKDIR,
    exec::{self, RawOutput, Stdin},
    router::Router,
};
use crate::{
    error::AppResult,
    exec::{ExecHandle, ExecOutput, ExecRequest, LineSplitter},
};

/// Records the shell's pid (a new session: pid = process group) in `$0`, then becomes
/// the command. Fixed text: the command and paths arrive as separate argv elements.
const WRAPPER: &str = r#"echo $$ > "$0" && exec "$@""#;
/// Passes a conversation's input on to the command line by line, without the server's
/// empty heartbeat lines, and ends it when no line comes within `$0` seconds: a Claude
/// on Modal (whose exec outlives a server that dies) then finishes and exits instead of
/// waiting for ever. Fixed text; the command follows as arguments.
const CONVERSATION: &str =
    r#"while IFS= read -r -t "$0" line; do [ -z "$line" ] || printf '%s\n' "$line"; done | exec "$@""#;
/// Seconds without a line (heartbeats included) after which a conversation's input ends:
/// a few heartbeats missed, never a slow turn (heartbeats keep coming while Claude works).
const CONVERSATION_GAP_SECS: u64 = 4 * super::stdin::HEARTBEAT.as_secs();
/// Stops the recorded process group: TERM, a grace period, then KILL.
const KILL: &str = r#"p=$(cat -- "$0" 2>/dev/null) || exit 0; kill -s TERM -- "-$p" 2>/dev/null; sleep 3; kill -s KILL -- "-$p" 2>/dev/null; rm -f -- "$0""#;

/// Starts `req` and returns its output as lines. Its environment (with the run's gateway
/// token, valid only while the run lives; no operator key ever reaches Modal) travels in
/// the exec request, so it is in no process's argv.
pub(super) async fn exec(b: &ModalBackend, ext: &str, req: ExecRequest) -> AppResult<ExecHandle> {
    let pidfile = format!("/tmp/.sandboxql-exec-{}.pid", Uuid::new_v4());
    let mut command: Vec<String> = ["setsid", "-w", "/bin/sh", "-c", WRAPPER].map(String::from).to_vec();
    command.push(pidfile.clone());
    let conversation = req.conversation && req.stdin.is_some();
    if conversation {
        // Gives up by itself: nothing closes its input if this server dies.
        command.extend(["bash".to_string(), "-c".into(), CONVERSATION.into(), CONVERSATION_GAP_SECS.to_string()]);
    }
    command.extend(req.argv);
    let mut env: HashMap<String, String> = req.env.into_iter().collect();
    env.extend(req.secret_env.into_iter().map(|(k, v)| (k, v.0)));
    // Claude's sessions live on the sandbox's volume, so they outlive this Modal sandbox.
    env.insert("HOME".into(), super::HOME_DIR.into());
    let max_line = req.max_line_bytes;
    let stdin = match req.stdin {
        Some(rx) if conversation => Stdin::Heartbeat(rx),
        Some(rx) => Stdin::Chunks(rx),
        None => Stdin::Closed,
    };
    let router = b.router(ext).await?;
    let started = exec::start(&router, command, WORKDIR, env, stdin).await?;
    let (tx, rx) = mpsc::channel(256);
    let cancel = CancellationToken::new();
    let killer = Killer { router, pidfile };
    tokio::spawn(pump(started.output, tx, cancel.clone(), killer, max_line));
    Ok(ExecHandle { output: rx, cancel })
}

/// What it takes to stop a command later.
struct Killer {
    router: Arc<Router>,
    pidfile: String,
}

impl Killer {
    fn fire(self) {
        tokio::spawn(async move {
            let cmd = ["/bin/sh", "-c", KILL, &self.pidfile].map(String::from).to_vec();
            match exec::start(&self.router, cmd, WORKDIR, HashMap::new(), Stdin::Closed).await {
                Ok(mut started) => while started.output.recv().await.is_some() {},
                Err(e) => tracing::warn!(error = ?e.log_detail(), "could not cancel a Modal exec"),
            }
        });
    }
}

/// Turns raw output into lines; kills the command once when `cancel` fires and keeps
/// reading until it exits, so the exit is still reported.
async fn pump(
    mut raw: mpsc::Receiver<RawOutput>,
    tx: mpsc::Sender<ExecOutput>,
    cancel: CancellationToken,
    killer: Killer,
    max_line: usize,
) {
    let (mut out, mut err) = (LineSplitter::new(max_line), LineSplitter::new(max_line));
    let mut killer = Some(killer);
    loop {
        let msg = tokio::select! {
            msg = raw.recv() => msg,
            _ = cancel.cancelled(), if killer.is_some() => {
                if let Some(k) = killer.take() {
                    k.fire();
                }
                continue;
            }
        };
        let lines: Vec<ExecOutput> = match msg {
            Some(RawOutput::Stdout(d)) => out.push(&d).into_iter().map(ExecOutput::Stdout).collect(),
            Some(RawOutput::Stderr(d)) => err.push(&d).into_iter().map(ExecOutput::Stderr).collect(),
            end => {
                let mut last: Vec<ExecOutput> = out.finish().map(ExecOutput::Stdout).into_iter().collect();
                last.extend(err.finish().map(ExecOutput::Stderr));
                let code = match end {
                    Some(RawOutput::Exited(code)) => code,
                    Some(RawOutput::Lost(e)) => {
                        tracing::error!(error = ?e.log_detail(), "lost the Modal exec output stream");
                        last.push(ExecOutput::Stderr("lost the connection to the sandbox provider".into()));
                        None
                    }
                    _ => None,
                };
                last.push(ExecOutput::Exited(code));
                for line in last {
                    let _ = tx.send(line).await;
                }
                return;
            }
        };
        for line in lines {
            let _ = tx.send(line).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{io::Write, process::Stdio, time::Duration, time::Instant};

    use super::CONVERSATION;

    fn wrapped(secs: &str) -> std::process::Child {
        std::process::Command::new("bash")
            .args(["-c", CONVERSATION, secs, "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    }

    #[test]
    fn a_conversation_ends_when_its_heartbeats_stop_and_passes_every_line_through() {
        // Nothing within a second: the command's input ends (though ours stays open).
        let mut idle = wrapped("1");
        let held = idle.stdin.take();
        let started = Instant::now();
        let status = idle.wait().unwrap();
        let waited = started.elapsed();
        assert!(status.success(), "{status:?}");
        assert!(waited.as_millis() >= 900 && waited.as_secs() < 5, "gave up after its second: {waited:?}");
        drop(held);
        // Lines and heartbeats for longer than the gap: it goes on; heartbeats are dropped.
        let mut busy = wrapped("1");
        let mut stdin = busy.stdin.take().unwrap();
        stdin.write_all(b"{\"first\": 1}\n").unwrap();
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(400));
            stdin.write_all(b"\n").unwrap();
        }
        stdin.write_all(b"second\n").unwrap();
        drop(stdin);
        let out = busy.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"first\": 1}\nsecond\n");
    }
}
