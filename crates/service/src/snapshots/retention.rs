//! How many snapshots a sandbox keeps and for how long, and deleting one: nothing expires
//! unless the server's settings or an admin's for the account say so, the newest always
//! stays, and what a policy removes next is visible as `Snapshot.expiresAt`. A removed
//! snapshot's manifest goes with its row; the blobs only it held are left to the reclaim,
//! which the account is marked for.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Snapshots, VisibleSnapshot, gate};
use crate::{
    auth::Viewer,
    entity::{account_retention, now, snapshot},
    error::AppResult,
};

/// What an account stores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageUsage {
    /// Bytes of distinct content.
    pub bytes: u64,
    /// Distinct blobs.
    pub blobs: u64,
    /// Snapshots.
    pub snapshots: u64,
}

/// Rows removed per pruning statement.
const PAGE: u64 = 500;

/// The snapshot policy that applies to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotPolicy {
    /// Snapshots kept per sandbox (0: all).
    pub keep: u64,
    /// Hours one is kept (0: no age limit).
    pub max_age_hours: u64,
    /// Bytes the account may store (0: no quota).
    pub quota_bytes: u64,
}

impl SnapshotPolicy {
    /// When a snapshot taken at `at` expires by age (None: never by age). The newest of a
    /// sandbox never does; count-based removal happens when newer ones are taken.
    pub fn expires_at(&self, at: chrono::DateTime<chrono::Utc>, newest: bool) -> Option<chrono::DateTime<chrono::Utc>> {
        (self.max_age_hours > 0 && !newest).then(|| at + chrono::Duration::hours(self.max_age_hours as i64))
    }
}

impl Snapshots {
    /// The account's policy: what an admin set, else the server's settings.
    pub async fn policy(&self, account: Uuid) -> AppResult<SnapshotPolicy> {
        let row = account_retention::Entity::find()
            .filter(account_retention::Column::AccountId.eq(account))
            .one(&self.db)
            .await?;
        let l = &self.limits.storage;
        let pick = |v: Option<i64>, d: u64| v.map_or(d, |v| v.max(0) as u64);
        Ok(SnapshotPolicy {
            keep: pick(row.as_ref().and_then(|r| r.snapshots_keep), l.snapshots_keep),
            max_age_hours: pick(row.as_ref().and_then(|r| r.snapshots_max_age_hours), l.snapshots_max_age_hours),
            quota_bytes: pick(row.as_ref().and_then(|r| r.storage_quota_bytes), l.storage_quota_bytes),
        })
    }

    /// What the account stores now (its distinct blobs, its snapshots).
    pub async fn usage(&self, account: Uuid) -> AppResult<StorageUsage> {
        use sea_orm::{FromQueryResult, PaginatorTrait, sea_query::Expr};
        #[derive(FromQueryResult)]
        struct Sum {
            bytes: Option<i64>,
            blobs: i64,
        }
        // Postgres answers NUMERIC for SUM of BIGINT: cast back.
        let sum = crate::entity::blob::Entity::find()
            .select_only()
            .expr_as(Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"), "bytes")
            .expr_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "blobs")
            .filter(crate::entity::blob::Column::AccountId.eq(account))
            .into_model::<Sum>()
            .one(&self.db)
            .await?;
        let snapshots =
            snapshot::Entity::find().filter(snapshot::Column::AccountId.eq(account)).count(&self.db).await?;
        let (bytes, blobs) = sum.map_or((0, 0), |s| (s.bytes.unwrap_or(0).max(0) as u64, s.blobs.max(0) as u64));
        Ok(StorageUsage { bytes, blobs, snapshots })
    }

    /// Sets (None: back to the server's setting) an account's snapshot retention and
    /// storage quota. Admins only.
    pub async fn set_policy(
        &self,
        viewer: &Viewer,
        account: Uuid,
        keep: Option<i64>,
        max_age_hours: Option<i64>,
        quota_bytes: Option<i64>,
    ) -> AppResult<SnapshotPolicy> {
        use sea_orm::Set;
        viewer.require_admin()?;
        if [keep, max_age_hours, quota_bytes].iter().any(|v| v.is_some_and(|v| v < 0)) {
            return Err(crate::error::AppError::bad_input("retention and quota settings must not be negative"));
        }
        let t = now();
        let row = account_retention::ActiveModel {
            id: Set(crate::entity::new_id()),
            account_id: Set(account),
            checkpoints_keep: Set(None),
            checkpoints_max_age_hours: Set(None),
            snapshots_keep: Set(keep),
            snapshots_max_age_hours: Set(max_age_hours),
            storage_quota_bytes: Set(quota_bytes),
            created_at: Set(t),
            updated_at: Set(t),
        };
        let cols = [
            account_retention::Column::SnapshotsKeep,
            account_retention::Column::SnapshotsMaxAgeHours,
            account_retention::Column::StorageQuotaBytes,
            account_retention::Column::UpdatedAt,
        ];
        let on = sea_orm::sea_query::OnConflict::column(account_retention::Column::AccountId)
            .update_columns(cols)
            .to_owned();
        account_retention::Entity::insert(row).on_conflict(on).exec(&self.db).await?;
        self.policy(account).await
    }

    /// Removes the sandbox's snapshots past its account's policy; how many went.
    pub(crate) async fn prune(&self, sandbox_id: Uuid, account: Uuid) -> AppResult<u64> {
        let p = self.policy(account).await?;
        if p.keep == 0 && p.max_age_hours == 0 {
            return Ok(0);
        }
        let rows = || snapshot::Entity::find().filter(snapshot::Column::SandboxId.eq(sandbox_id));
        let Some(newest) = rows().order_by_desc(snapshot::Column::Id).one(&self.db).await? else { return Ok(0) };
        let mut doomed = Vec::new();
        if p.keep > 0 {
            doomed = rows().order_by_desc(snapshot::Column::Id).offset(p.keep).limit(PAGE).all(&self.db).await?;
        }
        if p.max_age_hours > 0 {
            let cutoff = now() - chrono::Duration::hours(p.max_age_hours as i64);
            let old = rows().filter(snapshot::Column::CreatedAt.lt(cutoff)).filter(snapshot::Column::Id.ne(newest.id));
            for o in old.limit(PAGE).all(&self.db).await? {
                if !doomed.iter().any(|d: &snapshot::Model| d.id == o.id) {
                    doomed.push(o);
                }
            }
        }
        self.remove(account, doomed).await
    }

    /// Deletes one snapshot (the viewer may see and write it); NOT_FOUND otherwise.
    pub async fn delete(&self, viewer: &Viewer, snap: VisibleSnapshot) -> AppResult<()> {
        viewer.require_writer()?;
        self.remove(snap.account_id, vec![snap.into_row()]).await?;
        Ok(())
    }

    async fn remove(&self, account: Uuid, doomed: Vec<snapshot::Model>) -> AppResult<u64> {
        if doomed.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Uuid> = doomed.iter().map(|s| s.id).collect();
        let gone = snapshot::Entity::delete_many().filter(snapshot::Column::Id.is_in(ids)).exec(&self.db).await?;
        gate::want_reclaim(&self.db, account).await?;
        for s in doomed {
            if let Err(e) = self.blobs.delete(&s.manifest_key).await {
                tracing::warn!(snapshot = %s.id, error = ?e.log_detail(), "could not delete a snapshot's manifest");
            }
        }
        Ok(gone.rows_affected)
    }
}
