//! Where a preview request goes: the route a host names, as the database said at most
//! `limits.previewRouteCacheMs` ago (this instance's own changes hold at once), and a
//! sleeping sandbox woken for a request allowed to open it.

use sea_orm::EntityTrait;
use uuid::Uuid;

use super::{Previews, Route, target_of};
use crate::{
    entity::sandbox,
    error::{AppError, AppResult},
    sandboxes::VisibleSandbox,
};

impl Previews {
    /// Where a request for `host` goes (None: no such preview, or no longer one), as the
    /// database said at most `limits.previewRouteCacheMs` ago.
    pub async fn route(&self, host: &str) -> AppResult<Option<Route>> {
        let Some((sandbox_id, port)) = self.urls.parse(host) else { return Ok(None) };
        if let Some(known) = self.routes.get(&(sandbox_id, port)) {
            return Ok(known);
        }
        let before = self.changes.load(std::sync::atomic::Ordering::Acquire);
        let found = self.route_now(sandbox_id, port).await?;
        // A change this instance made meanwhile wins over what was read before it.
        if self.changes.load(std::sync::atomic::Ordering::Acquire) == before {
            self.routes.insert((sandbox_id, port), found.clone());
        }
        Ok(found)
    }

    /// Wakes the sleeping sandbox of `route` for a request allowed to open it (when
    /// `limits.previewWakes`), and the route as it is then. Many requests at once wake
    /// it once (the waker's lease).
    pub async fn wake(&self, route: &Route) -> AppResult<Option<Route>> {
        let (sandbox_id, port) = (route.target.sandbox_id, route.target.port);
        let row = sandbox::Entity::find_by_id(sandbox_id).one(&self.db).await?.ok_or(AppError::NotFound("sandbox"))?;
        self.waker.awake(&VisibleSandbox::by_credential(row)?).await?;
        self.forget_route(sandbox_id, port);
        self.route_now(sandbox_id, port).await
    }

    pub(super) fn forget_route(&self, sandbox_id: Uuid, port: u16) {
        self.changes.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.routes.remove(&(sandbox_id, port));
    }

    async fn route_now(&self, sandbox_id: Uuid, port: u16) -> AppResult<Option<Route>> {
        let Some(row) = self.find_in(&self.db, sandbox_id, port).await? else { return Ok(None) };
        let Some(sb) = sandbox::Entity::find_by_id(sandbox_id).one(&self.db).await? else { return Ok(None) };
        if sb.deleted_at.is_some() {
            return Ok(None);
        }
        Ok(Some(Route {
            target: target_of(&row),
            visibility: row.visibility,
            status: sb.status,
            external_id: sb.external_id,
        }))
    }
}
