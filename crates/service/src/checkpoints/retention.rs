//! How many checkpoints a sandbox keeps and for how long: the server's defaults, or what
//! an admin set for the account. Rows past either bound go (the newest always stays),
//! with their manifests and transcripts; the content blobs only they held are left to
//! the reclaim, which the account is marked for.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use super::Checkpoints;
use crate::{
    auth::Viewer,
    entity::{account_retention, checkpoint, new_id, now},
    error::{AppError, AppResult},
    sandboxes::VisibleSandbox,
};

/// Rows looked at per pruning statement.
const PAGE: u64 = 500;

/// The retention that applies to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Checkpoints kept per sandbox.
    pub keep: u64,
    /// Hours one is kept (0: no age limit).
    pub max_age_hours: u64,
}

impl Checkpoints {
    /// The account's retention: what an admin set, else the server's defaults.
    pub async fn retention(&self, account: Uuid) -> AppResult<Retention> {
        let row = account_retention::Entity::find()
            .filter(account_retention::Column::AccountId.eq(account))
            .one(&self.db)
            .await?;
        let l = &self.limits.checkpoints;
        let keep = row.as_ref().and_then(|r| r.checkpoints_keep).map_or(l.checkpoints_keep, |v| v.max(1) as u64);
        let hours =
            row.and_then(|r| r.checkpoints_max_age_hours).map_or(l.checkpoints_max_age_hours, |v| v.max(0) as u64);
        Ok(Retention { keep: keep.max(1), max_age_hours: hours })
    }

    /// Sets (or, with None, resets to the default) an account's checkpoint retention.
    pub async fn set_retention(
        &self,
        viewer: &Viewer,
        account: Uuid,
        keep: Option<i64>,
        max_age_hours: Option<i64>,
    ) -> AppResult<Retention> {
        viewer.require_admin()?;
        if keep.is_some_and(|k| k < 1) || max_age_hours.is_some_and(|h| h < 0) {
            return Err(AppError::bad_input("`keep` must be at least 1 and `maxAgeHours` not negative"));
        }
        let t = now();
        let row = account_retention::ActiveModel {
            id: Set(new_id()),
            account_id: Set(account),
            checkpoints_keep: Set(keep),
            checkpoints_max_age_hours: Set(max_age_hours),
            snapshots_keep: Set(None),
            snapshots_max_age_hours: Set(None),
            storage_quota_bytes: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
        };
        let cols = [
            account_retention::Column::CheckpointsKeep,
            account_retention::Column::CheckpointsMaxAgeHours,
            account_retention::Column::UpdatedAt,
        ];
        let on = sea_orm::sea_query::OnConflict::column(account_retention::Column::AccountId)
            .update_columns(cols)
            .to_owned();
        account_retention::Entity::insert(row).on_conflict(on).exec(&self.db).await?;
        self.retention(account).await
    }

    /// Removes the sandbox's checkpoints past its account's retention.
    pub(crate) async fn prune(&self, sb: &VisibleSandbox) -> AppResult<()> {
        let r = self.retention(sb.account_id).await?;
        let rows = || checkpoint::Entity::find().filter(checkpoint::Column::SandboxId.eq(sb.id));
        let mut doomed = rows().order_by_desc(checkpoint::Column::Id).offset(r.keep).limit(PAGE).all(&self.db).await?;
        if r.max_age_hours > 0 {
            let cutoff = now() - chrono::Duration::hours(r.max_age_hours as i64);
            let newest = rows().order_by_desc(checkpoint::Column::Id).one(&self.db).await?.map(|c| c.id);
            let old = rows().filter(checkpoint::Column::CreatedAt.lt(cutoff));
            let old =
                old.filter(checkpoint::Column::Id.ne(newest.unwrap_or_default())).limit(PAGE).all(&self.db).await?;
            doomed.extend(old.into_iter().filter(|o| !doomed.iter().any(|d| d.id == o.id)).collect::<Vec<_>>());
        }
        if doomed.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = doomed.iter().map(|c| c.id).collect();
        checkpoint::Entity::delete_many().filter(checkpoint::Column::Id.is_in(ids)).exec(&self.db).await?;
        crate::snapshots::gate::want_reclaim(&self.db, sb.account_id).await?;
        for c in doomed {
            for key in std::iter::once(&c.manifest_key).chain(c.session_key.as_ref()) {
                if let Err(e) = self.sync.snapshots.blobs.delete(key).await {
                    tracing::warn!(checkpoint = %c.id, error = ?e.log_detail(), "could not delete a checkpoint's object");
                }
            }
        }
        Ok(())
    }
}
