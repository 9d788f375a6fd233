//! Checkpoints: a sandbox's workspace and Claude session after a turn (or on demand),
//! kept outside the sandbox; the session point a rewind or fork continues from; each
//! account's blob gate (syncs, checkpoints and restores share it, a reclaim holds it
//! alone); and each account's retention settings an admin sets.

use sea_orm_migration::prelude::*;

use crate::columns::{big, big_null, index, json, table, text, text_null, ts_null, uuid, uuid_null};

/// Adds `checkpoints`, `blob_gates`, `account_retention` and `sandboxes.claude_resume_at`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let cols = vec![
            uuid("sandbox_id"),
            uuid("account_id"),
            uuid_null("run_id"),
            big_null("turn"),
            text_null("session_id"),
            text_null("resume_at"),
            text_null("session_key"),
            text_null("session_path"),
            text("manifest_key"),
            big("file_count"),
            big("total_bytes"),
            big("bytes_stored"),
            big("changes_total"),
            json("changes"),
        ];
        m.create_table(table("checkpoints", cols, &[("sandbox_id", "sandboxes")])).await?;
        m.create_index(index("checkpoints", &["sandbox_id", "created_at"], false)).await?;
        m.create_index(index("checkpoints", &["run_id"], false)).await?;
        let gate = vec![
            big("users"),
            ts_null("use_until"),
            text_null("reclaim_owner"),
            ts_null("reclaim_until"),
            ts_null("reclaim_wanted_at"),
        ];
        m.create_table(table("blob_gates", gate, &[])).await?;
        let retention = vec![uuid("account_id"), big_null("checkpoints_keep"), big_null("checkpoints_max_age_hours")];
        m.create_table(table("account_retention", retention, &[("account_id", "accounts")])).await?;
        m.create_index(index("account_retention", &["account_id"], true)).await?;
        let resume_at = ColumnDef::new(Alias::new("claude_resume_at")).text().null().to_owned();
        let alter = Table::alter().table(Alias::new("sandboxes")).add_column(resume_at).to_owned();
        m.alter_table(alter).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
