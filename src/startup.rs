//! Builds the whole application from a [`Config`]: the binary and the tests both use it,
//! so tests exercise exactly what production runs.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{Authenticator, jwt::JwtVerifier},
    backend::Backend,
    config::Config,
    db,
    gateway::{GatewayListeners, GatewayState},
    graphql::{
        build_schema,
        documents::{DocumentCache, DocumentLimits},
    },
    http::{
        AppState, router,
        serve::{ConnectionLimits, serve},
    },
    parts::{load_templates, make_backend, make_blob_store},
    preview::{PreviewListener, PreviewState},
    run::{manager::RunManager, pg_bridge},
    service::{Services, accounts, billing::pricing::PriceTable, quotas::rate::RateLimiter},
    work::CpuPool,
};

/// A bound, ready-to-serve server.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    router: axum::Router,
    connections: ConnectionLimits,
    preview: (TcpListener, axum::Router, ConnectionLimits),
    internal: Option<crate::hosts::Internal>,
    /// The services it runs on (tests read the database through them).
    pub services: Services,
    /// Token of the admin created on first start of an empty database, if that happened.
    pub bootstrap_token: Option<String>,
    /// Cancelled when shutdown begins: open websockets close with "reconnect".
    pub shutdown: CancellationToken,
    /// Where the Anthropic gateway listens.
    pub gateway_addr: SocketAddr,
    /// Where previews are served.
    pub preview_addr: SocketAddr,
}

impl Application {
    /// Connects, migrates, bootstraps the first admin, binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_backend(config, None).await
    }

    /// Like [`build`](Self::build) with a chosen backend instead of the configured one
    /// (tests use this to inject failures).
    pub async fn build_with_backend(config: Config, backend: Option<Arc<dyn Backend>>) -> anyhow::Result<Self> {
        crate::preflight::check(&config).await;
        let templates = Arc::new(load_templates(&config)?);
        let db = db::connect(&config.store).await?;
        db::migrate(&db).await?;
        crate::data_dir::secure(&config.store)?;
        db::spawn_wal_checkpointer(&db);
        let limits = Arc::new(config.limits.clone());
        crate::metrics::set_max_operation_names(limits.metrics_max_operations as usize);
        let pool = CpuPool::new(config.limits.cpu_pool_threads as usize, config.limits.background_nice as i32)
            .with_job_threads(config.limits.walk_threads as usize);
        let prices = Arc::new(PriceTable::new(&config.gateway.model_prices).map_err(|e| anyhow::anyhow!("{e}"))?);
        let gateway = GatewayListeners::bind(&config.gateway, &config.limits).await?;
        let backend = match backend {
            Some(b) => b,
            None => make_backend(&config, &pool, &gateway, &templates).await?,
        };
        let (backend, internal, directory) =
            crate::hosts::wire(&config, &db, backend, templates.clone(), &instance_id(&config)).await?;
        let runs = RunManager::new(
            db.clone(),
            backend.clone(),
            config.runs.clone(),
            limits.clone(),
            templates,
            instance_id(&config),
        );
        if db::is_postgres(&db) {
            pg_bridge::spawn(db.clone(), runs.hub.clone(), runs.clone());
        }
        let blobs = make_blob_store(&config, &pool).await?;
        let previews = PreviewListener::bind(&config.preview, config.listen).await?;
        let preview_addr = previews.listener.local_addr()?;
        let sealer = crate::service::credentials::sealing::Sealer::from_config(&config.broker)?.map(Arc::new);
        let mut services = Services::new(db, limits, backend, blobs, runs, prices, previews.urls).with_sealer(sealer);
        if let Some(directory) = directory {
            services = services.with_hosts(directory);
        }
        if let Some(internal) = &internal {
            services = services.with_handover(internal.remote.clone());
            let _ = services.runs.manager.internal_url.set(internal.url.clone());
            internal.runs.serve(services.runs.clone());
        }
        services.lifecycle.recover(true).await.map_err(|e| anyhow::anyhow!("recovering interrupted work: {e:?}"))?;
        services.lifecycle.spawn_recovery();
        services.processes.spawn_reaper();
        services.terminals.spawn_sweeper();
        services.lifecycle.spawn_usage_sampler();
        services.lifecycle.spawn_reconcile();
        services.start_webhooks(config.webhook_allow_private)?;
        services.checkpoints.spawn_reclaimer();
        services.snapshots.spawn_scrubber();
        services.runs.spawn_compactor();
        services.erasure.spawn_sweeper();
        let shutdown = CancellationToken::new();
        let gateway_addr = gateway.addr;
        let broker = services.start_broker().await.map_err(|e| anyhow::anyhow!("starting the broker: {e:?}"))?;
        let rules = crate::gateway::egress_rules::parse_rules(&config.gateway.sandbox_egress)?;
        let broker = crate::gateway::broker::BrokerState::new(broker, rules, &config.broker, &config.limits)?;
        let gateway_state =
            GatewayState::new(&config.gateway, &config.limits, services.meter.clone())?.with_broker(broker);
        match services.credentials.reseal().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(credentials = n, "resealed credentials under the current --secrets-key"),
            Err(e) => tracing::warn!(error = ?e.log_detail(), "resealing credentials failed"),
        }
        gateway.spawn(gateway_state, ConnectionLimits::from_limits(&config.limits), shutdown.clone());
        let bootstrap_token = accounts::bootstrap_admin(&services.db)
            .await
            .map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?
            .map(|t| t.token);
        let jwt = JwtVerifier::new(&config.jwt, &config.limits);
        let auth =
            Arc::new(Authenticator::new(services.db.clone(), jwt, config.jwt.jwt_auto_provision, &config.limits));
        let schema = build_schema(services.clone(), auth.clone(), !config.http.no_introspection);
        let trusted = match &config.http.trusted_documents {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                let list = crate::graphql::persisted::load_trusted(&text)
                    .with_context(|| format!("trusted documents in {}", path.display()))?;
                tracing::info!(documents = list.len(), "running trusted documents only");
                Some(list)
            }
            None => None,
        };
        let document_pool = CpuPool::new(config.limits.requests.document_threads as usize, 0);
        let documents =
            Arc::new(DocumentCache::new(DocumentLimits::from_limits(&config.limits), trusted, document_pool));
        let rate = Arc::new(RateLimiter::new(
            config.limits.rate_limit_per_sec,
            config.limits.rate_limit_burst,
            config.limits.io.rate_limit_max_callers,
        ));
        let engine = Arc::new(crate::graphql::executor::SchemaEngine::new(schema, documents));
        let state = AppState {
            engine,
            services: services.clone(),
            auth,
            rate,
            open_operations: Arc::default(),
            sse: Arc::default(),
            shutdown: shutdown.clone(),
            metrics_token: config.http.metrics_token.clone(),
        };
        let router = router(state, &config.http.cors_origins);
        let listener = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let metrics_listener = match config.http.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("binding metrics to {addr}"))?),
            None => None,
        };
        let connections = ConnectionLimits::from_limits(&config.limits);
        tracing::info!(
            max = connections.max_connections,
            per_address = connections.max_per_address,
            "client connections capped"
        );
        let preview_router = crate::preview::router(PreviewState::new(services.clone()));
        let preview = (previews.listener, preview_router, crate::preview::connection_limits(&config.limits));
        Ok(Self {
            listener,
            metrics_listener,
            router,
            connections,
            preview,
            internal,
            services,
            bootstrap_token,
            shutdown,
            gateway_addr,
            preview_addr,
        })
    }

    /// The address actually bound (port 0 resolved).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully: `/readyz` answers 503
    /// at once, websockets close with 1012 (reconnect), this instance's runs end
    /// INTERRUPTED with a reason, new connections stop after a short drain, requests in
    /// flight finish within the grace period; then it returns.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let grace = Duration::from_millis(self.services.limits.shutdown_grace_ms);
        let (token, runs) = (self.shutdown.clone(), self.services.runs.manager.clone());
        let stop_accepting = CancellationToken::new();
        let mut server = tokio::spawn(serve(self.listener, self.router, self.connections, stop_accepting.clone()));
        let (preview, preview_router, preview_limits) = self.preview;
        tokio::spawn(serve(preview, preview_router, preview_limits, stop_accepting.clone()));
        if let Some(internal) = self.internal {
            tokio::spawn(serve(internal.listener, internal.router, self.connections, stop_accepting.clone()));
        }
        if let Some(listener) = self.metrics_listener {
            tokio::spawn(serve(listener, crate::http::metrics_router(), self.connections, stop_accepting.clone()));
        }
        shutdown_signal().await;
        tracing::info!("shutting down");
        token.cancel();
        runs.interrupt_all("the server shut down", grace / 2).await;
        // Keep answering a moment, so load balancers see /readyz fail and move away.
        tokio::time::sleep((grace / 4).min(Duration::from_secs(1))).await;
        stop_accepting.cancel();
        if tokio::time::timeout(grace, &mut server).await.is_err() {
            tracing::warn!("the grace period ended with requests still in flight; stopping");
            server.abort();
        }
        Ok(())
    }

    /// Where `/metrics` is served on its own, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }
}

/// The configured instance name, or one made of the host name and the data dir, so a
/// restarted server recognises the runs it left behind.
fn instance_id(config: &Config) -> String {
    if let Some(id) = &config.instance_id {
        return id.clone();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let dir = std::path::absolute(&config.store.data_dir).unwrap_or_else(|_| config.store.data_dir.clone());
    format!("{}:{}", host.trim(), dir.display())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
