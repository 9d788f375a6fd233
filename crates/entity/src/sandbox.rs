//! `sandboxes`: one row per sandbox, soft-deleted so history and audit survive.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::enums::{BackendName, Provider, SandboxStatus};

/// A sandbox row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "sandboxes")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owner; every query filters on it unless the viewer is an admin.
    pub account_id: Uuid,
    /// The owner's organization at creation time.
    pub organization_id: Option<Uuid>,
    /// Agent configuration the sandbox was made for.
    pub agent_id: Option<Uuid>,
    /// Which template family.
    pub provider: Provider,
    /// Which backend holds it.
    pub backend: BackendName,
    /// Name of the template it was made from (null: made before templates, the default).
    pub template: Option<String>,
    /// The backend's own id, set once the backend answered.
    pub external_id: Option<String>,
    /// Display name.
    pub name: String,
    /// Lifecycle state.
    pub status: SandboxStatus,
    /// Why it is in ERROR (or TERMINATED), safe to show the owner.
    pub status_reason: Option<String>,
    /// Claude's conversation id; the next run resumes it.
    pub claude_session_id: Option<String>,
    /// After a rewind or fork: the message of that session the next run resumes at (it
    /// forks the session there, so later turns are not seen); cleared once it has.
    pub claude_resume_at: Option<String>,
    /// Sync bookkeeping, with the seed system's field names.
    pub meta_data: MetaData,
    /// Set on delete; deleted rows are invisible to the API.
    pub deleted_at: Option<DateTimeUtc>,
    /// Who holds the lease on long work on this sandbox (a sync, its creation, its delete).
    pub lease_owner: Option<String>,
    /// Until when that lease holds; an expired lease is free for any instance.
    pub lease_until: Option<DateTimeUtc>,
    /// What the lease is for: `sync`, `create` or `delete`.
    pub lease_kind: Option<String>,
    /// The host whose disk holds its local workspace (None: any instance reaches it — a
    /// Modal sandbox, or one made before hosts were recorded).
    pub host_id: Option<String>,
    /// When created.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// `meta_data` JSON: kept field-for-field compatible with the Go system it replaces.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct MetaData {
    /// Unix seconds of the last successful sync.
    #[serde(default)]
    pub last_s3_sync: Option<i64>,
    /// Figures of the last successful sync.
    #[serde(default)]
    pub sync_stats: Option<SyncStats>,
}

/// Figures of one sync, as the seed names them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStats {
    /// Files looked at.
    pub files_processed: i64,
    /// Bytes uploaded.
    pub bytes_transferred: i64,
    /// Wall time of the sync.
    pub duration_ms: i64,
}

/// Sandboxes belong to accounts.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The owning account.
    #[sea_orm(belongs_to = "super::account::Entity", from = "Column::AccountId", to = "super::account::Column::Id")]
    Account,
}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The backend's id of this sandbox, typed; None when its create never finished.
    pub fn backend_id(&self) -> Option<super::external_id::ExternalId> {
        self.external_id.as_deref().map(Into::into)
    }
}
