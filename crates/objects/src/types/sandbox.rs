//! `Sandbox`, its connection and the objects that hang off it.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject, dataloader::DataLoader};
use chrono::{DateTime, Utc};

use super::{
    enums::{Backend, Provider, SandboxStatus},
    file::{self, FileContent, FileEntry, FileList, FileNode, FileSource},
    run::{AgentRun, AgentRunConnection},
    snapshot::Snapshot,
};
use crate::{
    error::AppError,
    service::{paging::PageRequest, sandboxes::VisibleSandbox},
    {context::scope, cost, loaders::ActiveRunLoader},
};

/// A sandbox as the API shows it.
pub struct Sandbox(pub VisibleSandbox);

/// Figures of the last sync, named as the seed system stored them.
#[derive(SimpleObject)]
pub struct SyncStats {
    /// Files looked at.
    pub files_processed: i64,
    /// Bytes uploaded.
    pub bytes_transferred: i64,
    /// Wall time in milliseconds.
    pub duration_ms: i64,
}

#[Object]
impl Sandbox {
    /// Sandbox id.
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Lifecycle state.
    async fn status(&self) -> SandboxStatus {
        self.0.status.into()
    }
    /// Why it is in ERROR or TERMINATED.
    async fn status_reason(&self) -> Option<&str> {
        self.0.status_reason.as_deref()
    }
    /// Template family.
    async fn provider(&self) -> Provider {
        self.0.provider.into()
    }
    /// Where it runs.
    async fn backend(&self) -> Backend {
        self.0.backend.into()
    }
    /// Agent configuration, if any.
    async fn agent_id(&self) -> Option<ID> {
        self.0.agent_id.map(|a| ID(a.to_string()))
    }
    /// The backend's id for it.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// Owner account.
    async fn account_id(&self) -> ID {
        ID(self.0.account_id.to_string())
    }
    /// Owner's organization.
    async fn organization_id(&self) -> Option<ID> {
        self.0.organization_id.map(|o| ID(o.to_string()))
    }
    /// When created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// What its runs spent through the gateway, `since` ≤ time < `until` (either open).
    #[graphql(complexity = "cost::QUERY")]
    async fn usage(
        &self,
        ctx: &Context<'_>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<super::usage::Usage> {
        let (svc, _) = scope(ctx)?;
        super::usage::totals(&svc.db, crate::service::billing::usage::UsageScope::Sandbox(self.0.id), since, until)
            .await
    }
    /// The host whose disk holds its local workspace (null: reached from any instance,
    /// as on Modal).
    async fn host(&self) -> Option<&str> {
        self.0.host_id.as_deref()
    }
    /// Name of the template it was made from.
    async fn template(&self, ctx: &Context<'_>) -> Result<String> {
        let (svc, _) = scope(ctx)?;
        Ok(svc.templates.of_sandbox(self.0.template.as_deref())?.name.clone())
    }
    /// Its bounds and what it uses of them now (usage null while it is not running).
    #[graphql(complexity = "cost::QUERY")]
    async fn resources(&self, ctx: &Context<'_>) -> Result<super::template::SandboxResourceState> {
        let (svc, _) = scope(ctx)?;
        let (limits, usage) = svc.lifecycle.resources(&self.0).await?;
        Ok(super::template::SandboxResourceState { limits: limits.into(), usage: usage.map(Into::into) })
    }
    /// When the workspace was last synced to object storage (`meta_data.last_s3_sync`).
    async fn last_sync_at(&self) -> Option<DateTime<Utc>> {
        self.0.meta_data.last_s3_sync.and_then(|s| DateTime::from_timestamp(s, 0))
    }
    /// Entries under `path`: its children, or with `recursive` all descendants. Paths are
    /// relative to the workspace root; symlinks are listed, never followed.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "cost::files(recursive, first, child_complexity)")]
    async fn files(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] source: FileSource,
        snapshot_id: Option<ID>,
        checkpoint_id: Option<ID>,
        #[graphql(default)] path: String,
        #[graphql(default = false)] recursive: bool,
        #[graphql(default = 100, desc = "Page size, 0 to 1000.")] first: i64,
        #[graphql(default = 0)] offset: i64,
    ) -> Result<FileList> {
        let (svc, _) = scope(ctx)?;
        let src = file::source(source, snapshot_id.as_ref(), checkpoint_id.as_ref())?;
        let listing =
            svc.files.list(&self.0, src, &path, recursive, first, offset).await.map_err(|e| e.at_path(&path))?;
        let sandbox = Arc::new(self.0.clone());
        let entries = listing
            .entries
            .into_iter()
            .map(|entry| FileEntry { sandbox: sandbox.clone(), source: src, entry })
            .collect();
        Ok(FileList { entries, total_count: listing.total, source, truncated: listing.truncated })
    }
    /// Metadata of one path; null when it does not exist.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn file(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] source: FileSource,
        snapshot_id: Option<ID>,
        checkpoint_id: Option<ID>,
        path: String,
    ) -> Result<Option<FileEntry>> {
        let (svc, _) = scope(ctx)?;
        let src = file::source(source, snapshot_id.as_ref(), checkpoint_id.as_ref())?;
        let entry = svc.files.stat(&self.0, src, &path).await?;
        Ok(entry.map(|entry| FileEntry { sandbox: Arc::new(self.0.clone()), source: src, entry }))
    }
    /// The content of a file, or its first `maxBytes` (never reading more).
    #[graphql(complexity = "cost::content(max_bytes, child_complexity)")]
    async fn file_content(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] source: FileSource,
        snapshot_id: Option<ID>,
        checkpoint_id: Option<ID>,
        path: String,
        #[graphql(default = 1048576)] max_bytes: i64,
    ) -> Result<Option<FileContent>> {
        let (svc, _) = scope(ctx)?;
        let src = file::source(source, snapshot_id.as_ref(), checkpoint_id.as_ref())?;
        let c = svc.files.content(&self.0, src, &path, max_bytes).await.map_err(|e| e.at_path(&path))?;
        Ok(Some(FileContent {
            path: c.path.as_str().to_string(),
            size: c.size,
            mime_type: c.mime_type.to_string(),
            encoding: c.encoding.into(),
            content: c.content,
            truncated: c.truncated,
        }))
    }
    /// The directory tree under `path`, `depth` levels deep (at most `limits.maxTreeNodes` nodes).
    #[graphql(complexity = "cost::tree(child_complexity)")]
    async fn file_tree(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] source: FileSource,
        snapshot_id: Option<ID>,
        checkpoint_id: Option<ID>,
        #[graphql(default)] path: String,
        #[graphql(default = 3)] depth: i64,
    ) -> Result<FileNode> {
        let (svc, _) = scope(ctx)?;
        let src = file::source(source, snapshot_id.as_ref(), checkpoint_id.as_ref())?;
        let tree = svc.files.tree(&self.0, src, &path, depth).await.map_err(|e| e.at_path(&path))?;
        Ok(FileNode::new(&Arc::new(self.0.clone()), src, tree))
    }
    /// Snapshots of this sandbox, newest first.
    #[graphql(complexity = "cost::page(first as i64, child_complexity)")]
    async fn snapshots(&self, ctx: &Context<'_>, #[graphql(default = 20)] first: i32) -> Result<Vec<Snapshot>> {
        let (svc, _) = scope(ctx)?;
        let page = PageRequest::new(first.into(), None, svc.limits.max_page_size)?;
        Ok(svc.snapshots.list(&self.0, page.first).await?.into_iter().map(Snapshot::from).collect())
    }
    /// Checkpoints of this sandbox, newest first: one after every turn of its runs, and
    /// those `checkpointSandbox` took.
    #[graphql(complexity = "cost::page(first as i64, child_complexity)")]
    async fn checkpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<super::checkpoint::Checkpoint>> {
        let (svc, _) = scope(ctx)?;
        let page = PageRequest::new(first.into(), None, svc.limits.max_page_size)?;
        let rows = svc.checkpoints.list(&self.0, page.first).await?;
        Ok(rows.into_iter().map(super::checkpoint::Checkpoint).collect())
    }
    /// Runs in this sandbox, newest first.
    #[graphql(complexity = "cost::page(first as i64, child_complexity)")]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<AgentRunConnection> {
        let (svc, _) = scope(ctx)?;
        let page = PageRequest::new(first.into(), after.as_deref(), svc.limits.max_page_size)?;
        let items = svc.runs.list(&self.0, page).await?;
        Ok(AgentRunConnection::new(items, page.after.is_some(), self.0.clone()))
    }
    /// Processes started in this sandbox (`startProcess`), newest first (at most 100).
    #[graphql(complexity = "cost::QUERY + 100 * child_complexity")]
    async fn processes(&self, ctx: &Context<'_>) -> Result<Vec<super::process::Process>> {
        let (svc, _) = scope(ctx)?;
        Ok(svc.processes.list(&self.0).await?.into_iter().map(super::process::Process).collect())
    }
    /// Its exposed ports (`exposePort`), by port.
    #[graphql(complexity = "cost::QUERY + 10 * child_complexity")]
    async fn previews(&self, ctx: &Context<'_>) -> Result<Vec<super::preview::Preview>> {
        let (svc, _) = scope(ctx)?;
        Ok(svc.previews.of_sandbox(self.0.id).await?.into_iter().map(super::preview::Preview).collect())
    }
    /// The workspace's repository (null: the workspace is not one).
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn git(&self, ctx: &Context<'_>) -> Result<Option<super::git::SandboxGit>> {
        super::git::SandboxGit::of(scope(ctx)?.0, &self.0).await
    }
    /// Terminals open in this sandbox on the instance answering, oldest first.
    #[graphql(complexity = "cost::QUERY + 10 * child_complexity")]
    async fn terminals(&self, ctx: &Context<'_>) -> Result<Vec<super::terminal::Terminal>> {
        let (svc, _) = scope(ctx)?;
        Ok(svc.terminals.of_sandbox(&self.0).into_iter().map(super::terminal::Terminal).collect())
    }
    /// The run in progress, if any (loaded for a whole list in one query).
    #[graphql(complexity = "cost::QUERY / 10 + child_complexity")]
    async fn active_run(&self, ctx: &Context<'_>) -> Result<Option<AgentRun>> {
        let loader = ctx.data_unchecked::<DataLoader<ActiveRunLoader>>();
        let run = loader.load_one(self.0.visible_id()).await.map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
        Ok(run.map(AgentRun))
    }
    /// Figures of the last sync (`meta_data.sync_stats`).
    async fn sync_stats(&self) -> Option<SyncStats> {
        self.0.meta_data.sync_stats.as_ref().map(|s| SyncStats {
            files_processed: s.files_processed,
            bytes_transferred: s.bytes_transferred,
            duration_ms: s.duration_ms,
        })
    }
}
