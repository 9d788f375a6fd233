#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//! Account-scoped business logic. Knows nothing of GraphQL or HTTP.
//!
//! Each concern is its own small service holding only what it needs (the database, the
//! backend, the blob store, the run manager, the limits), so a function's dependencies
//! are visible in its type. [`Services`] is only the composition root that builds them
//! once and hands each to whoever asks. Scoping is by type: a sandbox that passed the
//! account check is a [`sandboxes::VisibleSandbox`], which only the lookups can produce,
//! and every file, run, snapshot and sync function takes one.

/// The layers below, under the names the code uses.
pub(crate) use sandboxql_backend as backend;
pub(crate) use sandboxql_core::{cache, config, error, metrics, net, work};
pub(crate) use sandboxql_entity as entity;
pub(crate) use sandboxql_run as run;
pub(crate) use sandboxql_storage as storage;

pub mod auth;

pub mod accounts;
pub mod billing;
pub mod checkpoints;
pub mod credentials;
pub mod erasure;
pub mod files;
pub mod git;
pub mod hosts;
pub mod lifecycle;
pub mod paging;
pub mod previews;
pub mod processes;
pub mod quotas;
pub mod runs;
pub mod sandboxes;
pub mod server_keys;
pub mod snapshots;
pub mod terminals;
pub mod webhooks;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    backend::{Backend, template::Templates},
    config::Limits,
    run::manager::RunManager,
    storage::BlobStore,
};

/// Every service, built once at start-up and cloned cheaply into each request.
#[derive(Clone)]
pub struct Services {
    /// The database (accounts and sandbox lookups use it directly).
    pub db: DatabaseConnection,
    /// Every limit the services enforce.
    pub limits: Arc<Limits>,
    /// Where sandboxes run.
    pub backend: Arc<dyn Backend>,
    /// Browsing and changing workspace and snapshot files.
    pub files: files::Files,
    /// Reading snapshots and their manifests.
    pub snapshots: snapshots::Snapshots,
    /// Taking snapshots.
    pub sync: snapshots::sync::Syncer,
    /// Claude runs.
    pub runs: runs::Runs,
    /// Users' processes in their sandboxes.
    pub processes: processes::Processes,
    /// Terminals open on this instance.
    pub terminals: terminals::Terminals,
    /// Preview URLs of sandbox ports.
    pub previews: previews::Previews,
    /// Creating, deleting and restoring sandboxes.
    pub lifecycle: lifecycle::Lifecycle,
    /// The gateway's run authorisation and usage charging.
    pub meter: billing::meter::Meter,
    /// Each account's share of this instance's expensive work.
    pub quotas: quotas::Quotas,
    /// The templates sandboxes are made from.
    pub templates: Arc<Templates>,
    /// Account credentials the broker adds to sandboxes' requests.
    pub credentials: credentials::Credentials,
    /// Git in workspaces.
    pub git: git::Git,
    /// Webhook endpoints and their deliveries.
    pub webhooks: webhooks::Webhooks,
    /// Checkpoints, rewinds, forks and the reclaim of blobs only old ones held.
    pub checkpoints: checkpoints::Checkpoints,
    /// Erasing accounts on request.
    pub erasure: erasure::Erasure,
}

impl Services {
    /// Wires every service from its parts.
    pub fn new(
        db: DatabaseConnection,
        limits: Arc<Limits>,
        backend: Arc<dyn Backend>,
        blobs: Arc<dyn BlobStore>,
        manager: Arc<RunManager>,
        prices: Arc<billing::pricing::PriceTable>,
        preview_urls: previews::host::PreviewUrls,
    ) -> Self {
        let credentials = credentials::Credentials::new(db.clone(), None, limits.clone());
        let templates = manager.templates.clone();
        let meter = billing::meter::Meter::new(db.clone(), prices);
        let quotas = quotas::Quotas::new(limits.clone());
        let leases = lifecycle::leases::Leases::new(db.clone(), &manager.instance_id, &limits);
        let snapshots = snapshots::Snapshots::new(db.clone(), blobs, limits.clone());
        let wait = std::time::Duration::from_secs(limits.wake_wait_secs);
        let waker = lifecycle::waker::Waker::new(db.clone(), backend.clone(), templates.clone(), leases.clone(), wait);
        let files =
            files::Files::new(backend.clone(), snapshots.clone(), quotas.clone(), limits.clone(), waker.clone());
        let sync = snapshots::sync::Syncer::new(
            db.clone(),
            backend.clone(),
            snapshots.clone(),
            quotas.clone(),
            leases.clone(),
            limits.clone(),
            waker.clone(),
            snapshots::gate::BlobGate::new(db.clone(), &manager.instance_id, &limits),
        );
        let processes = processes::Processes::new(db.clone(), backend.clone(), limits.clone(), &manager.instance_id);
        let terminals = terminals::Terminals::new(backend.clone(), limits.clone());
        let previews =
            previews::Previews::new(db.clone(), backend.clone(), waker.clone(), limits.clone(), preview_urls);
        let checkpoints = checkpoints::Checkpoints::new(db.clone(), backend.clone(), sync.clone(), manager.clone());
        if limits.checkpoints.checkpoint_turns {
            let hook: Arc<dyn run::turns::TurnHook> = Arc::new(checkpoints::hook::CheckpointHook(checkpoints.clone()));
            let _ = manager.turn_hook.set(hook);
        }
        let instance = manager.instance_id.clone();
        let runs = runs::Runs::new(db.clone(), manager, limits.clone(), waker.clone());
        let webhooks = webhooks::Webhooks::new(db.clone(), limits.clone());
        let git = git::Git::new(db.clone(), backend.clone(), limits.clone(), waker.clone());
        let lifecycle = lifecycle::Lifecycle {
            db: db.clone(),
            backend: backend.clone(),
            runs: runs.clone(),
            sync: sync.clone(),
            snapshots: snapshots.clone(),
            files: files.clone(),
            quotas: quotas.clone(),
            leases,
            limits: limits.clone(),
            templates: templates.clone(),
            waker,
            git: git.clone(),
            hosts: None,
        };
        let gate = snapshots::gate::BlobGate::new(db.clone(), &instance, &limits);
        let erasure = erasure::Erasure::new(lifecycle.clone(), snapshots.blobs.clone(), gate, &instance);
        Self {
            db,
            limits,
            backend,
            files,
            snapshots,
            sync,
            runs,
            processes,
            terminals,
            previews,
            lifecycle,
            meter,
            quotas,
            templates,
            credentials,
            git,
            webhooks,
            checkpoints,
            erasure,
        }
    }

    /// These services handing a run to the instance that holds its sandbox's warm Claude,
    /// over the internal channel (`remote`).
    pub fn with_handover(mut self, remote: backend::remote::client::Remote) -> Self {
        self.runs = self.runs.clone().with_handover(remote);
        self
    }

    /// These services placing local sandboxes on the hosts of `directory` (several hosts
    /// of the local backend).
    pub fn with_hosts(mut self, directory: hosts::Directory) -> Self {
        self.lifecycle.hosts = Some(directory.clone());
        self.erasure = erasure::Erasure::new(
            self.lifecycle.clone(),
            self.snapshots.blobs.clone(),
            snapshots::gate::BlobGate::new(self.db.clone(), &self.runs.manager.instance_id, &self.limits),
            &self.runs.manager.instance_id,
        );
        self
    }

    /// These services keeping credentials sealed by `sealer` (without one, none can be
    /// set: `--secrets-key`).
    pub fn with_sealer(mut self, sealer: Option<Arc<credentials::sealing::Sealer>>) -> Self {
        self.credentials = credentials::Credentials::new(self.db.clone(), sealer.clone(), self.limits.clone());
        self.webhooks = self.webhooks.with_secrets(webhooks::signing::SecretBox::new(sealer));
        self
    }

    /// Loads the broker's signing key, hands the backend the address every sandbox
    /// command gets (git's rewrite, `SANDBOXQL_BROKER_URL`), and returns the broker the
    /// gateway serves. Start-up only.
    pub async fn start_broker(&self) -> error::AppResult<credentials::broker::Broker> {
        let key = server_keys::shared(&self.db, credentials::broker::KEY_NAME).await?;
        let tokens = credentials::broker::BrokerTokens::new(key);
        self.backend.set_sandbox_env(Arc::new(tokens.clone()));
        Ok(credentials::broker::Broker::new(self.db.clone(), tokens, self.credentials.clone()))
    }

    /// Starts this instance's webhook deliverer (`allow_private`: `--webhook-allow-private`).
    pub fn start_webhooks(&self, allow_private: bool) -> anyhow::Result<()> {
        let d = webhooks::deliverer::Deliverer::new(
            self.db.clone(),
            self.limits.clone(),
            allow_private,
            self.webhooks.waker(),
        )?
        .with_secrets(self.webhooks.secrets());
        d.spawn();
        Ok(())
    }
}
