//! `SandboxConnection`: a page of sandboxes with cursors, counted only when asked.

use async_graphql::{ComplexObject, Context, Result, SimpleObject};

use super::{page::PageInfo, sandbox::Sandbox};
use crate::{
    service::{
        paging::{Page, encode_cursor},
        sandboxes::{self, SandboxFilter, VisibleSandbox},
    },
    {context::scope, cost},
};

/// One sandbox in a list, with its cursor.
#[derive(SimpleObject)]
pub struct SandboxEdge {
    /// Opaque position; pass as `after`.
    pub cursor: String,
    /// The sandbox.
    pub node: Sandbox,
}

/// A page of sandboxes; `totalCount` is counted only when asked for.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SandboxConnection {
    /// Sandboxes with cursors.
    pub edges: Vec<SandboxEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
    /// The filter the page was made with, kept to count the whole list on demand.
    #[graphql(skip)]
    pub filter: SandboxFilter,
}

#[ComplexObject]
impl SandboxConnection {
    /// Sandboxes on this page, without cursors.
    async fn nodes(&self) -> Vec<Sandbox> {
        self.edges.iter().map(|e| Sandbox(e.node.0.clone())).collect()
    }
    /// All sandboxes matching the filter, across pages.
    #[graphql(complexity = "cost::QUERY")]
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let (svc, viewer) = scope(ctx)?;
        Ok(sandboxes::count(&svc.db, viewer, &self.filter).await?)
    }
}

impl SandboxConnection {
    /// Wraps a service page.
    pub fn new(page: Page<VisibleSandbox>, had_after: bool, filter: SandboxFilter) -> Self {
        let page_info = PageInfo::of(&page, had_after, |s| s.id);
        let edges =
            page.items.into_iter().map(|s| SandboxEdge { cursor: encode_cursor(s.id), node: Sandbox(s) }).collect();
        Self { edges, page_info, filter }
    }
}
