//! Queries and mutations on sandboxes and the caller's account.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    context::{parse_id, parse_opt_id, scope, services, viewer},
    cost,
    types::{
        account::Account,
        enums::{Provider, SandboxStatus},
        limits::LimitsView,
        sandbox::Sandbox,
        sandbox_connection::SandboxConnection,
        snapshot::{Snapshot, SyncResult},
        template::SandboxTemplate,
    },
};
use crate::service::{
    accounts,
    lifecycle::CreateSandbox,
    paging::PageRequest,
    sandboxes::{self, SandboxFilter as Filter},
};

/// Narrowing of the sandbox list.
#[derive(InputObject, Default)]
pub struct SandboxFilter {
    /// Only sandboxes in this state.
    pub status: Option<SandboxStatus>,
    /// Only this account's sandboxes (admins; others only ever see their own).
    pub account_id: Option<ID>,
}

/// What to create; image, resources and timeouts come from the template.
#[derive(InputObject)]
pub struct CreateSandboxInput {
    /// Template family (its default template when `template` is absent).
    #[graphql(default_with = "Provider::ClaudeCode")]
    pub provider: Provider,
    /// Name of a template of the `templates` query (BAD_USER_INPUT, reason
    /// UNKNOWN_TEMPLATE, for another).
    pub template: Option<String>,
    /// Agent configuration, if any.
    pub agent_id: Option<ID>,
    /// Display name (1–100 characters); generated when absent.
    pub name: Option<String>,
    /// Start with the files of this snapshot (of any of the caller's sandboxes).
    pub from_snapshot: Option<ID>,
    /// Start as a clone of this repository (through the credential broker: the
    /// account's credential for the host is added outside the sandbox).
    pub git: Option<GitSourceInput>,
    /// With `fromSnapshot` of a snapshot found CORRUPT: restore everything that is whole
    /// (the damaged files are left out) instead of refusing.
    #[graphql(default)]
    pub allow_partial: bool,
}

/// A repository to clone into a new sandbox.
#[derive(InputObject)]
pub struct GitSourceInput {
    /// `https://host/path` (no credentials in it: `setCredential` holds them).
    pub url: String,
    /// Branch or tag to check out (default: the remote's default branch).
    #[graphql(name = "ref")]
    pub reference: Option<String>,
    /// A shallow clone of this many commits.
    pub depth: Option<i32>,
}

/// The result of deleteSandbox.
#[derive(SimpleObject)]
pub struct DeletedSandbox {
    /// Id of the deleted sandbox.
    pub id: ID,
    /// When it was deleted.
    pub deleted_at: DateTime<Utc>,
    /// The final snapshot taken before deleting (with `sync: true`).
    pub snapshot: Option<Snapshot>,
}

/// Sandbox queries.
#[derive(Default)]
pub struct SandboxQuery;

#[Object]
impl SandboxQuery {
    /// The caller's account.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Account> {
        let (svc, viewer) = scope(ctx)?;
        Ok(Account(accounts::viewer_account(&svc.db, viewer).await?))
    }

    /// A sandbox by id; null when it does not exist or is not the caller's.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn sandbox(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Sandbox>> {
        let (svc, viewer) = scope(ctx)?;
        let id = parse_id(&id, "id")?;
        Ok(sandboxes::get(&svc.db, viewer, id).await?.map(Sandbox))
    }

    /// The caller's sandboxes (every account's for admins), newest first.
    #[graphql(complexity = "cost::page(first as i64, child_complexity)")]
    async fn sandboxes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "Page size, 0 to 100.")] first: i32,
        #[graphql(desc = "Cursor after which to continue.")] after: Option<String>,
        filter: Option<SandboxFilter>,
    ) -> Result<SandboxConnection> {
        let (svc, viewer) = scope(ctx)?;
        let page = PageRequest::new(first.into(), after.as_deref(), svc.limits.max_page_size)?;
        let filter = filter.unwrap_or_default();
        let filter = Filter {
            status: filter.status.map(Into::into),
            account_id: parse_opt_id(filter.account_id.as_ref(), "filter.accountId")?,
        };
        let items = sandboxes::list(&svc.db, viewer, &filter, page).await?;
        Ok(SandboxConnection::new(items, page.after.is_some(), filter))
    }

    /// The kinds of sandbox that can be created.
    async fn templates(&self, ctx: &Context<'_>) -> Result<Vec<SandboxTemplate>> {
        viewer(ctx)?;
        Ok(services(ctx).templates.all().into_iter().map(SandboxTemplate).collect())
    }

    /// Every limit the server enforces, so clients can size their requests.
    async fn limits(&self, ctx: &Context<'_>) -> LimitsView {
        services(ctx).limits.as_ref().into()
    }
}

/// Sandbox mutations.
#[derive(Default)]
pub struct SandboxMutation;

#[Object]
impl SandboxMutation {
    /// Creates a sandbox from the provider's template. If the backend fails, the error is
    /// PROVIDER_UNAVAILABLE and the sandbox remains listed in ERROR with a reason.
    #[graphql(
        complexity = "cost::CREATE + if input.from_snapshot.is_some() { cost::SYNC } else { 0 } + child_complexity"
    )]
    async fn create_sandbox(&self, ctx: &Context<'_>, input: CreateSandboxInput) -> Result<Sandbox> {
        let (svc, viewer) = scope(ctx)?;
        let input = CreateSandbox {
            provider: input.provider.into(),
            template: input.template,
            agent_id: parse_opt_id(input.agent_id.as_ref(), "input.agentId")?,
            name: input.name,
            from_snapshot: parse_opt_id(input.from_snapshot.as_ref(), "input.fromSnapshot")?,
            git: input.git.map(|g| crate::service::git::CloneSpec {
                url: g.url,
                reference: g.reference,
                depth: g.depth.map(|d| u32::try_from(d).unwrap_or(0)),
            }),
            allow_partial: input.allow_partial,
        };
        Ok(Sandbox(svc.lifecycle.create(viewer, input).await?))
    }

    /// Snapshots the sandbox's workspace to object storage: only new content is uploaded,
    /// and the snapshot exists only once complete. CONFLICT while another sync runs.
    #[graphql(complexity = "cost::SYNC + child_complexity")]
    async fn sync_sandbox(&self, ctx: &Context<'_>, id: ID) -> Result<SyncResult> {
        let (svc, viewer) = scope(ctx)?;
        let sb = sandboxes::require(&svc.db, viewer, parse_id(&id, "id")?).await?;
        Ok(svc.sync.sync(viewer, &sb).await?.into())
    }

    /// Gets the sandbox ready for its next message: a warm Claude (with the sandbox's
    /// session resumed) waits for the next run, so its first words come without the CLI's
    /// start-up. Returns at once; a no-op when one waits already, a run is active, the
    /// sandbox is not running or the account has all the warm processes it may
    /// (`limits.warmPerAccount`).
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn prepare_sandbox(&self, ctx: &Context<'_>, id: ID) -> Result<Sandbox> {
        let (svc, viewer) = scope(ctx)?;
        let sb = sandboxes::require(&svc.db, viewer, parse_id(&id, "id")?).await?;
        svc.runs.prepare(&sb);
        Ok(Sandbox(sb))
    }

    /// Moves a local sandbox to another host (`host`: its host id), as a restore from its
    /// snapshot there: a fresh one when its old host answers, else its last one (CONFLICT
    /// `HOST_UNAVAILABLE` when it has none). Claude's session goes along. Runs must have
    /// ended (CONFLICT `RUN_ACTIVE`).
    #[graphql(complexity = "cost::CREATE + cost::SYNC + child_complexity")]
    async fn move_sandbox(&self, ctx: &Context<'_>, id: ID, host: String) -> Result<Sandbox> {
        let (svc, viewer) = scope(ctx)?;
        let sb = sandboxes::require(&svc.db, viewer, parse_id(&id, "id")?).await?;
        Ok(Sandbox(svc.lifecycle.move_to_host(viewer, sb, &host).await?))
    }

    /// Terminates a sandbox and removes it from every list. With `sync` (the default) its
    /// workspace is snapshotted first; if that fails nothing is deleted.
    #[graphql(complexity = "cost::CREATE + if sync { cost::SYNC } else { 0 } + child_complexity")]
    async fn delete_sandbox(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = true)] sync: bool,
    ) -> Result<DeletedSandbox> {
        let (svc, viewer) = scope(ctx)?;
        let sb = sandboxes::require(&svc.db, viewer, parse_id(&id, "id")?).await?;
        let (row, snap) = svc.lifecycle.delete(viewer, sb, sync).await?;
        Ok(DeletedSandbox {
            id: ID(row.id.to_string()),
            deleted_at: row.deleted_at.unwrap_or(row.updated_at),
            snapshot: snap.map(Snapshot::from),
        })
    }
}
