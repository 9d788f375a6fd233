//! `Terminal`: a pty in a sandbox (`openTerminal`), its bytes on the `/terminal/{id}`
//! websocket.

use async_graphql::{Enum, ID, Object};
use chrono::{DateTime, Utc};

use crate::service::terminals::TerminalInfo;

/// Whether a terminal still runs.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TerminalStatus {
    /// Its program runs.
    Running,
    /// Its program ended (`exitCode`).
    Exited,
}

/// A terminal in a sandbox. Attach to `/terminal/{id}` (see docs/terminals.md): the recent
/// screen, then live output; binary frames are input.
pub struct Terminal(pub TerminalInfo);

#[Object]
impl Terminal {
    /// Its id (the websocket path names it).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its sandbox.
    async fn sandbox_id(&self) -> ID {
        ID(self.0.sandbox_id.to_string())
    }
    /// Whether it runs.
    async fn status(&self) -> TerminalStatus {
        if self.0.exit.is_some() { TerminalStatus::Exited } else { TerminalStatus::Running }
    }
    /// Columns.
    async fn cols(&self) -> i32 {
        self.0.size.cols.into()
    }
    /// Rows.
    async fn rows(&self) -> i32 {
        self.0.size.rows.into()
    }
    /// Its program's exit code once EXITED.
    async fn exit_code(&self) -> Option<i32> {
        self.0.exit.flatten()
    }
    /// When it was opened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
