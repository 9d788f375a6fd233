//! The services wired as the server wires them, without HTTP: a fresh database (SQLite or
//! Postgres), the real local backend (unjailed, in a temp dir), the filesystem blob store
//! and a run manager, so a test calls service functions and looks at the rows they leave.

use std::sync::Arc;

use clap::Parser;
use sandboxql_backend::local::{LocalBackend, jail::Jail};
use sandboxql_core::{
    config::{Limits, RunConfig},
    work::CpuPool,
};
use sandboxql_entity::{
    agent_run,
    enums::{Provider, Role, RunPermissionMode, RunStatus},
    new_id, now,
};
use sandboxql_run::manager::RunManager;
use sandboxql_service::{
    Services,
    accounts::{self, Actor, NewAccount},
    auth::Viewer,
    billing::pricing::PriceTable,
    lifecycle::CreateSandbox,
    sandboxes::VisibleSandbox,
};
use sandboxql_storage::fs::FsBlobStore;
use sandboxql_testkit::DbKind;
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};

#[derive(Parser)]
struct Settings {
    #[command(flatten)]
    limits: Limits,
    #[command(flatten)]
    runs: RunConfig,
}

/// One test's services and the directory they keep their files in.
pub struct Harness {
    pub services: Services,
    pub db: DatabaseConnection,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// Services on a fresh `kind` database with the default limits.
    pub async fn new(kind: DbKind) -> Self {
        Self::with_flags(kind, &[]).await
    }

    /// Services whose limits are the defaults changed by `flags` (as on the command line).
    pub async fn with_flags(kind: DbKind, flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::in_dir(kind, flags, dir).await
    }

    /// Services keeping their files in `dir` (a test may mount something there first).
    pub async fn in_dir(kind: DbKind, flags: &[&str], dir: tempfile::TempDir) -> Self {
        let settings = Settings::parse_from(std::iter::once("test").chain(flags.iter().copied()));
        let url = sandboxql_testkit::fresh_url(kind, dir.path()).await;
        let db = sea_orm::Database::connect(&url).await.unwrap();
        sandboxql_entity::db::migrate(&db).await.unwrap();
        let limits = Arc::new(settings.limits);
        let pool = CpuPool::new(1, 0);
        let backend =
            Arc::new(LocalBackend::new(&dir.path().join("sandboxes"), Jail::unjailed(), pool, limits.max_delete_steps));
        let blobs = Arc::new(FsBlobStore::new(dir.path()));
        let templates = Arc::new(sandboxql_backend::template::Templates::builtin("2.1.332"));
        let manager =
            RunManager::new(db.clone(), backend.clone(), settings.runs, limits.clone(), templates, "test-1".into());
        let prices = Arc::new(PriceTable::new(&[]).unwrap());
        let urls = sandboxql_service::previews::host::PreviewUrls {
            domain: "localhost".into(),
            scheme: "http".into(),
            port: None,
        };
        let services = Services::new(db.clone(), limits, backend, blobs, manager, prices, urls);
        Self { services, db, dir }
    }

    /// A new account with a writer's viewer of it.
    pub async fn user(&self, name: &str) -> Viewer {
        let new = NewAccount { name: name.into(), role: Role::User, organization_id: None, external_id: None };
        let account = accounts::create(&self.db, Actor::Operator, new, 200).await.unwrap();
        Viewer { account_id: account.id, organization_id: None, role: Role::User, read_only: false }
    }

    /// A new RUNNING local sandbox of `viewer`'s.
    pub async fn sandbox(&self, viewer: &Viewer) -> VisibleSandbox {
        let input = CreateSandbox {
            provider: Provider::ClaudeCode,
            template: None,
            agent_id: None,
            name: None,
            from_snapshot: None,
            git: None,
            allow_partial: false,
        };
        self.services.lifecycle.create(viewer, input).await.unwrap()
    }

    /// The sandbox's workspace directory on disk.
    pub fn workspace(&self, sb: &VisibleSandbox) -> std::path::PathBuf {
        self.dir.path().join("sandboxes").join("sandboxes").join(sb.id.simple().to_string()).join("disk/workspace")
    }

    /// A RUNNING run row in `sb`, executed (as far as the database knows) by another
    /// instance: what a test of inputs, answers and leases needs without a Claude process.
    pub async fn running_run(&self, sb: &VisibleSandbox, interactive: bool) -> agent_run::Model {
        let t = now();
        agent_run::ActiveModel {
            id: Set(new_id()),
            sandbox_id: Set(sb.id),
            account_id: Set(sb.account_id),
            prompt: Set("hello".into()),
            status: Set(RunStatus::Running),
            claude_session_id: Set(None),
            cost_usd: Set(None),
            duration_ms: Set(None),
            num_turns: Set(None),
            error: Set(None),
            model: Set(None),
            max_turns: Set(None),
            runner_id: Set(Some("elsewhere".into())),
            lease_until: Set(Some(t + chrono::Duration::seconds(60))),
            gateway_token_sha256: Set(None),
            stop_reason: Set(None),
            permission_mode: Set(RunPermissionMode::Bypass),
            interactive: Set(interactive),
            events_compacted_at: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(&self.db)
        .await
        .unwrap()
    }
}
