//! Subscriptions on a sandbox's workspace: its files changing as they change, one changed
//! path per message, coalesced on the server. Paths are relative to the workspace root, as
//! in `files` and `file`.

use async_graphql::{Context, Enum, ID, Result, SimpleObject, Subscription};
use futures::{Stream, StreamExt};

use super::{
    context::{require_sandbox, scope},
    cost,
};
use crate::service::files::changes::{self as service, ChangeKind};

/// What happened to a path of a workspace.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum WorkspaceChangeKind {
    /// The path appeared (also: moved in from outside the workspace). A new directory is
    /// reported itself: list it for what it holds, as files made in it at once may not be.
    Created,
    /// Its content or metadata changed (also: it was replaced).
    Modified,
    /// It went away (also: moved out of the workspace).
    Deleted,
    /// It was renamed: `path` is where it was, `toPath` where it is.
    Moved,
    /// More changes than one message window holds: `path` is `""`; list the workspace
    /// again to catch up.
    Overflow,
}

impl From<ChangeKind> for WorkspaceChangeKind {
    fn from(kind: ChangeKind) -> Self {
        match kind {
            ChangeKind::Created => Self::Created,
            ChangeKind::Modified => Self::Modified,
            ChangeKind::Deleted => Self::Deleted,
            ChangeKind::Moved => Self::Moved,
            ChangeKind::Overflow => Self::Overflow,
        }
    }
}

/// One change of a sandbox's workspace: the net effect on one path during a short window
/// (created then modified is CREATED; created then deleted is not sent at all).
#[derive(SimpleObject)]
pub struct WorkspaceChange {
    /// What happened.
    pub kind: WorkspaceChangeKind,
    /// Path from the workspace root (for MOVED, the old path; `""` for OVERFLOW).
    pub path: String,
    /// The new path of a MOVED one.
    pub to_path: Option<String>,
}

impl From<service::WorkspaceChange> for WorkspaceChange {
    fn from(change: service::WorkspaceChange) -> Self {
        Self {
            kind: change.kind.into(),
            path: change.path.as_str().to_string(),
            to_path: change.to_path.map(|p| p.as_str().to_string()),
        }
    }
}

/// Workspace subscriptions.
#[derive(Default)]
pub struct WorkspaceSubscription;

#[Subscription]
impl WorkspaceSubscription {
    /// Files of the sandbox's live workspace being created, modified, deleted or moved (by
    /// Claude, a process, or the file mutations), a few times a second at most: changes of
    /// one short window are coalesced per path, and a window with more than
    /// `limits.workspaceChangesMaxPaths` paths is sent as one OVERFLOW (list again). Read
    /// access is enough. Starts empty: list the workspace, then apply what arrives.
    /// A client that may write and watches a sandbox has it open: a warm Claude is
    /// started for its next message (as `prepareSandbox` does).
    #[graphql(complexity = "cost::QUERY + cost::RECURSIVE_WALK + child_complexity")]
    async fn workspace_changes(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
    ) -> Result<impl Stream<Item = Result<WorkspaceChange>> + use<>> {
        let (svc, viewer) = scope(ctx)?;
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        if !viewer.read_only {
            svc.runs.prepare(&sb);
        }
        let changes = svc.files.workspace_changes(sb).await?;
        Ok(changes.map(|r| r.map(WorkspaceChange::from).map_err(Into::into)))
    }
}
