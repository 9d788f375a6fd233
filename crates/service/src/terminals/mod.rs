//! Terminals in sandboxes (`openTerminal`): a shell (or any program) on a pty in the
//! sandbox's jail, owned by the instance that opened it. It outlives the websockets that
//! show it — until it exits, is closed, or its sandbox stops — and keeps a bounded
//! scrollback so a client that reattaches gets the recent screen, then live output.

pub mod idle;
pub mod screen;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use self::{idle::Activity, screen::Scrollback};
use crate::{
    auth::Viewer,
    backend::{
        Backend,
        files::WorkspacePath,
        process::{ProcessControl, ProcessRequest, TtySize},
    },
    config::Limits,
    entity::{enums::SandboxStatus, new_id, now},
    error::{AppError, AppResult, reasons},
    sandboxes::VisibleSandbox,
};

/// The program a terminal runs when none is given.
const DEFAULT_SHELL: &[&str] = &["bash", "-l"];
/// Nice value of terminals (as Claude's runs: below the server).
const TERMINAL_NICE: i32 = 10;
/// Longest time between two sweeps for idle terminals.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Largest terminal, in cells each way.
const TTY_CELLS: u16 = 1000;

/// A terminal's state as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalInfo {
    /// Its id.
    pub id: Uuid,
    /// Its sandbox.
    pub sandbox_id: Uuid,
    /// Columns and rows.
    pub size: TtySize,
    /// None while it runs; its exit code (None inside) once it ended.
    pub exit: Option<Option<i32>>,
    /// When opened.
    pub created_at: DateTime<Utc>,
}

/// One open terminal.
pub struct Terminal {
    info: Mutex<TerminalInfo>,
    account_id: Uuid,
    screen: Mutex<Scrollback>,
    /// The offset after the newest byte; changes wake attached clients.
    end: watch::Sender<u64>,
    input: Option<mpsc::Sender<Vec<u8>>>,
    control: mpsc::Sender<ProcessControl>,
    /// Attachments, last use and the input rate.
    pub activity: Activity,
}

impl Terminal {
    /// Its state now.
    pub fn info(&self) -> TerminalInfo {
        self.info.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// At most `max` bytes of output from `from` (with how much was cut before them).
    pub fn read(&self, from: u64, max: usize) -> screen::Read {
        self.screen.lock().unwrap_or_else(|p| p.into_inner()).read(from, max)
    }

    /// Changes of the output's end (and of its exit).
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.end.subscribe()
    }

    /// Types `bytes` into it at no more than its input rate; false once it has ended.
    pub async fn type_in(&self, bytes: Vec<u8>) -> bool {
        let Some(tx) = &self.input else { return false };
        self.activity.admit(bytes.len()).await;
        tx.send(bytes).await.is_ok()
    }

    /// Sets its size.
    pub async fn resize(&self, size: TtySize) -> AppResult<()> {
        let size = checked(size)?;
        self.info.lock().unwrap_or_else(|p| p.into_inner()).size = size;
        let _ = self.control.send(ProcessControl::Resize(size)).await;
        Ok(())
    }
}

impl Terminal {
    /// Sets its size from untrusted numbers (out of range: BAD_USER_INPUT).
    pub async fn resize_to(&self, cols: u64, rows: u64) -> AppResult<()> {
        let cell = |n: u64| u16::try_from(n).unwrap_or(0);
        self.resize(TtySize { cols: cell(cols), rows: cell(rows) }).await
    }
}

fn checked(size: TtySize) -> AppResult<TtySize> {
    if size.cols == 0 || size.rows == 0 || size.cols > TTY_CELLS || size.rows > TTY_CELLS {
        return Err(AppError::bad_input(format!("cols and rows: 1 to {TTY_CELLS}")));
    }
    Ok(size)
}

/// The terminals of this instance.
#[derive(Clone)]
pub struct Terminals {
    backend: Arc<dyn Backend>,
    limits: Arc<Limits>,
    open: Arc<Mutex<HashMap<Uuid, Arc<Terminal>>>>,
}

impl Terminals {
    /// No terminals yet.
    pub fn new(backend: Arc<dyn Backend>, limits: Arc<Limits>) -> Self {
        Self { backend, limits, open: Arc::default() }
    }

    /// Opens a terminal running `command` (default: a login bash) in a RUNNING sandbox.
    pub async fn open(
        &self,
        sb: &VisibleSandbox,
        size: TtySize,
        command: Option<Vec<String>>,
    ) -> AppResult<TerminalInfo> {
        let Some(procs) = self.backend.processes() else {
            return Err(AppError::bad_input("this deployment's sandboxes cannot open terminals yet"));
        };
        let size = checked(size)?;
        if sb.status != SandboxStatus::Running {
            return Err(AppError::conflict_because(reasons::NOT_RUNNING, "the sandbox is not running"));
        }
        let argv =
            command.filter(|c| !c.is_empty()).unwrap_or_else(|| DEFAULT_SHELL.iter().map(|s| s.to_string()).collect());
        let l = &self.limits.processes;
        if argv.len() > l.process_max_args || argv.iter().map(String::len).sum::<usize>() > l.process_max_argv_bytes {
            return Err(AppError::bad_input("command: too long"));
        }
        let running = |t: &Terminal| t.info().exit.is_none();
        if self.list_where(|t| running(t) && t.info().sandbox_id == sb.id).len() as u64 >= l.terminals_per_sandbox {
            let n = l.terminals_per_sandbox;
            return Err(AppError::conflict(format!("a sandbox may have {n} terminals open; close one first")));
        }
        if self.list_where(|t| running(t) && t.account_id == sb.account_id).len() as u64 >= l.terminals_per_account {
            let n = l.terminals_per_account;
            return Err(AppError::conflict(format!("an account may have {n} terminals open; close one first")));
        }
        let req =
            ProcessRequest { argv, env: vec![], cwd: WorkspacePath::root(), tty: Some(size), nice: TERMINAL_NICE };
        let mut handle = procs.start_process(&sb.external_id()?, req).await?;
        let info = TerminalInfo { id: new_id(), sandbox_id: sb.id, size, exit: None, created_at: now() };
        let term = Arc::new(Terminal {
            info: Mutex::new(info.clone()),
            account_id: sb.account_id,
            screen: Mutex::new(Scrollback::new(l.terminal_scrollback_bytes)),
            end: watch::channel(0).0,
            input: handle.input.take(),
            control: handle.control.clone(),
            activity: Activity::new(l.terminal_input_bytes_per_sec),
        });
        self.open.lock().unwrap_or_else(|p| p.into_inner()).insert(info.id, term.clone());
        tokio::spawn(async move {
            while let Some(bytes) = handle.output.recv().await {
                let end = {
                    let mut s = term.screen.lock().unwrap_or_else(|p| p.into_inner());
                    s.push(&bytes);
                    s.end()
                };
                let _ = term.end.send(end);
            }
            let code = handle.exit.await.ok().and_then(|e| e.code);
            term.info.lock().unwrap_or_else(|p| p.into_inner()).exit = Some(code);
            term.activity.touch();
            term.end.send_modify(|_| {});
        });
        Ok(info)
    }

    /// A terminal the viewer may see (its account's; any for an admin), on this instance.
    pub fn get(&self, viewer: &Viewer, id: Uuid) -> AppResult<Arc<Terminal>> {
        let t = self.open.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned();
        match t {
            Some(t) if viewer.is_admin() || t.account_id == viewer.account_id => Ok(t),
            _ => Err(AppError::NotFound("terminal")),
        }
    }

    /// The sandbox's terminals on this instance, oldest first.
    pub fn of_sandbox(&self, sb: &VisibleSandbox) -> Vec<TerminalInfo> {
        let mut v: Vec<TerminalInfo> =
            self.list_where(|t| t.info().sandbox_id == sb.id).iter().map(|t| t.info()).collect();
        v.sort_by_key(|i| i.id);
        v
    }

    /// Ends a terminal (its whole tree) and forgets it.
    pub async fn close(&self, viewer: &Viewer, id: Uuid) -> AppResult<TerminalInfo> {
        let t = self.get(viewer, id)?;
        let _ = t.control.send(ProcessControl::Signal(libc::SIGKILL)).await;
        self.open.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        Ok(t.info())
    }

    /// Closes the terminals idle past `limits.terminalIdleSecs` (no client, nothing
    /// typed) and forgets ended ones as long idle; returns how many went.
    pub async fn sweep(&self) -> usize {
        let idle = Duration::from_secs(self.limits.processes.terminal_idle_secs);
        let gone = self.list_where(|t| t.activity.idle_for(idle));
        for t in &gone {
            if t.info().exit.is_none() {
                let _ = t.control.send(ProcessControl::Signal(libc::SIGKILL)).await;
            }
            self.open.lock().unwrap_or_else(|p| p.into_inner()).remove(&t.info().id);
        }
        gone.len()
    }

    /// Sweeps idle terminals for as long as the server runs.
    pub fn spawn_sweeper(&self) {
        let me = self.clone();
        let idle = Duration::from_secs(self.limits.processes.terminal_idle_secs);
        let every = (idle / 4).clamp(Duration::from_secs(1), SWEEP_EVERY);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                me.sweep().await;
            }
        });
    }

    fn list_where(&self, keep: impl Fn(&Terminal) -> bool) -> Vec<Arc<Terminal>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).values().filter(|t| keep(t)).cloned().collect()
    }
}
