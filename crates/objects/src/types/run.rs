//! `AgentRun`, its status and its connection.

use async_graphql::{ComplexObject, Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    enums::{PermissionMode, RunStatus},
    event::ClaudeEvent,
    page::PageInfo,
    permission::PermissionRequest,
};
use crate::{
    entity::agent_run,
    service::{
        paging::{Page, encode_cursor},
        sandboxes::VisibleSandbox,
    },
    {context::scope, cost},
};

/// One Claude invocation in a sandbox.
pub struct AgentRun(pub agent_run::Model);

#[Object]
impl AgentRun {
    /// Run id.
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The sandbox it runs in.
    async fn sandbox_id(&self) -> ID {
        ID(self.0.sandbox_id.to_string())
    }
    /// What was asked.
    async fn prompt(&self) -> &str {
        &self.0.prompt
    }
    /// Lifecycle state.
    async fn status(&self) -> RunStatus {
        self.0.status.into()
    }
    /// Claude's session id.
    async fn claude_session_id(&self) -> Option<&str> {
        self.0.claude_session_id.as_deref()
    }
    /// Cost in US dollars as Claude reported it, once finished (`usage` is what the
    /// gateway measured and charged).
    async fn cost_usd(&self) -> Option<f64> {
        self.0.cost_usd
    }
    /// What this run's API requests used and cost, as the gateway charged them.
    #[graphql(complexity = "cost::QUERY")]
    async fn usage(&self, ctx: &Context<'_>) -> Result<super::usage::Usage> {
        let (svc, _) = scope(ctx)?;
        super::usage::totals(&svc.db, crate::service::billing::usage::UsageScope::Run(self.0.id), None, None).await
    }
    /// The checkpoints taken after this run's turns, in turn order.
    #[graphql(complexity = "cost::page(first as i64, child_complexity)")]
    async fn checkpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<super::checkpoint::Checkpoint>> {
        let (svc, _) = scope(ctx)?;
        let page = crate::service::paging::PageRequest::new(first.into(), None, svc.limits.max_page_size)?;
        let rows = svc.checkpoints.of_run(self.0.id, page.first).await?;
        Ok(rows.into_iter().map(super::checkpoint::Checkpoint).collect())
    }
    /// When retention removed its token deltas (null: all its events are stored); a
    /// replay then has every typed event but no `TextDelta`, `ToolInputDelta` or
    /// `ThinkingDelta`.
    async fn events_compacted_at(&self) -> Option<DateTime<Utc>> {
        self.0.events_compacted_at
    }
    /// Duration in milliseconds, once finished.
    async fn duration_ms(&self) -> Option<i64> {
        self.0.duration_ms
    }
    /// Turns taken, once finished.
    async fn num_turns(&self) -> Option<i64> {
        self.0.num_turns
    }
    /// Why it failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// Model requested.
    async fn model(&self) -> Option<&str> {
        self.0.model.as_deref()
    }
    /// Turn limit requested.
    async fn max_turns(&self) -> Option<i64> {
        self.0.max_turns
    }
    /// When started.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Whether tool calls run at once (BYPASS) or wait for `answerPermission` (ASK).
    async fn permission_mode(&self) -> PermissionMode {
        self.0.permission_mode.into()
    }
    /// Whether the run stays open for `sendMessage` after Claude's turn ends.
    async fn interactive(&self) -> bool {
        self.0.interactive
    }
    /// Tool calls waiting for `answerPermission`, oldest first.
    #[graphql(complexity = "cost::QUERY")]
    async fn pending_permissions(&self, ctx: &Context<'_>) -> Result<Vec<PermissionRequest>> {
        let (svc, _) = scope(ctx)?;
        Ok(svc.runs.pending_permissions(&self.0).await?.into_iter().map(Into::into).collect())
    }
    /// Stored events after `afterSeq` (at most `first`, up to 1000): the history of the run.
    /// `kinds` (event type names) keeps only those, filtered in the database: the history
    /// without token deltas, say.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 0)] after_seq: i64,
        #[graphql(default = 500)] first: i64,
        kinds: Option<Vec<String>>,
    ) -> Result<Vec<ClaudeEvent>> {
        let (svc, viewer) = scope(ctx)?;
        let events = svc.runs.events_page(viewer, self.0.id, after_seq, first, kinds.as_deref()).await?;
        Ok(events.into_iter().map(ClaudeEvent::from).collect())
    }
}

/// One run in a list.
#[derive(SimpleObject)]
pub struct AgentRunEdge {
    /// Opaque position.
    pub cursor: String,
    /// The run.
    pub node: AgentRun,
}

/// A page of runs of a sandbox, newest first.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AgentRunConnection {
    /// Runs with cursors.
    pub edges: Vec<AgentRunEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
    /// The sandbox, kept to count its runs on demand.
    #[graphql(skip)]
    pub sandbox: VisibleSandbox,
}

#[ComplexObject]
impl AgentRunConnection {
    /// Runs on this page.
    async fn nodes(&self) -> Vec<AgentRun> {
        self.edges.iter().map(|e| AgentRun(e.node.0.clone())).collect()
    }
    /// All runs of the sandbox.
    #[graphql(complexity = "cost::QUERY")]
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let (svc, _) = scope(ctx)?;
        Ok(svc.runs.count(&self.sandbox).await?)
    }
}

impl AgentRunConnection {
    /// Wraps a service page.
    pub fn new(page: Page<agent_run::Model>, had_after: bool, sandbox: VisibleSandbox) -> Self {
        let page_info = PageInfo::of(&page, had_after, |r| r.id);
        let edges =
            page.items.into_iter().map(|r| AgentRunEdge { cursor: encode_cursor(r.id), node: AgentRun(r) }).collect();
        Self { edges, page_info, sandbox }
    }
}
