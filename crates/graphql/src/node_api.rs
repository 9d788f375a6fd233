//! Relay's object identification: `node(id)` and `nodes(ids)` over every type with an id
//! (Sandbox, AgentRun, Snapshot, Account). Ids are UUID v7s, unique across types, so an
//! id alone names its object. Each lookup is scoped exactly as the type's own query is:
//! another account's object is null, never an error that tells it exists.

use async_graphql::{Context, ID, Interface, Object, Result};
use uuid::Uuid;

use super::{
    context::{parse_id, scope},
    cost,
    types::{account::Account, run::AgentRun, sandbox::Sandbox, snapshot::Snapshot},
};
use crate::{
    auth::Viewer,
    error::AppError,
    service::{Services, accounts, sandboxes},
};

/// An object with a globally unique id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Globally unique id (a UUID v7)."))]
pub enum Node {
    /// A sandbox.
    Sandbox(Sandbox),
    /// A Claude run.
    AgentRun(AgentRun),
    /// A snapshot.
    Snapshot(Snapshot),
    /// An account.
    Account(Account),
}

async fn find(svc: &Services, viewer: &Viewer, id: Uuid) -> Result<Option<Node>> {
    if let Some(sb) = sandboxes::get(&svc.db, viewer, id).await? {
        return Ok(Some(Node::Sandbox(Sandbox(sb))));
    }
    if let Some(run) = svc.runs.get(viewer, id).await? {
        return Ok(Some(Node::AgentRun(AgentRun(run))));
    }
    match svc.snapshots.require(viewer, id).await {
        Ok(snap) => return Ok(Some(Node::Snapshot(Snapshot::from((*snap).clone())))),
        Err(AppError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(accounts::get(&svc.db, viewer, id).await?.map(|a| Node::Account(Account(a))))
}

/// The node queries.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its id; null when it does not exist or is not the caller's.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let (svc, viewer) = scope(ctx)?;
        find(svc, viewer, parse_id(&id, "id")?).await
    }

    /// Objects by id, in the order asked (null for each one not found or not the
    /// caller's); at most `maxPageSize` ids.
    #[graphql(complexity = "cost::page(ids.len() as i64, child_complexity)")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        let (svc, viewer) = scope(ctx)?;
        let max = svc.limits.max_page_size as usize;
        if ids.len() > max {
            return Err(AppError::bad_input(format!("at most {max} ids at once")).into());
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.push(find(svc, viewer, parse_id(id, "ids")?).await?);
        }
        Ok(out)
    }
}
