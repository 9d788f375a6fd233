//! Preview URLs (`exposePort`): a port a sandbox's own process listens on, served at
//! `{port}-{sandboxId}.{previewDomain}` by the preview listener, PRIVATE (a signed link
//! from the API sets a cookie for that host only) or PUBLIC. The sandbox gets no network
//! for it: the proxy dials the port through the backend. Rows go with their sandbox.

pub mod host;
mod routes;
pub mod signing;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use tokio::sync::OnceCell;
use uuid::Uuid;

use self::{
    host::PreviewUrls,
    signing::{Kind, Signer, Target},
};
use crate::{
    backend::Backend,
    cache::Bounded,
    config::Limits,
    entity::{
        enums::{PreviewVisibility, SandboxStatus},
        new_id, now, sandbox_preview,
    },
    error::{AppError, AppResult},
    lifecycle::waker::Waker,
    sandboxes::VisibleSandbox,
};

/// Name of the signing key in `server_keys`.
const KEY_NAME: &str = "preview-signing";

/// Where a preview request goes, as the proxy needs it.
#[derive(Debug, Clone)]
pub struct Route {
    /// What its credentials must open.
    pub target: Target,
    /// Who may open it.
    pub visibility: PreviewVisibility,
    /// The sandbox's state (only a RUNNING one is served).
    pub status: SandboxStatus,
    /// The backend's id of the sandbox (None: it never got a workspace).
    pub external_id: Option<String>,
}

/// A signed link and when it stops opening.
#[derive(Debug, Clone)]
pub struct Link {
    /// The URL to open (it sets the cookie and redirects to the preview).
    pub url: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// The path of a preview host that takes a signed link.
pub const LINK_PATH: &str = "/__sandboxql/open";

/// Exposed ports, their URLs and credentials.
#[derive(Clone)]
pub struct Previews {
    db: DatabaseConnection,
    /// Asked which ports can be previewed.
    backend: Arc<dyn Backend>,
    /// Wakes a sleeping sandbox for a preview request (`limits.previewWakes`).
    waker: Waker,
    limits: Arc<Limits>,
    urls: Arc<PreviewUrls>,
    signer: Arc<OnceCell<Signer>>,
    /// Recent answers of [`Self::route`], found or not (`limits.previewRouteCacheMs`).
    routes: Arc<Bounded<(Uuid, u16), Option<Route>>>,
    /// Bumped by every change this instance makes, so a lookup that raced one is not kept.
    changes: Arc<std::sync::atomic::AtomicU64>,
}

impl Previews {
    /// Previews written as `urls` says.
    pub fn new(
        db: DatabaseConnection,
        backend: Arc<dyn Backend>,
        waker: Waker,
        limits: Arc<Limits>,
        urls: PreviewUrls,
    ) -> Self {
        let l = &limits.previews;
        let ttl = std::time::Duration::from_millis(l.preview_route_cache_ms);
        let routes = Arc::new(Bounded::by_count(l.preview_route_cache_entries.max(1), Some(ttl)));
        let (signer, changes) = (Arc::default(), Arc::default());
        Self { db, backend, waker, limits, urls: Arc::new(urls), signer, routes, changes }
    }

    /// How URLs are written.
    pub fn urls(&self) -> &PreviewUrls {
        &self.urls
    }

    /// Exposes `port` of a sandbox (or changes its visibility); at most
    /// `limits.previewsPerSandbox` per sandbox.
    pub async fn expose(
        &self,
        sb: &VisibleSandbox,
        port: u16,
        visibility: PreviewVisibility,
    ) -> AppResult<sandbox_preview::Model> {
        let done = self.expose_now(sb, port, visibility).await;
        self.forget_route(sb.id, port);
        done
    }

    async fn expose_now(
        &self,
        sb: &VisibleSandbox,
        port: u16,
        visibility: PreviewVisibility,
    ) -> AppResult<sandbox_preview::Model> {
        if port == 0 {
            return Err(AppError::bad_input("port: 1 to 65535"));
        }
        match self.backend.ports() {
            Some(ports) => ports.exposable(port)?,
            None => return Err(AppError::bad_input("this deployment's sandboxes have no previews")),
        }
        if matches!(sb.status, SandboxStatus::Deleting | SandboxStatus::Error) {
            return Err(AppError::conflict_because(crate::error::reasons::NOT_RUNNING, "the sandbox is not running"));
        }
        // Counted and written under the account's lock: two at once cannot both take the
        // last place, and the same port exposed twice is one row.
        let txn = crate::entity::db::write_txn(&self.db).await?;
        crate::accounts::lock_account(&txn, sb.account_id).await?;
        let t = now();
        let row = match self.find_in(&txn, sb.id, port).await? {
            Some(row) => {
                let mut active: sandbox_preview::ActiveModel = row.into();
                active.visibility = Set(visibility);
                active.updated_at = Set(t);
                sandbox_preview::Entity::update(active).exec(&txn).await?
            }
            None => {
                let n = sandbox_preview::Entity::find()
                    .filter(sandbox_preview::Column::SandboxId.eq(sb.id))
                    .count(&txn)
                    .await?;
                let max = self.limits.previews.previews_per_sandbox;
                if n >= max {
                    return Err(AppError::conflict(format!("a sandbox may expose {max} ports; unexpose one first")));
                }
                let row = sandbox_preview::ActiveModel {
                    id: Set(new_id()),
                    sandbox_id: Set(sb.id),
                    account_id: Set(sb.account_id),
                    port: Set(i64::from(port)),
                    visibility: Set(visibility),
                    created_at: Set(t),
                    updated_at: Set(t),
                };
                sea_orm::ActiveModelTrait::insert(row, &txn).await?
            }
        };
        // The port and its visibility, never its link.
        let data = serde_json::json!({"sandboxId": sb.id, "port": port, "visibility": sea_orm::ActiveEnum::to_value(&row.visibility)});
        let ev = crate::entity::webhook_event::PREVIEW_EXPOSED;
        crate::entity::webhook_event::record(&txn, sb.account_id, Some(sb.id), ev, data).await?;
        txn.commit().await?;
        Ok(row)
    }

    /// Stops serving `port`; whether it was exposed. Its links and cookies open nothing
    /// from now on, even if it is exposed again.
    pub async fn unexpose(&self, sb: &VisibleSandbox, port: u16) -> AppResult<bool> {
        let gone = sandbox_preview::Entity::delete_many()
            .filter(sandbox_preview::Column::SandboxId.eq(sb.id))
            .filter(sandbox_preview::Column::Port.eq(i64::from(port)))
            .exec(&self.db)
            .await;
        self.forget_route(sb.id, port);
        Ok(gone?.rows_affected > 0)
    }

    /// The sandbox's previews by port.
    pub async fn of_sandbox(&self, sandbox_id: Uuid) -> AppResult<Vec<sandbox_preview::Model>> {
        Ok(sandbox_preview::Entity::find()
            .filter(sandbox_preview::Column::SandboxId.eq(sandbox_id))
            .order_by_asc(sandbox_preview::Column::Port)
            .all(&self.db)
            .await?)
    }

    async fn find_in<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        sandbox_id: Uuid,
        port: u16,
    ) -> AppResult<Option<sandbox_preview::Model>> {
        Ok(sandbox_preview::Entity::find()
            .filter(sandbox_preview::Column::SandboxId.eq(sandbox_id))
            .filter(sandbox_preview::Column::Port.eq(i64::from(port)))
            .one(db)
            .await?)
    }

    /// A short-lived link that lets a browser into the preview (`limits.previewLinkSecs`).
    pub async fn link(&self, row: &sandbox_preview::Model) -> AppResult<Link> {
        let expires = now() + chrono::Duration::seconds(self.limits.previews.preview_link_secs as i64);
        let token = self.signer().await?.sign(Kind::Link, &target_of(row), expires.timestamp());
        let url = format!("{}{}?token={token}", self.url_of(row).trim_end_matches('/'), LINK_PATH);
        Ok(Link { url, expires_at: expires })
    }

    /// The URL of a preview.
    pub fn url_of(&self, row: &sandbox_preview::Model) -> String {
        self.urls.url(row.sandbox_id, u16::try_from(row.port).unwrap_or(0))
    }

    /// Whether `token` is a live link to `route`'s preview.
    pub async fn link_opens(&self, route: &Route, token: &str) -> AppResult<bool> {
        Ok(self.signer().await?.verify(Kind::Link, &route.target, token, now().timestamp()))
    }

    /// The cookie value an opened link sets, and for how many seconds.
    pub async fn cookie_for(&self, route: &Route) -> AppResult<(String, u64)> {
        let secs = self.limits.previews.preview_cookie_secs;
        let expires = now().timestamp() + secs as i64;
        Ok((self.signer().await?.sign(Kind::Cookie, &route.target, expires), secs))
    }

    /// Whether a cookie value lets its browser into `route`'s preview.
    pub async fn cookie_opens(&self, route: &Route, value: &str) -> AppResult<bool> {
        Ok(self.signer().await?.verify(Kind::Cookie, &route.target, value, now().timestamp()))
    }

    /// The key all instances sign with: read, or made by whichever instance is first.
    async fn signer(&self) -> AppResult<&Signer> {
        self.signer
            .get_or_try_init(|| async {
                let key = crate::server_keys::shared(&self.db, KEY_NAME).await?;
                Ok(Signer::new(key))
            })
            .await
    }
}

fn target_of(row: &sandbox_preview::Model) -> Target {
    Target { preview_id: row.id, sandbox_id: row.sandbox_id, port: u16::try_from(row.port).unwrap_or(0) }
}
