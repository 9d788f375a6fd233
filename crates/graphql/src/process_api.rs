//! Users' processes: `startProcess`, `signalProcess`, `process(id)` and the
//! `processOutput` subscription. Another account's process is NOT_FOUND everywhere.

use async_graphql::{Context, ID, InputObject, Object, Result, Subscription};
use futures::{Stream, StreamExt};

use crate::{
    context::{parse_id, require_sandbox, scope},
    cost,
    service::processes::StartProcess,
    types::process::{Process, ProcessOutput, ProcessSignal},
};

/// A variable of a process's environment.
#[derive(InputObject)]
pub struct EnvVar {
    /// Its name (letters, digits, `_`; not starting with a digit).
    pub name: String,
    /// Its value.
    pub value: String,
}

/// What `startProcess` starts.
#[derive(InputObject)]
pub struct StartProcessInput {
    /// The sandbox.
    pub sandbox_id: ID,
    /// Program and arguments; no shell unless the program is one (`["sh", "-c", "…"]`).
    pub argv: Vec<String>,
    /// Working directory relative to the workspace (default: the workspace).
    #[graphql(default)]
    pub cwd: String,
    /// Environment variables beyond the sandbox's base.
    #[graphql(default)]
    pub env: Vec<EnvVar>,
    /// A name to find it by (default: its program's).
    pub name: Option<String>,
}

/// Process queries.
#[derive(Default)]
pub struct ProcessQuery;

#[Object]
impl ProcessQuery {
    /// A process by id; null when missing or another account's.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn process(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Process>> {
        let (svc, viewer) = scope(ctx)?;
        match svc.processes.get(viewer, parse_id(&id, "id")?).await {
            Ok(p) => Ok(Some(Process(p))),
            Err(crate::error::AppError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Process mutations.
#[derive(Default)]
pub struct ProcessMutation;

#[Object]
impl ProcessMutation {
    /// Starts a process in a RUNNING sandbox, in its jail and bounds like Claude's
    /// commands, with no server secret and no network beyond the sandbox's. At most
    /// `limits.processesPerSandbox` / `processesPerAccount` run at once (CONFLICT). It
    /// outlives the request; its output is kept (`processOutput`).
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn start_process(&self, ctx: &Context<'_>, input: StartProcessInput) -> Result<Process> {
        let (svc, viewer) = scope(ctx)?;
        let sb = require_sandbox(ctx, &input.sandbox_id, "sandboxId").await?;
        let req = StartProcess {
            argv: input.argv,
            cwd: input.cwd,
            env: input.env.into_iter().map(|v| (v.name, v.value)).collect(),
            name: input.name,
        };
        Ok(Process(svc.processes.start(viewer, &sb, req).await?))
    }

    /// Sends a signal to a running process and every process it started (TERM of a
    /// `sh -c 'sleep 1000 & sleep 1000'` leaves none). CONFLICT when it has ended.
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn signal_process(&self, ctx: &Context<'_>, id: ID, signal: ProcessSignal) -> Result<Process> {
        let (svc, viewer) = scope(ctx)?;
        Ok(Process(svc.processes.signal(viewer, parse_id(&id, "id")?, signal.number()).await?))
    }
}

/// Process subscriptions.
#[derive(Default)]
pub struct ProcessSubscription;

#[Subscription]
impl ProcessSubscription {
    /// The process's output after `afterOffset` bytes: what is stored, then live, ending
    /// with ENDED once it has exited. Output older than the kept log comes as one CUT.
    /// Read access is enough.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn process_output(
        &self,
        ctx: &Context<'_>,
        process_id: ID,
        #[graphql(default = 0)] after_offset: i64,
    ) -> Result<impl Stream<Item = Result<ProcessOutput>> + use<>> {
        let (svc, viewer) = scope(ctx)?;
        let process = svc.processes.get(viewer, parse_id(&process_id, "processId")?).await?;
        let out = svc.processes.output(process, after_offset)?;
        Ok(out.map(|r| r.map(ProcessOutput::from).map_err(Into::into)))
    }
}
