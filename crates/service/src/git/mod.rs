//! Git in a sandbox's workspace, for the API: clone at create (`createSandbox(input:
//! {git})`), status, log, diff, commit, push and checkout. Each is one or two `git`
//! commands run in the sandbox (no shell), with the sandbox's own environment, so their
//! traffic goes through the credential broker as Claude's own `git` does and no secret
//! is ever inside. Output is bounded (`limits.gitMaxOutputBytes`); git's failures are
//! CONFLICT `GIT_FAILED` with git's words (the broker's address taken out).

pub mod command;
pub mod marks;
pub mod parse;
mod validate;

use std::sync::Arc;

pub use self::validate::{Author, CloneSpec};
use self::{
    command::git,
    parse::{Commit, Status},
};
use crate::{
    backend::{Backend, ExternalId},
    config::Limits,
    error::AppResult,
    lifecycle::waker::Waker,
    sandboxes::VisibleSandbox,
};

/// A diff and whether it was cut at the output bound.
#[derive(Debug, Clone)]
pub struct Diff {
    /// Unified diff text.
    pub text: String,
    /// More than `limits.gitMaxOutputBytes`: the rest was left out.
    pub truncated: bool,
}

/// Git operations on workspaces.
#[derive(Clone)]
pub struct Git {
    db: sea_orm::DatabaseConnection,
    backend: Arc<dyn Backend>,
    limits: Arc<Limits>,
    waker: Waker,
}

impl Git {
    /// Git over `backend`'s sandboxes, waking sleeping ones with `waker`.
    pub fn new(db: sea_orm::DatabaseConnection, backend: Arc<dyn Backend>, limits: Arc<Limits>, waker: Waker) -> Self {
        Self { db, backend, limits, waker }
    }

    /// The author of an account's commits when none is given: its name, and an address
    /// that reaches nobody (`{accountId}@users.noreply.sandboxql`).
    pub async fn default_author(&self, account_id: uuid::Uuid) -> AppResult<Author> {
        use sea_orm::EntityTrait;
        let account = crate::entity::account::Entity::find_by_id(account_id).one(&self.db).await?;
        let name = account.map(|a| a.name).filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "sandboxql".into());
        Ok(Author { name, email: format!("{account_id}@users.noreply.sandboxql") })
    }

    async fn ready(&self, sb: &VisibleSandbox) -> AppResult<ExternalId> {
        self.waker.awake(sb).await?.external_id()
    }

    async fn run(&self, id: &ExternalId, args: &[&str]) -> AppResult<command::Output> {
        git(self.backend.as_ref(), id, args, &self.limits.git).await?.ok()
    }

    /// Clones `spec` into the (empty) workspace of the sandbox the backend knows as `id`.
    pub async fn clone_into(&self, id: &ExternalId, spec: &CloneSpec) -> AppResult<()> {
        let depth = spec.depth.map(|d| format!("--depth={d}"));
        let mut args = vec!["clone", "--quiet"];
        if let Some(d) = &depth {
            args.push(d);
        }
        if let Some(r) = &spec.reference {
            args.extend(["--branch", r]);
        }
        args.extend(["--", &spec.url, "."]);
        self.run(id, &args).await.map(|_| ())
    }

    /// Branch, head, ahead/behind and changed paths.
    pub async fn status(&self, sb: &VisibleSandbox) -> AppResult<Status> {
        let id = self.ready(sb).await?;
        let out = self.run(&id, &["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all"]).await?;
        Ok(parse::status(&out.stdout))
    }

    /// What the file explorer marks: each changed path's state, and the directories
    /// holding one. None when the sandbox is not RUNNING (a listing never wakes it) or
    /// its workspace is not a repository.
    pub async fn marks(&self, id: crate::sandboxes::VisibleId) -> AppResult<Option<marks::Marks>> {
        use sea_orm::EntityTrait;
        let row = crate::entity::sandbox::Entity::find_by_id(id.id()).one(&self.db).await?;
        let Some(ext) =
            row.filter(|r| r.status == crate::entity::enums::SandboxStatus::Running).and_then(|r| r.backend_id())
        else {
            return Ok(None);
        };
        // No repository, no git: a stat, not a process, for the many workspaces without one.
        let dot_git = crate::backend::files::WorkspacePath::parse(".git")?;
        if self.backend.stat(&ext, &dot_git).await?.is_none() {
            return Ok(None);
        }
        let args = ["status", "--porcelain=v2", "-z", "--untracked-files=all"];
        let out = git(self.backend.as_ref(), &ext, &args, &self.limits.git).await?;
        Ok((out.code == Some(0)).then(|| marks::Marks::of(&parse::status(&out.stdout))))
    }

    /// The newest `first` commits of HEAD (none before the first commit).
    pub async fn log(&self, sb: &VisibleSandbox, first: u32) -> AppResult<Vec<Commit>> {
        let id = self.ready(sb).await?;
        let n = format!("-n{}", first.max(1));
        let out = git(self.backend.as_ref(), &id, &["log", &n, parse::LOG_FORMAT], &self.limits.git).await?;
        // A repository without commits has no log: that is an empty one, not an error.
        if out.code != Some(0) && out.stderr.contains("does not have any commits") {
            return Ok(vec![]);
        }
        Ok(parse::log(&out.ok()?.stdout))
    }

    /// What changed since the last commit (staged or not), of one path or all.
    pub async fn diff(&self, sb: &VisibleSandbox, path: Option<&str>) -> AppResult<Diff> {
        let id = self.ready(sb).await?;
        let path = path.map(validate::path).transpose()?;
        let mut args = vec!["diff", "--no-color", "--no-ext-diff", "HEAD", "--"];
        if let Some(p) = &path {
            args.push(p);
        }
        let out = self.run(&id, &args).await?;
        Ok(Diff { text: out.stdout, truncated: out.truncated })
    }

    /// Stages `paths` (all changes when empty) and commits them as `author`; the new
    /// commit's hash.
    pub async fn commit(
        &self,
        sb: &VisibleSandbox,
        message: &str,
        paths: &[String],
        author: &Author,
    ) -> AppResult<String> {
        let id = self.ready(sb).await?;
        let message = validate::message(message)?;
        let paths = paths.iter().map(|p| validate::path(p)).collect::<AppResult<Vec<_>>>()?;
        let mut add = vec!["add", "--all", "--"];
        add.extend(paths.iter().map(String::as_str));
        self.run(&id, &add).await?;
        let (name, email) = (format!("user.name={}", author.name), format!("user.email={}", author.email));
        let mut commit = vec!["-c", &name, "-c", &email, "commit", "--quiet", "-m", &message];
        if !paths.is_empty() {
            commit.push("--");
            commit.extend(paths.iter().map(String::as_str));
        }
        self.run(&id, &commit).await?;
        Ok(self.run(&id, &["rev-parse", "HEAD"]).await?.stdout.trim().to_string())
    }

    /// Pushes `branch` (default: the one checked out) to `remote` (default `origin`),
    /// setting it as the upstream.
    pub async fn push(&self, sb: &VisibleSandbox, remote: Option<&str>, branch: Option<&str>) -> AppResult<()> {
        let id = self.ready(sb).await?;
        let remote = validate::name(remote.unwrap_or("origin"), "remote")?;
        let branch = validate::name(branch.unwrap_or("HEAD"), "branch")?;
        self.run(&id, &["push", "--quiet", "--set-upstream", &remote, &branch]).await?;
        // What was pushed (the remote's name and the commit), never the remote's URL.
        let head = self.run(&id, &["rev-parse", "HEAD"]).await?.stdout.trim().to_string();
        let data = serde_json::json!({"sandboxId": sb.id, "remote": remote, "branch": branch, "head": head});
        let ev = crate::entity::webhook_event::GIT_PUSHED;
        crate::entity::webhook_event::record(&self.db, sb.account_id, Some(sb.id), ev, data).await?;
        Ok(())
    }

    /// Checks out `reference`, first making it a new branch when `create`.
    pub async fn checkout(&self, sb: &VisibleSandbox, reference: &str, create: bool) -> AppResult<()> {
        let id = self.ready(sb).await?;
        let r = validate::name(reference, "ref")?;
        let args: Vec<&str> =
            if create { vec!["checkout", "--quiet", "-b", &r] } else { vec!["checkout", "--quiet", &r, "--"] };
        self.run(&id, &args).await.map(|_| ())
    }
}
