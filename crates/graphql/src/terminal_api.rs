//! Terminal mutations: `openTerminal`, `resizeTerminal`, `closeTerminal`. The bytes go
//! over the `/terminal/{id}` websocket, not GraphQL.

use async_graphql::{Context, ID, Object, Result};

use crate::{
    backend::process::TtySize,
    context::{parse_id, require_sandbox, scope},
    cost,
    error::AppError,
    types::terminal::Terminal,
};

fn size(cols: i32, rows: i32) -> Result<TtySize, AppError> {
    let cols = u16::try_from(cols).map_err(|_| AppError::bad_input("cols: 1 to 1000"))?;
    let rows = u16::try_from(rows).map_err(|_| AppError::bad_input("rows: 1 to 1000"))?;
    Ok(TtySize { cols, rows })
}

/// Terminal mutations.
#[derive(Default)]
pub struct TerminalMutation;

#[Object]
impl TerminalMutation {
    /// Opens a terminal in a RUNNING sandbox running `command` (default: a login bash),
    /// in its jail and bounds like Claude's commands. At most
    /// `limits.terminalsPerSandbox` at once (CONFLICT).
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn open_terminal(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
        #[graphql(default = 80)] cols: i32,
        #[graphql(default = 24)] rows: i32,
        command: Option<Vec<String>>,
    ) -> Result<Terminal> {
        let (svc, _) = scope(ctx)?;
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        Ok(Terminal(svc.terminals.open(&sb, size(cols, rows)?, command).await?))
    }

    /// Sets a terminal's size (its program gets SIGWINCH).
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn resize_terminal(&self, ctx: &Context<'_>, id: ID, cols: i32, rows: i32) -> Result<Terminal> {
        let (svc, viewer) = scope(ctx)?;
        let t = svc.terminals.get(viewer, parse_id(&id, "id")?)?;
        t.resize(size(cols, rows)?).await?;
        Ok(Terminal(t.info()))
    }

    /// Ends a terminal and everything started in it.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn close_terminal(&self, ctx: &Context<'_>, id: ID) -> Result<Terminal> {
        let (svc, viewer) = scope(ctx)?;
        Ok(Terminal(svc.terminals.close(viewer, parse_id(&id, "id")?).await?))
    }
}
