//! The parts start-up makes from the configuration: the templates, the blob store and
//! the sandbox backend (with its jail, bounds and uids for the local one).

use std::sync::Arc;

use anyhow::Context;

use crate::{
    backend::{
        Backend,
        local::{
            LocalBackend,
            bounds::{Bounds, uids::Uids},
            cpu_group::CpuGroup,
            jail::{Jail, JailNetwork},
        },
        template::{Templates, parse_size},
    },
    config::{BackendKind, Config, StorageKind},
    gateway::GatewayListeners,
    storage::{
        BlobStore,
        fs::FsBlobStore,
        s3::{S3BlobStore, S3Settings},
    },
    work::CpuPool,
};

/// The blob store snapshots go to.
pub async fn make_blob_store(config: &Config, pool: &CpuPool) -> anyhow::Result<Arc<dyn BlobStore>> {
    let s = &config.storage;
    Ok(match s.storage {
        StorageKind::Fs => {
            let keep =
                parse_size(&config.sandbox.min_free_disk).map_err(|e| anyhow::anyhow!("--min-free-disk: {e}"))?;
            Arc::new(FsBlobStore::new(&config.store.data_dir).with_pool(pool.clone()).keeping_free(keep))
        }
        StorageKind::S3 => {
            let bucket = s
                .s3_bucket
                .clone()
                .filter(|b| b.len() >= 3)
                .context("--storage s3 needs --s3-bucket (3+ characters)")?;
            let settings = S3Settings {
                bucket,
                region: s.s3_region.clone(),
                endpoint: s.s3_endpoint.clone(),
                path_style: s.s3_path_style,
            };
            Arc::new(S3BlobStore::new(&settings).await.with_pool(pool.clone()))
        }
    })
}

/// The operator's templates, or the built-in one.
pub fn load_templates(config: &Config) -> anyhow::Result<Templates> {
    let version = &config.sandbox.claude_code_version;
    match &config.sandbox.templates {
        Some(path) => Templates::load(path, version),
        None => Ok(Templates::builtin(version)),
    }
}

/// The configured sandbox backend.
pub async fn make_backend(
    config: &Config,
    pool: &CpuPool,
    gateway: &GatewayListeners,
    templates: &Templates,
) -> anyhow::Result<Arc<dyn Backend>> {
    match config.backend {
        BackendKind::Local => {
            let relay_bin = match &config.gateway.relay_bin {
                Some(p) => p.clone(),
                None => std::env::current_exe().context("locating this executable (the jail's relay)")?,
            };
            let network = JailNetwork {
                relay_bin,
                gateway_socket: gateway.socket.clone(),
                egress_socket: gateway.egress_socket.clone(),
                max_connections: config.limits.jail_max_connections,
            };
            let s = &config.sandbox;
            let group = CpuGroup::prepare(&s.sandbox_cgroup)?;
            let parent = group.as_ref().map(|g| g.dir().to_path_buf());
            let jail = Jail::probe(s.jail)?.with_network(network).with_cpu_group(group);
            let data = &config.store.data_dir;
            let min_free = parse_size(&s.min_free_disk).map_err(|e| anyhow::anyhow!("--min-free-disk: {e}"))?;
            let bounds = Bounds::prepare(s.sandbox_bounds, data, parent.as_deref(), min_free, s.disk_pool)?;
            let uids = match jail.gives_uids() {
                true => Some(Uids::new(data, s.jail_uid_base, s.jail_uid_count)?),
                false => None,
            };
            let mut sizes: Vec<u64> = templates.all().iter().map(|t| t.resources.disk_bytes).collect();
            sizes.sort_unstable();
            sizes.dedup();
            let steps = config.limits.max_delete_steps;
            let local = LocalBackend::new(data, jail, pool.clone(), steps).with_bounds(bounds, sizes, uids);
            local.restore_bounds().await;
            Ok(Arc::new(local.with_gateway_url(gateway.local_url())))
        }
        BackendKind::Modal => {
            let url = config.gateway.gateway_public_url.clone().context(
                "--backend modal needs --gateway-public-url: the URL at which Modal sandboxes reach this \
                 server's Anthropic gateway (--gateway-listen)",
            )?;
            let modal = crate::backend::modal::ModalBackend::new(&config.modal, &config.limits)?;
            Ok(Arc::new(modal.with_gateway_url(url).with_egress(config.gateway.sandbox_egress.clone())))
        }
    }
}
