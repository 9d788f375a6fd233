//! Wiring several hosts of local sandboxes at start-up: this instance's host id (set, or
//! made once and kept in the data dir), the routed backend in front of the local one,
//! the internal listener other instances forward to, and this instance's registration.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::{
    backend::{
        Backend,
        remote::{RoutedBackend, client::Remote},
        template::Templates,
    },
    config::{BackendKind, Config, Secret},
    entity::lease::Term,
    service::hosts::Directory,
};

/// The internal channel, bound, to be served with the application.
pub struct Internal {
    /// Its listener.
    pub listener: TcpListener,
    /// Its routes.
    pub router: axum::Router,
    /// Where runs handed to this instance start, set once the services exist.
    pub runs: sandboxql_api::internal::HandedRuns,
    /// Its address, as other instances reach it.
    pub url: String,
    /// The client side, to hand runs to other instances.
    pub remote: Remote,
}

/// This host's id: `--host-id`, or the one kept in `{data_dir}/host-id` (made at first
/// start), so instances sharing a data dir share it and a restart keeps it.
pub fn host_id(config: &Config) -> anyhow::Result<String> {
    if let Some(id) = &config.hosts.host_id {
        return Ok(id.clone());
    }
    let path = config.store.data_dir.join("host-id");
    if let Ok(id) = std::fs::read_to_string(&path)
        && !id.trim().is_empty()
    {
        return Ok(id.trim().to_string());
    }
    std::fs::create_dir_all(&config.store.data_dir)?;
    let id = format!("host-{}", uuid::Uuid::new_v4().simple());
    std::fs::write(&path, &id).with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

/// The internal channel when `--internal-listen` is set (any backend: runs are handed
/// over it to the instance holding a warm Claude) and, for the local backend, the routed
/// backend in front of `local` with this instance registered on its host. Other backends
/// (Modal) are reached from any instance and come back as they are.
pub async fn wire(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
    local: Arc<dyn Backend>,
    templates: Arc<Templates>,
    instance: &str,
) -> anyhow::Result<(Arc<dyn Backend>, Option<Internal>, Option<Directory>)> {
    let secret = config.hosts.internal_secret.clone();
    let internal = match config.hosts.internal_listen {
        Some(addr) => {
            let secret = secret.clone().context("--internal-listen needs --internal-secret")?;
            let state = sandboxql_api::internal::InternalState::new(local.clone(), templates, secret.clone())?;
            let listener =
                TcpListener::bind(addr).await.with_context(|| format!("binding the internal listener {addr}"))?;
            let url = match &config.hosts.internal_url {
                Some(url) => url.trim_end_matches('/').to_string(),
                None => format!("http://{}", listener.local_addr()?),
            };
            let runs = state.runs.clone();
            let remote =
                Remote::new(secret, config.limits.io.internal_max_line_bytes).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            Some(Internal { listener, router: sandboxql_api::internal::router(state), runs, url, remote })
        }
        None => None,
    };
    if config.backend != BackendKind::Local {
        return Ok((local, internal, None));
    }
    let me = host_id(config)?;
    let directory = Directory::new(db.clone(), &me);
    let url = internal.as_ref().map(|i| i.url.clone());
    let term = Term::of(&config.limits);
    directory
        .register(instance, url.clone(), term.length, term.every)
        .await
        .map_err(|e| anyhow::anyhow!("registering this instance's host: {e:?}"))?;
    tracing::info!(host = %me, internal = ?url, "serving local sandboxes of this host");
    tokio::spawn(drop_moved_away(config.store.data_dir.join("sandboxes"), db.clone(), local.clone(), me.clone()));
    let remote = Remote::new(secret.unwrap_or_else(|| Secret(String::new())), config.limits.io.internal_max_line_bytes)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let routed: Arc<dyn Backend> = Arc::new(RoutedBackend::new(local, Arc::new(directory.clone()), remote));
    Ok((routed, internal, Some(directory)))
}

/// Removes the workspaces this host still holds of sandboxes that moved to another host
/// while it was down (`moveSandbox` of a sandbox whose host was gone), so a host that
/// comes back keeps no stale copy. Best effort, in the background at start-up.
async fn drop_moved_away(
    dir: std::path::PathBuf,
    db: sea_orm::DatabaseConnection,
    local: Arc<dyn Backend>,
    me: String,
) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let Ok(mut entries) = tokio::fs::read_dir(&dir).await else { return };
    let mut here = Vec::new();
    while let Ok(Some(e)) = entries.next_entry().await {
        if let Ok(id) = uuid::Uuid::parse_str(&e.file_name().to_string_lossy()) {
            here.push(id);
        }
    }
    for chunk in here.chunks(500) {
        let rows = crate::entity::sandbox::Entity::find()
            .filter(crate::entity::sandbox::Column::Id.is_in(chunk.to_vec()))
            .filter(crate::entity::sandbox::Column::HostId.is_not_null())
            .filter(crate::entity::sandbox::Column::HostId.ne(me.clone()))
            .all(&db)
            .await;
        let Ok(rows) = rows else { return };
        for row in rows {
            tracing::warn!(sandbox_id = %row.id, host = ?row.host_id, "removing the stale workspace of a sandbox that moved away");
            local.forget(row.id).await;
        }
    }
}
