//! `Snapshot` and `SyncResult`.

use async_graphql::{ComplexObject, Context, ID, Result, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::enums::SnapshotStatus;
use crate::{
    context::scope,
    cost,
    entity::snapshot,
    service::snapshots::{sync::SyncOutcome, verify::damage},
};

/// A stored copy of a sandbox's workspace.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Snapshot {
    /// Snapshot id (pass as `snapshotId` with `source: SNAPSHOT`, or `fromSnapshot`).
    #[graphql(owned)]
    pub id: ID,
    /// The sandbox it was taken of.
    pub sandbox_id: ID,
    /// When taken.
    pub created_at: DateTime<Utc>,
    /// Files in it.
    pub file_count: i64,
    /// Sum of their sizes.
    pub total_bytes: i64,
    /// Whether its stored content was read back and found whole (`verifySnapshot`, and
    /// the background scrub).
    pub status: SnapshotStatus,
    /// When it last was.
    pub verified_at: Option<DateTime<Utc>>,
    /// The paths a verification found damaged or missing (at most
    /// `limits.verifyMaxListedPaths`; `corruptCount` counts them all).
    pub corrupt_paths: Vec<String>,
    /// How many paths are damaged or missing.
    pub corrupt_count: u64,
    /// The row (for what is worked out when asked).
    #[graphql(skip)]
    pub row: snapshot::Model,
}

#[ComplexObject]
impl Snapshot {
    /// When the account's retention removes it by age (null: not by age — no age limit,
    /// or it is its sandbox's newest, which always stays). Count limits remove the oldest
    /// when a newer one is taken.
    #[graphql(complexity = "cost::QUERY * 2")]
    async fn expires_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        let (svc, _) = scope(ctx)?;
        let policy = svc.snapshots.policy(self.row.account_id).await?;
        if policy.max_age_hours == 0 {
            return Ok(None);
        }
        let newest = snapshot::Entity::find()
            .filter(snapshot::Column::SandboxId.eq(self.row.sandbox_id))
            .order_by_desc(snapshot::Column::Id)
            .one(&svc.db)
            .await
            .map_err(crate::error::AppError::from)?;
        Ok(policy.expires_at(self.row.created_at, newest.is_some_and(|n| n.id == self.row.id)))
    }
}

impl From<snapshot::Model> for Snapshot {
    fn from(s: snapshot::Model) -> Self {
        let (corrupt_paths, corrupt_count, _, _) = damage(&s);
        Self {
            id: ID(s.id.to_string()),
            sandbox_id: ID(s.sandbox_id.to_string()),
            created_at: s.created_at,
            file_count: s.file_count,
            total_bytes: s.total_bytes,
            status: s.status.into(),
            verified_at: s.verified_at,
            corrupt_paths,
            corrupt_count,
            row: s,
        }
    }
}

/// What syncSandbox did.
#[derive(SimpleObject)]
pub struct SyncResult {
    /// The snapshot taken.
    pub snapshot: Snapshot,
    /// Files in the snapshot.
    pub files_processed: u64,
    /// Files whose content was new and uploaded.
    pub files_uploaded: u64,
    /// Bytes uploaded.
    pub bytes_transferred: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Files that changed while the sync read them (e.g. a run was writing).
    pub files_changed_during_sync: u64,
    /// Entries left out because they lie below `limits.maxWalkDepth` or their path is too
    /// long; the rest of the workspace is in the snapshot.
    pub files_skipped: u64,
}

impl From<SyncOutcome> for SyncResult {
    fn from(o: SyncOutcome) -> Self {
        Self {
            snapshot: o.snapshot.into(),
            files_processed: o.files_processed,
            files_uploaded: o.files_uploaded,
            bytes_transferred: o.bytes_transferred,
            duration_ms: o.duration_ms,
            files_changed_during_sync: o.files_changed_during_sync,
            files_skipped: o.files_skipped,
        }
    }
}
