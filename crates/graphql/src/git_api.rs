//! Git mutations: `gitCommit`, `gitPush`, `gitCheckout`. Reads are `Sandbox.git`. Each
//! runs git in the sandbox, whose traffic goes through the credential broker.

use async_graphql::{Context, ID, Object, Result};

use crate::{
    context::{require_sandbox, scope},
    cost,
    service::git::Author,
    types::sandbox::Sandbox,
};

/// Git mutations.
#[derive(Default)]
pub struct GitMutation;

#[Object]
impl GitMutation {
    /// Stages `paths` (every change when empty) and commits them; the new commit's hash.
    /// The author is `authorName`/`authorEmail`, by default the account's name and
    /// `{accountId}@users.noreply.sandboxql`.
    #[graphql(complexity = "cost::SYNC")]
    async fn git_commit(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
        message: String,
        #[graphql(default)] paths: Vec<String>,
        author_name: Option<String>,
        author_email: Option<String>,
    ) -> Result<String> {
        let (svc, viewer) = scope(ctx)?;
        viewer.require_writer()?;
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        let author = match (author_name, author_email) {
            (Some(n), Some(e)) => Author::checked(&n, &e)?,
            (n, e) => {
                let d = svc.git.default_author(viewer.account_id).await?;
                Author::checked(&n.unwrap_or(d.name), &e.unwrap_or(d.email))?
            }
        };
        Ok(svc.git.commit(&sb, &message, &paths, &author).await?)
    }

    /// Pushes `branch` (default: the one checked out) to `remote` (default `origin`)
    /// and makes it the branch's upstream; CONFLICT `GIT_FAILED` when the remote refuses.
    #[graphql(complexity = "cost::SYNC + child_complexity")]
    async fn git_push(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
        remote: Option<String>,
        branch: Option<String>,
    ) -> Result<Sandbox> {
        let (svc, viewer) = scope(ctx)?;
        viewer.require_writer()?;
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        svc.git.push(&sb, remote.as_deref(), branch.as_deref()).await?;
        Ok(Sandbox(sb))
    }

    /// Checks out `ref` (a branch, tag or commit), first making it a new branch when
    /// `create`.
    #[graphql(complexity = "cost::SYNC + child_complexity")]
    async fn git_checkout(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
        #[graphql(name = "ref")] reference: String,
        #[graphql(default)] create: bool,
    ) -> Result<Sandbox> {
        let (svc, viewer) = scope(ctx)?;
        viewer.require_writer()?;
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        svc.git.checkout(&sb, &reference, create).await?;
        Ok(Sandbox(sb))
    }
}
