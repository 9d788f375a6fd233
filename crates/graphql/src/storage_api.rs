//! Stored data: `verifySnapshot`, `deleteSnapshot`, and for admins `setStoragePolicy`.
//! Another account's snapshots are NOT_FOUND.

use async_graphql::{Context, ID, Object, Result};

use crate::{
    context::{parse_id, scope},
    cost,
    types::{
        snapshot::Snapshot,
        storage::{SnapshotVerification, StoragePolicy},
    },
};

/// Storage mutations.
#[derive(Default)]
pub struct StorageMutation;

#[Object]
impl StorageMutation {
    /// Reads back every blob of the snapshot and checks its size and SHA-256: a damaged or
    /// missing one marks it CORRUPT with the paths affected (and sends `snapshot.corrupt`).
    #[graphql(complexity = "cost::SYNC + child_complexity")]
    async fn verify_snapshot(&self, ctx: &Context<'_>, id: ID) -> Result<SnapshotVerification> {
        let (svc, viewer) = scope(ctx)?;
        let snap = svc.snapshots.require(viewer, parse_id(&id, "id")?).await?;
        let v = svc.snapshots.verify_now(&snap).await?;
        let snap = svc.snapshots.require(viewer, snap.id).await?;
        Ok(SnapshotVerification {
            snapshot: Snapshot::from(snap.into_row()),
            corrupt_paths: v.corrupt,
            corrupt_count: v.corrupt_total,
            blobs_read: v.blobs,
            bytes_read: v.bytes,
        })
    }

    /// Deletes a snapshot; the content only it held is reclaimed later. True when done.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn delete_snapshot(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let (svc, viewer) = scope(ctx)?;
        let snap = svc.snapshots.require(viewer, parse_id(&id, "id")?).await?;
        svc.snapshots.delete(viewer, snap).await?;
        Ok(true)
    }

    /// Sets an account's snapshot retention and storage quota (null: the server's
    /// setting). Admins only.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn set_storage_policy(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        snapshots_keep: Option<i64>,
        snapshots_max_age_hours: Option<i64>,
        storage_quota_bytes: Option<i64>,
    ) -> Result<StoragePolicy> {
        let (svc, viewer) = scope(ctx)?;
        let account = parse_id(&account_id, "accountId")?;
        let p = svc
            .snapshots
            .set_policy(viewer, account, snapshots_keep, snapshots_max_age_hours, storage_quota_bytes)
            .await?;
        Ok(StoragePolicy {
            snapshots_keep: p.keep,
            snapshots_max_age_hours: p.max_age_hours,
            storage_quota_bytes: p.quota_bytes,
        })
    }
}
