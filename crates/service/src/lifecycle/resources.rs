//! What a sandbox may use (its template's resources) and what it uses now (from its
//! backend), and the per-template sums of what running sandboxes use, for `/metrics`.

use std::{collections::BTreeMap, time::Duration};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::Lifecycle;
use crate::{
    backend::{ExternalId, ResourceUsage, template::Resources},
    entity::{enums::SandboxStatus, sandbox},
    error::AppResult,
    sandboxes::VisibleSandbox,
};

impl Lifecycle {
    /// The sandbox's bounds, and what it uses now when it runs and its backend can tell.
    pub async fn resources(&self, sb: &VisibleSandbox) -> AppResult<(Resources, Option<ResourceUsage>)> {
        let limits = self.templates.of_sandbox(sb.template.as_deref())?.resources;
        let usage = match (self.backend.usage(), &sb.external_id, sb.status) {
            (Some(u), Some(ext), SandboxStatus::Running) => Some(u.usage(&ExternalId::from(ext.as_str())).await?),
            _ => None,
        };
        Ok((limits, usage))
    }

    /// Samples what running sandboxes use, per template, every `usageSampleSecs`.
    pub fn spawn_usage_sampler(&self) {
        if self.backend.usage().is_none() {
            return;
        }
        let me = self.clone();
        let every = Duration::from_secs(self.limits.io.usage_sample_secs);
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.sample_usage().await {
                    tracing::warn!(error = ?e.log_detail(), "could not sample sandbox usage");
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    async fn sample_usage(&self) -> AppResult<()> {
        let Some(meter) = self.backend.usage() else { return Ok(()) };
        let rows = sandbox::Entity::find()
            .filter(sandbox::Column::Status.eq(SandboxStatus::Running))
            .filter(sandbox::Column::Backend.eq(self.backend.name()))
            .filter(sandbox::Column::DeletedAt.is_null())
            .limit(self.limits.io.usage_sample_max_sandboxes)
            .all(&self.db)
            .await?;
        let mut sums: BTreeMap<String, [f64; 5]> =
            self.templates.all().iter().map(|t| (t.name.clone(), [0.0; 5])).collect();
        for row in rows {
            let (Some(ext), Ok(t)) = (&row.external_id, self.templates.of_sandbox(row.template.as_deref())) else {
                continue;
            };
            let Ok(u) = meter.usage(&ExternalId::from(ext.as_str())).await else { continue };
            let s = sums.entry(t.name.clone()).or_default();
            s[0] += 1.0;
            s[1] += u.memory_bytes.unwrap_or(0) as f64;
            s[2] += u.cpu_seconds.unwrap_or(0.0);
            s[3] += u.disk_bytes.unwrap_or(0) as f64;
            s[4] += u.processes.unwrap_or(0) as f64;
        }
        for (name, s) in sums {
            let figures = [
                ("sandboxes", s[0]),
                ("memory_bytes", s[1]),
                ("cpu_seconds", s[2]),
                ("disk_bytes", s[3]),
                ("processes", s[4]),
            ];
            crate::metrics::sandbox_usage(&name, &figures);
        }
        Ok(())
    }
}
