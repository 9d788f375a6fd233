//! Queries, mutations and subscriptions of Claude runs.

use async_graphql::{Context, ID, InputObject, Json, Object, Result, Subscription};
use futures::{Stream, StreamExt};

use super::{
    context::{parse_id, require_sandbox, scope},
    cost,
    types::{enums::PermissionMode, event::ClaudeEvent, run::AgentRun},
};
use crate::service::runs::{PermissionAnswer, StartRun};
use serde_json::Value;

/// What to ask Claude, and where.
#[derive(InputObject)]
pub struct StartRunInput {
    /// Sandbox to run in.
    pub sandbox_id: ID,
    /// The prompt (not empty; limited in size).
    pub prompt: String,
    /// Model to use instead of Claude's default.
    pub model: Option<String>,
    /// Most agent turns (1–500).
    pub max_turns: Option<i32>,
    /// BYPASS (default): tools run without asking. ASK: each tool call Claude would ask
    /// about waits for `answerPermission`.
    #[graphql(default)]
    pub permission_mode: PermissionMode,
    /// Keep the run open after Claude's turn for `sendMessage` follow-ups (it ends after
    /// the idle time in `limits.runIdleSecs`, or with `endRun`).
    #[graphql(default)]
    pub interactive: bool,
}

fn start_input(prompt: String, model: Option<String>, max_turns: Option<i32>) -> StartRun {
    StartRun { prompt, model, max_turns: max_turns.map(i64::from), ..Default::default() }
}

/// Run queries.
#[derive(Default)]
pub struct RunQuery;

#[Object]
impl RunQuery {
    /// A run by id; null when it does not exist or is not the caller's.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn run(&self, ctx: &Context<'_>, id: ID) -> Result<Option<AgentRun>> {
        let (svc, viewer) = scope(ctx)?;
        Ok(svc.runs.get(viewer, parse_id(&id, "id")?).await?.map(AgentRun))
    }
}

/// Run mutations.
#[derive(Default)]
pub struct RunMutation;

#[Object]
impl RunMutation {
    /// Starts Claude in a sandbox; follow it with `runEvents`. CONFLICT when a run is
    /// already active there or the sandbox is not running.
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn start_run(&self, ctx: &Context<'_>, input: StartRunInput) -> Result<AgentRun> {
        let (svc, viewer) = scope(ctx)?;
        let sb = require_sandbox(ctx, &input.sandbox_id, "sandboxId").await?;
        let mut start = start_input(input.prompt, input.model, input.max_turns);
        start.permission_mode = input.permission_mode.into();
        start.interactive = input.interactive;
        Ok(AgentRun(svc.runs.start(viewer, &sb, start).await?))
    }

    /// Sends a follow-up message to a running interactive (or ASK) run; Claude answers in
    /// the same run and session, after its current turn. CONFLICT when the run has ended
    /// or does not take input.
    #[graphql(complexity = "2 * cost::QUERY + child_complexity")]
    async fn send_message(&self, ctx: &Context<'_>, run_id: ID, text: String) -> Result<AgentRun> {
        let (svc, viewer) = scope(ctx)?;
        Ok(AgentRun(svc.runs.send_message(viewer, parse_id(&run_id, "runId")?, text).await?))
    }

    /// Stops Claude's current turn and keeps the session: an interactive run then waits
    /// for the next message. (`cancelRun` kills the whole run.)
    #[graphql(complexity = "2 * cost::QUERY + child_complexity")]
    async fn interrupt_run(&self, ctx: &Context<'_>, run_id: ID) -> Result<AgentRun> {
        let (svc, viewer) = scope(ctx)?;
        Ok(AgentRun(svc.runs.interrupt(viewer, parse_id(&run_id, "runId")?).await?))
    }

    /// Ends an interactive run once Claude's current turn is over.
    #[graphql(complexity = "2 * cost::QUERY + child_complexity")]
    async fn end_run(&self, ctx: &Context<'_>, run_id: ID) -> Result<AgentRun> {
        let (svc, viewer) = scope(ctx)?;
        Ok(AgentRun(svc.runs.end(viewer, parse_id(&run_id, "runId")?).await?))
    }

    /// Allows or denies a tool call of an ASK run. The first answer counts: CONFLICT for
    /// a request already answered, timed out or withdrawn; NOT_FOUND for another
    /// account's run. Audited.
    #[graphql(complexity = "2 * cost::QUERY + child_complexity")]
    async fn answer_permission(
        &self,
        ctx: &Context<'_>,
        run_id: ID,
        #[graphql(desc = "`requestId` of the PermissionRequested event.")] request_id: String,
        #[graphql(desc = "Whether the tool may run.")] allow: bool,
        #[graphql(desc = "Tool input to run with instead of Claude's (when allowing).")] updated_input: Option<
            Json<Value>,
        >,
        #[graphql(desc = "What Claude is told when denied.")] message: Option<String>,
    ) -> Result<AgentRun> {
        let (svc, viewer) = scope(ctx)?;
        let answer = PermissionAnswer { request_id, allow, updated_input: updated_input.map(|j| j.0), message };
        Ok(AgentRun(svc.runs.answer_permission(viewer, parse_id(&run_id, "runId")?, answer).await?))
    }

    /// Stops a run (its whole process tree) and returns it, normally CANCELLED. Name it
    /// by `runId`, like the other run mutations (`id` still works).
    #[graphql(complexity = "2 * cost::QUERY + child_complexity")]
    async fn cancel_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run to stop.")] run_id: Option<ID>,
        #[graphql(deprecation = "use `runId`, as `interruptRun` and `endRun` do")] id: Option<ID>,
    ) -> Result<AgentRun> {
        let (svc, viewer) = scope(ctx)?;
        let run = match (run_id, id) {
            (Some(r), None) => parse_id(&r, "runId")?,
            (None, Some(i)) => parse_id(&i, "id")?,
            _ => return Err(crate::error::AppError::bad_input("name the run by `runId`").into()),
        };
        Ok(AgentRun(svc.runs.cancel(viewer, run).await?))
    }
}

/// Run subscriptions.
#[derive(Default)]
pub struct RunSubscription;

#[Subscription]
impl RunSubscription {
    /// Starts a run and streams its events until RunFinished. Closing the subscription
    /// does not stop the run: resume with `runEvents(runId, afterSeq)`.
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn claude_stream(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
        prompt: String,
        model: Option<String>,
        max_turns: Option<i32>,
    ) -> Result<impl Stream<Item = Result<ClaudeEvent>> + use<>> {
        let (svc, viewer) = scope(ctx)?;
        // A subscription that starts a run changes something: not for read-only tokens.
        viewer.require_writer()?;
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        let run = svc.runs.start(viewer, &sb, start_input(prompt, model, max_turns)).await?;
        let events = svc.runs.follow(viewer, run.id, 0).await?;
        Ok(events.map(|r| r.map(ClaudeEvent::from).map_err(Into::into)))
    }

    /// Stored events after `afterSeq`, then live ones, ending after RunFinished: no gap,
    /// no duplicate, also across reconnects. `kinds` (event type names, e.g.
    /// `["AssistantText", "ToolUse"]`) keeps only those, filtered on the server;
    /// RunFinished always ends the stream.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn run_events(
        &self,
        ctx: &Context<'_>,
        run_id: ID,
        #[graphql(default = 0)] after_seq: i64,
        kinds: Option<Vec<String>>,
    ) -> Result<impl Stream<Item = Result<ClaudeEvent>> + use<>> {
        let (svc, viewer) = scope(ctx)?;
        let max = crate::service::runs::KINDS_PER_FILTER;
        if kinds.as_ref().is_some_and(|k| k.len() > max) {
            return Err(crate::error::AppError::bad_input(format!("at most {max} kinds")).into());
        }
        // A reconnecting SSE client resumes after the last event it saw.
        let after_seq = ctx.data_opt::<sandboxql_gql::LastEventId>().map_or(after_seq, |l| l.0.max(after_seq));
        let run_id = parse_id(&run_id, "runId")?;
        let events = svc.runs.follow(viewer, run_id, after_seq).await?;
        svc.runs.check_kinds(run_id, kinds.as_deref()).await?;
        let wanted =
            move |kind: &str| kind == "RunFinished" || kinds.as_ref().is_none_or(|k| k.iter().any(|w| w == kind));
        Ok(events
            .filter(move |r| {
                let keep = r.as_ref().map_or(true, |e| wanted(e.body.kind()));
                futures::future::ready(keep)
            })
            .map(|r| r.map(ClaudeEvent::from).map_err(Into::into)))
    }
}
