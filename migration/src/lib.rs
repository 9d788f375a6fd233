//! Database schema of sandboxql, applied at server start-up on SQLite and Postgres alike.

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261123_000001_accounts_sandboxes;
mod m20261123_000002_snapshots_runs;
mod m20261124_000003_blobs_leases;
mod m20261124_000004_accounts_tokens;
mod m20261125_000005_usage_budgets;
mod m20261126_000006_run_inputs;
mod m20261202_000007_sandbox_templates;
mod m20261202_000008_warm_claudes;
mod m20261202_000009_processes;
mod m20261202_000010_previews;
mod m20261203_000011_credentials;
mod m20261203_000012_webhooks;
mod m20261203_000013_checkpoints;
mod m20261203_000014_storage_policy;
mod m20261204_000015_account_erasures;
mod m20261204_000016_hosts;
mod m20261204_000017_warm_holders;

/// All migrations in the order they apply.
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_accounts_sandboxes::Migration),
            Box::new(m20261123_000002_snapshots_runs::Migration),
            Box::new(m20261124_000003_blobs_leases::Migration),
            Box::new(m20261124_000004_accounts_tokens::Migration),
            Box::new(m20261125_000005_usage_budgets::Migration),
            Box::new(m20261126_000006_run_inputs::Migration),
            Box::new(m20261202_000007_sandbox_templates::Migration),
            Box::new(m20261202_000008_warm_claudes::Migration),
            Box::new(m20261202_000009_processes::Migration),
            Box::new(m20261202_000010_previews::Migration),
            Box::new(m20261203_000011_credentials::Migration),
            Box::new(m20261203_000012_webhooks::Migration),
            Box::new(m20261203_000013_checkpoints::Migration),
            Box::new(m20261203_000014_storage_policy::Migration),
            Box::new(m20261204_000015_account_erasures::Migration),
            Box::new(m20261204_000016_hosts::Migration),
            Box::new(m20261204_000017_warm_holders::Migration),
        ]
    }
}
