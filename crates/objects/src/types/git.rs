//! `Sandbox.git`: the workspace's repository as git sees it (branch, head, how far from
//! its upstream, changed paths) and, on demand, its log and diffs. Null when the
//! workspace is not a repository.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use crate::{
    context::scope,
    cost,
    service::{
        git::parse::{self, Status},
        sandboxes::VisibleSandbox,
    },
};

/// How a path differs from the last commit.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "parse::FileState")]
pub enum GitFileState {
    /// Changed.
    Modified,
    /// New and staged.
    Added,
    /// Removed.
    Deleted,
    /// Renamed or copied.
    Renamed,
    /// Not tracked.
    Untracked,
    /// Unmerged.
    Conflicted,
}

/// One changed path.
#[derive(SimpleObject)]
pub struct GitFileStatus {
    /// Relative to the workspace.
    pub path: String,
    /// How it changed.
    pub state: GitFileState,
    /// Whether the change is staged.
    pub staged: bool,
}

/// One commit.
#[derive(SimpleObject)]
pub struct GitCommit {
    /// Full hash.
    pub hash: String,
    /// Author's name.
    pub author_name: String,
    /// Author's email.
    pub author_email: String,
    /// Author date (ISO 8601).
    pub date: String,
    /// First line of the message.
    pub subject: String,
}

/// A diff, cut at `limits.gitMaxOutputBytes`.
#[derive(SimpleObject)]
pub struct GitDiff {
    /// Unified diff.
    pub text: String,
    /// Whether the rest was left out.
    pub truncated: bool,
}

/// The workspace's repository.
pub struct SandboxGit {
    /// Whose.
    pub sandbox: VisibleSandbox,
    /// As `git status` saw it when asked.
    pub status: Status,
}

impl SandboxGit {
    /// The sandbox's repository as git sees it now; None when it is not one.
    pub async fn of(svc: &crate::service::Services, sb: &VisibleSandbox) -> Result<Option<Self>> {
        match svc.git.status(sb).await {
            Ok(status) => Ok(Some(Self { sandbox: sb.clone(), status })),
            Err(e) if e.reason() == Some(crate::error::reasons::NOT_A_REPOSITORY) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[Object]
impl SandboxGit {
    /// The branch checked out (null: a detached head).
    async fn branch(&self) -> Option<&str> {
        self.status.branch.as_deref()
    }
    /// The commit checked out (null before the first commit).
    async fn head(&self) -> Option<&str> {
        self.status.head.as_deref()
    }
    /// The branch's upstream (`origin/main`), if it has one.
    async fn upstream(&self) -> Option<&str> {
        self.status.upstream.as_deref()
    }
    /// Commits on the branch not on its upstream.
    async fn ahead(&self) -> i64 {
        self.status.ahead
    }
    /// Commits on the upstream not on the branch (as of the last fetch).
    async fn behind(&self) -> i64 {
        self.status.behind
    }
    /// Changed, staged and untracked paths.
    async fn status(&self) -> Vec<GitFileStatus> {
        self.status
            .files
            .iter()
            .map(|f| GitFileStatus { path: f.path.clone(), state: f.state.into(), staged: f.staged })
            .collect()
    }
    /// The newest commits of HEAD (1–100).
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn log(&self, ctx: &Context<'_>, #[graphql(default = 20)] first: i32) -> Result<Vec<GitCommit>> {
        let (svc, _) = scope(ctx)?;
        let first = u32::try_from(first.clamp(1, 100)).unwrap_or(20);
        Ok(svc
            .git
            .log(&self.sandbox, first)
            .await?
            .into_iter()
            .map(|c| GitCommit {
                hash: c.hash,
                author_name: c.author_name,
                author_email: c.author_email,
                date: c.date,
                subject: c.subject,
            })
            .collect())
    }
    /// What changed since the last commit, staged or not: of `path`, or of all tracked
    /// files.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn diff(&self, ctx: &Context<'_>, path: Option<String>) -> Result<GitDiff> {
        let (svc, _) = scope(ctx)?;
        let d = svc.git.diff(&self.sandbox, path.as_deref()).await?;
        Ok(GitDiff { text: d.text, truncated: d.truncated })
    }
}
