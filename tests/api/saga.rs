//! Create is a saga: backend failure leaves ERROR with a reason; a database failure after
//! the backend created a sandbox terminates that sandbox, so nothing is orphaned.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sandboxql::{
    backend::{
        BackendStatus, ExternalId, Lifecycle, SandboxSpec,
        local::{LocalBackend, jail::Jail},
    },
    entity::{
        enums::{BackendName, SandboxStatus},
        sandbox,
    },
    error::{AppError, AppResult},
    work::CpuPool,
};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::json;

use crate::{
    both_dbs, forward_to_inner,
    helpers::{DbKind, TestApp},
};

/// A backend that refuses every create, as an unreachable provider would.
struct FailingBackend {
    inner: LocalBackend,
}

#[async_trait]
impl Lifecycle for FailingBackend {
    fn name(&self) -> BackendName {
        BackendName::Local
    }
    async fn create(&self, _: &SandboxSpec) -> AppResult<ExternalId> {
        Err(AppError::provider("the sandbox provider is unavailable", "connect: secret-internal-detail 10.1.2.3"))
    }
    async fn terminate(&self, _: &ExternalId) -> AppResult<()> {
        Ok(())
    }
    async fn destroy(&self, _: uuid::Uuid, _: &ExternalId) -> AppResult<()> {
        Ok(())
    }
    async fn forget(&self, _: uuid::Uuid) {}
    async fn status(&self, _: &ExternalId) -> AppResult<BackendStatus> {
        Ok(BackendStatus::Missing)
    }
}
forward_to_inner!(FailingBackend);

/// The real local backend, recording what it was asked to do.
struct Recording {
    inner: LocalBackend,
    calls: Mutex<Vec<String>>,
}

#[async_trait]
impl Lifecycle for Recording {
    fn name(&self) -> BackendName {
        BackendName::Local
    }
    async fn create(&self, spec: &SandboxSpec) -> AppResult<ExternalId> {
        let id = self.inner.create(spec).await?;
        self.calls.lock().unwrap().push(format!("create {id}"));
        Ok(id)
    }
    async fn terminate(&self, id: &ExternalId) -> AppResult<()> {
        self.calls.lock().unwrap().push(format!("terminate {id}"));
        self.inner.terminate(id).await
    }
    async fn destroy(&self, sandbox_id: uuid::Uuid, id: &ExternalId) -> AppResult<()> {
        self.calls.lock().unwrap().push(format!("destroy {id}"));
        self.inner.destroy(sandbox_id, id).await
    }
    async fn forget(&self, sandbox_id: uuid::Uuid) {
        self.inner.forget(sandbox_id).await
    }
    async fn status(&self, id: &ExternalId) -> AppResult<BackendStatus> {
        self.inner.status(id).await
    }
}
forward_to_inner!(Recording);

async fn backend_failure(kind: DbKind) {
    let data = tempfile::tempdir().unwrap();
    let inner = LocalBackend::new(data.path(), Jail::unjailed(), CpuPool::new(1, 0), 1_000_000);
    let app = TestApp::spawn_with(kind, |_| {}, Some(Arc::new(FailingBackend { inner }))).await;
    let (_, token) = app.new_user("erin").await;
    let (_, body) =
        app.post(Some(&token), "mutation { createSandbox(input: {name: \"doomed\"}) { id } }", json!({})).await;
    let err = &body["errors"][0];
    assert_eq!(err["extensions"]["code"], "PROVIDER_UNAVAILABLE");
    assert!(!body.to_string().contains("secret-internal-detail"), "internal detail leaked: {body}");
    assert!(err["extensions"]["requestId"].is_string());

    let list = app.ok(&token, "{ sandboxes { nodes { name status statusReason } } }", json!({})).await;
    let sb = &list["sandboxes"]["nodes"][0];
    assert_eq!(sb["name"], "doomed");
    assert_eq!(sb["status"], "ERROR");
    let reason = sb["statusReason"].as_str().unwrap();
    assert!(reason.contains("unavailable") && !reason.contains("10.1.2.3"), "reason: {reason}");
}
both_dbs!(backend_failure_leaves_error_with_reason, backend_failure);

async fn store_failure(kind: DbKind) {
    let data = tempfile::tempdir().unwrap();
    let inner = LocalBackend::new(data.path(), Jail::unjailed(), CpuPool::new(1, 0), 1_000_000);
    let backend = Arc::new(Recording { inner, calls: Mutex::new(vec![]) });
    let app = TestApp::spawn_with(kind, |_| {}, Some(backend.clone())).await;
    let (_, token) = app.new_user("frank").await;
    // Every UPDATE of a sandbox row now fails inside the database itself.
    let db = &app.services.db;
    match kind {
        DbKind::Sqlite => {
            db.execute_unprepared("CREATE TRIGGER fail_update BEFORE UPDATE ON sandboxes BEGIN SELECT RAISE(ABORT, 'injected failure'); END;")
                .await.unwrap();
        }
        DbKind::Postgres => {
            db.execute_unprepared("CREATE FUNCTION fail_update() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql")
                .await.unwrap();
            db.execute_unprepared(
                "CREATE TRIGGER fail_update BEFORE UPDATE ON sandboxes FOR EACH ROW EXECUTE FUNCTION fail_update()",
            )
            .await
            .unwrap();
        }
    }
    let (_, body) = app.post(Some(&token), "mutation { createSandbox(input: {}) { id } }", json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL_SERVER_ERROR");
    assert!(!body.to_string().contains("injected"), "database error text leaked: {body}");

    let calls = backend.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3, "{calls:?}");
    let created = calls[0].strip_prefix("create ").unwrap();
    assert_eq!(calls[1], format!("terminate {created}"), "the orphan was terminated");
    assert_eq!(calls[2], format!("destroy {created}"), "and its workspace removed");
    assert_eq!(backend.inner.status(&created.into()).await.unwrap(), BackendStatus::Missing);
    // The row never claimed RUNNING.
    let rows = sandbox::Entity::find().all(db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].status, SandboxStatus::Running);
}
both_dbs!(store_failure_after_create_terminates_backend_sandbox, store_failure);
