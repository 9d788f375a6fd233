//! Users' processes and terminals in a Modal sandbox, through the task command router as
//! the official client starts them (`Sandbox.exec(..., pty=True)` for a terminal: a
//! `PTYInfo` on `TaskExecStart`). The router has no call to signal or resize an exec, so
//! a small wrapper records the process group and the terminal's device in `/tmp`, and a
//! second exec signals the group (`kill -- -pgid`) or sets the size (`stty`, then
//! SIGWINCH) — how runs are cancelled on Modal too.

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{
    HOME_DIR, ModalBackend, WORKDIR,
    exec::{self, RawOutput, Stdin},
    proto::{PtyInfo, pty_info::PtyType},
    router::Router,
};
use crate::{
    ExternalId, Processes,
    error::AppResult,
    process::{ProcessControl, ProcessExit, ProcessHandle, ProcessRequest},
};

/// Records the process group (`$$`: a session leader) in `$0` and the terminal in
/// `$0.tty`, then becomes the command. Fixed text: paths and the command are arguments.
const RECORD: &str = r#"echo $$ > "$0"; tty > "$0.tty" 2>/dev/null; exec "$@""#;
/// Sends signal `$1` to the recorded group.
const SIGNAL: &str = r#"p=$(cat -- "$0" 2>/dev/null) || exit 0; kill -s "$1" -- "-$p" 2>/dev/null; exit 0"#;
/// Sets the recorded terminal to `$1` columns and `$2` rows and tells the group.
const RESIZE: &str = r#"t=$(cat -- "$0.tty" 2>/dev/null) && p=$(cat -- "$0") || exit 0; stty -F "$t" cols "$1" rows "$2" && kill -WINCH -- "-$p" 2>/dev/null; exit 0"#;

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

#[async_trait]
impl Processes for ModalBackend {
    async fn start_process(&self, id: &ExternalId, req: ProcessRequest) -> AppResult<ProcessHandle> {
        let pidfile = format!("/tmp/.sandboxql-process-{}.pid", Uuid::new_v4());
        // A terminal's program leads the session the pty was made for; a plain process
        // gets a session (and so a group) of its own.
        let mut command = match req.tty {
            Some(_) => argv(&["/bin/sh", "-c", RECORD]),
            None => argv(&["setsid", "-w", "/bin/sh", "-c", RECORD]),
        };
        command.push(pidfile.clone());
        command.extend(req.argv);
        let mut env: HashMap<String, String> =
            self.extra_env.vars(id, &crate::capabilities::Exec::gateway_env(self)).into_iter().collect();
        env.extend(req.env);
        env.insert("HOME".into(), HOME_DIR.into());
        let workdir = match req.cwd.is_root() {
            true => WORKDIR.to_string(),
            false => format!("{WORKDIR}/{}", req.cwd.as_str()),
        };
        let pty = req.tty.map(|size| PtyInfo {
            enabled: true,
            winsz_rows: size.rows.into(),
            winsz_cols: size.cols.into(),
            env_term: "xterm-256color".into(),
            env_colorterm: "truecolor".into(),
            env_term_program: String::new(),
            pty_type: PtyType::Shell as i32,
            no_terminate_on_idle_stdin: true,
        });
        let (input, stdin) = match pty {
            Some(_) => {
                let (tx, rx) = mpsc::channel(64);
                (Some(tx), Stdin::Chunks(rx))
            }
            None => (None, Stdin::Closed),
        };
        let router = self.router(id).await?;
        let started = exec::start_on(&router, command, &workdir, env, stdin, pty).await?;
        let (out_tx, out_rx) = mpsc::channel(256);
        let (exit_tx, exit_rx) = oneshot::channel();
        tokio::spawn(pump(started.output, out_tx, exit_tx));
        let (control, mut controls) = mpsc::channel(16);
        tokio::spawn(async move {
            while let Some(c) = controls.recv().await {
                control_group(&router, &pidfile, c).await;
            }
        });
        Ok(ProcessHandle { output: out_rx, input, control, exit: exit_rx })
    }
}

/// Raw output in arrival order, then the exit.
async fn pump(mut output: mpsc::Receiver<RawOutput>, tx: mpsc::Sender<Vec<u8>>, exit: oneshot::Sender<ProcessExit>) {
    while let Some(piece) = output.recv().await {
        match piece {
            RawOutput::Stdout(b) | RawOutput::Stderr(b) => {
                // A reader that went away still lets the process run to its exit.
                let _ = tx.send(b).await;
            }
            RawOutput::Exited(code) => {
                let _ = exit.send(ProcessExit { code });
                return;
            }
            RawOutput::Lost(e) => {
                tracing::warn!(error = ?e.log_detail(), "lost a Modal process's output stream");
                let _ = exit.send(ProcessExit { code: None });
                return;
            }
        }
    }
    let _ = exit.send(ProcessExit { code: None });
}

/// Signals or resizes the recorded group with a second exec (best effort: a process that
/// already ended has nothing to signal).
async fn control_group(router: &Arc<Router>, pidfile: &str, c: ProcessControl) {
    let command = match c {
        ProcessControl::Signal(sig) => argv(&["/bin/sh", "-c", SIGNAL, pidfile, &sig.to_string()]),
        ProcessControl::Resize(size) => {
            argv(&["/bin/sh", "-c", RESIZE, pidfile, &size.cols.to_string(), &size.rows.to_string()])
        }
    };
    match exec::start(router, command, WORKDIR, HashMap::new(), Stdin::Closed).await {
        Ok(mut started) => while started.output.recv().await.is_some() {},
        Err(e) => tracing::warn!(error = ?e.log_detail(), "could not signal a Modal process"),
    }
}
