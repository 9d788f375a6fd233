//! Which host holds a sandbox's local workspace, which instances serve each host, and where a
//! new sandbox goes. Instances register themselves (a row with their internal address
//! and a lease they renew); a host is live while one of its rows is unexpired.
//!
//! Placement rule: the live host with the fewest undeleted sandboxes, this instance's
//! own host winning ties (then the smaller host id), so a cluster fills evenly by count.

use std::{sync::Arc, time::Duration};

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    backend::remote::{HostMap, Route},
    cache::Bounded,
    entity::{host_instance, now, sandbox},
    error::{AppError, AppResult, reasons},
};

/// Sandboxes whose host is remembered at once.
const CACHED_SANDBOXES: usize = 100_000;
/// Hosts whose address is remembered at once.
const CACHED_HOSTS: usize = 1024;
/// How long a sandbox's host and a host's address are remembered (a move shows within it).
const CACHE_TTL: Duration = Duration::from_secs(2);

/// This instance's view of the hosts.
#[derive(Clone)]
pub struct Directory {
    db: DatabaseConnection,
    me: Arc<str>,
    hosts: Arc<Bounded<Uuid, Option<String>>>,
    urls: Arc<Bounded<String, Option<String>>>,
}

impl Directory {
    /// The directory of this instance, on host `me`.
    pub fn new(db: DatabaseConnection, me: &str) -> Self {
        let hosts = Arc::new(Bounded::by_count(CACHED_SANDBOXES, Some(CACHE_TTL)));
        let urls = Arc::new(Bounded::by_count(CACHED_HOSTS, Some(CACHE_TTL)));
        Self { db, me: me.into(), hosts, urls }
    }

    /// This instance's host.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// The host of sandbox `id` (None: recorded on none, so any instance reaches it).
    async fn host_of(&self, id: Uuid) -> AppResult<Option<String>> {
        if let Some(h) = self.hosts.get(&id) {
            return Ok(h);
        }
        let host = sandbox::Entity::find_by_id(id).one(&self.db).await?.and_then(|s| s.host_id);
        self.hosts.insert(id, host.clone());
        Ok(host)
    }

    /// A live instance's internal URL on `host`, newest first; None when none is live.
    async fn live_url(&self, host: &str) -> AppResult<Option<String>> {
        if let Some(u) = self.urls.get(host) {
            return Ok(u);
        }
        let mut rows = host_instance::Entity::find()
            .filter(host_instance::Column::HostId.eq(host))
            .filter(host_instance::Column::LeaseUntil.gt(now()))
            .filter(host_instance::Column::InternalUrl.is_not_null())
            .all(&self.db)
            .await?;
        rows.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        let url = rows.into_iter().find_map(|r| r.internal_url);
        self.urls.insert(host.to_string(), url.clone());
        Ok(url)
    }

    /// Where the work on sandbox `id` goes: here, to a live instance on its host, or
    /// CONFLICT `HOST_UNAVAILABLE` when its host has none.
    pub async fn route_of(&self, id: Uuid) -> AppResult<Route> {
        match self.host_of(id).await? {
            None => Ok(Route::Local),
            Some(h) if *h == *self.me => Ok(Route::Local),
            Some(h) => match self.live_url(&h).await? {
                Some(url) => Ok(Route::Remote(url)),
                None => Err(AppError::conflict_because(
                    reasons::HOST_UNAVAILABLE,
                    format!(
                        "the host `{h}` that holds this sandbox's workspace is not available; retry later or move the sandbox"
                    ),
                )),
            },
        }
    }

    /// The host a new sandbox goes to (the placement rule above, among `allowed` when
    /// given), or CONFLICT `HOST_UNAVAILABLE` when none of them is live.
    pub async fn choose(&self, allowed: Option<&[String]>) -> AppResult<String> {
        let live: Vec<String> = host_instance::Entity::find()
            .filter(host_instance::Column::LeaseUntil.gt(now()))
            .filter(host_instance::Column::InternalUrl.is_not_null())
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| r.host_id)
            .collect();
        let mut candidates: Vec<String> = std::iter::once(self.me.to_string()).chain(live).collect();
        candidates.sort();
        candidates.dedup();
        if let Some(allowed) = allowed {
            candidates.retain(|h| allowed.contains(h));
        }
        let mut best: Option<(u64, bool, String)> = None;
        for h in candidates {
            let load = sandbox::Entity::find()
                .filter(sandbox::Column::HostId.eq(h.clone()))
                .filter(sandbox::Column::DeletedAt.is_null())
                .count(&self.db)
                .await?;
            let key = (load, h != *self.me, h);
            if best.as_ref().is_none_or(|b| key < *b) {
                best = Some(key);
            }
        }
        let Some((_, _, host)) = best else {
            return Err(AppError::conflict_because(
                reasons::HOST_UNAVAILABLE,
                "none of the allowed hosts is available",
            ));
        };
        Ok(host)
    }

    /// Records that sandbox `id` now lives on `host` (placement, or a move).
    pub async fn set_host(&self, id: Uuid, host: &str) -> AppResult<()> {
        sandbox::Entity::update_many()
            .col_expr(sandbox::Column::HostId, Expr::value(host))
            .filter(sandbox::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        self.hosts.insert(id, Some(host.to_string()));
        Ok(())
    }

    /// Registers this instance on its host (with its internal URL, when it takes
    /// forwarded work) and renews the row every `every` for as long as the process lives.
    pub async fn register(
        &self,
        instance: &str,
        url: Option<String>,
        term: chrono::Duration,
        every: Duration,
    ) -> AppResult<()> {
        let (id, t) = (Uuid::now_v7(), now());
        host_instance::ActiveModel {
            id: Set(id),
            host_id: Set(self.me.to_string()),
            instance_id: Set(instance.to_string()),
            internal_url: Set(url),
            lease_until: Set(t + term),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(&self.db)
        .await?;
        let db = self.db.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let renewed = host_instance::Entity::update_many()
                    .col_expr(host_instance::Column::LeaseUntil, Expr::value(now() + term))
                    .col_expr(host_instance::Column::UpdatedAt, Expr::value(now()))
                    .filter(host_instance::Column::Id.eq(id))
                    .exec(&db)
                    .await;
                if let Err(e) = renewed {
                    tracing::warn!(error = %e, "could not renew this instance's host registration");
                }
                // Rows of instances long gone are of no use to anyone.
                let stale = now() - term * 10;
                let _ = host_instance::Entity::delete_many()
                    .filter(host_instance::Column::LeaseUntil.lt(stale))
                    .exec(&db)
                    .await;
            }
        });
        Ok(())
    }
}

#[async_trait::async_trait]
impl HostMap for Directory {
    async fn route(&self, id: Uuid) -> AppResult<Route> {
        self.route_of(id).await
    }
}
