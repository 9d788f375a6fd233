//! What a local sandbox uses: memory, CPU and processes from its cgroup, disk from its
//! filesystem image (or, unbounded, nothing: walking a workspace to add up its size
//! costs as much as the workspace is large).

use async_trait::async_trait;

use super::{
    LocalBackend,
    bounds::disk::{self, Disks},
    layout::DISK,
};
use crate::{ExternalId, ResourceUsage, Usage, error::AppResult, work};

#[async_trait]
impl Usage for LocalBackend {
    async fn usage(&self, id: &ExternalId) -> AppResult<ResourceUsage> {
        let dir = self.sandbox_dir(id)?;
        let cgroup = self.bounds.cgroups.as_ref().map(|r| r.of(id.as_str()));
        let has_disk = self.bounds.disks.is_some();
        work::blocking(move |_| {
            let c = cgroup.filter(|g| g.exists()).map(|g| g.usage()).unwrap_or_default();
            let bounded = has_disk && dir.join(disk::IMAGE).exists();
            let disk_bytes = bounded.then(|| Disks::used_bytes(&dir.join(DISK))).flatten();
            Ok(ResourceUsage { disk_bytes, ..c })
        })
        .await
    }
}
