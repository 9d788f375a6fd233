//! Promises within one instance: a run never starts on a deleted sandbox (and a deleted
//! sandbox leaves no process and no workspace), and a client that goes away never leaves
//! half-done work.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use sandboxql::{
    backend::{
        BackendStatus, ExternalId, Lifecycle, SandboxSpec,
        local::{LocalBackend, jail::Jail},
    },
    entity::{enums::BackendName, sandbox, snapshot},
    error::AppResult,
    work::CpuPool,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::{
    both_dbs, forward_to_inner,
    helpers::{
        DbKind, TestApp,
        process::{eventually, processes_with},
    },
};

async fn start_versus_delete(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("racer").await;
    let start = "mutation($s: ID!, $p: String!) { startRun(input: {sandboxId: $s, prompt: $p}) { id } }";
    let delete = "mutation($s: ID!) { deleteSandbox(id: $s, sync: false) { id } }";
    let (mut started, mut refused) = (0, 0);
    for i in 0..50 {
        let sb = app.create_sandbox(&token, &format!("race-{i}")).await;
        let marker = format!("race{}", uuid::Uuid::new_v4().simple());
        let prompt = format!("[hang] {marker}");
        let (run, del) = tokio::join!(
            app.post(Some(&token), start, json!({"s": sb, "p": prompt})),
            app.post(Some(&token), delete, json!({"s": sb}))
        );
        assert!(del.1["errors"].is_null(), "the delete always goes through: {}", del.1);
        match run.1["data"]["startRun"]["id"].as_str() {
            Some(_) => started += 1,
            None => {
                // CONFLICT while the delete runs; NOT_FOUND when it finished before the
                // start looked the sandbox up. Either way no run is left (checked below).
                let code = run.1["errors"][0]["extensions"]["code"].as_str().unwrap_or("");
                assert!(["CONFLICT", "NOT_FOUND"].contains(&code), "{}", run.1);
                refused += 1;
            }
        }
        let id = uuid::Uuid::parse_str(&sb).unwrap();
        let runs = sandboxql::entity::agent_run::Entity::find()
            .filter(sandboxql::entity::agent_run::Column::SandboxId.eq(id))
            .all(&app.services.db)
            .await
            .unwrap();
        assert!(
            runs.iter().all(|r| r.status != sandboxql::entity::enums::RunStatus::Running),
            "a RUNNING run on a deleted sandbox: {runs:?}"
        );
        assert!(eventually(5, || processes_with(&marker).is_empty()).await, "a process of the sandbox survived");
        assert!(!app.sandbox_dir(&sb).exists(), "the workspace is gone from disk");
    }
    println!("50 races: {started} runs started and were stopped by the delete, {refused} refused");
}
both_dbs!(start_run_racing_delete_never_leaves_a_run_or_a_process, start_versus_delete);

/// The local backend with a slow create, as a busy provider would be.
struct Slow {
    inner: LocalBackend,
}

#[async_trait]
impl Lifecycle for Slow {
    fn name(&self) -> BackendName {
        BackendName::Local
    }
    async fn create(&self, spec: &SandboxSpec) -> AppResult<ExternalId> {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        self.inner.create(spec).await
    }
    async fn terminate(&self, id: &ExternalId) -> AppResult<()> {
        self.inner.terminate(id).await
    }
    async fn destroy(&self, sandbox_id: uuid::Uuid, id: &ExternalId) -> AppResult<()> {
        self.inner.destroy(sandbox_id, id).await
    }
    async fn forget(&self, sandbox_id: uuid::Uuid) {
        self.inner.forget(sandbox_id).await
    }
    async fn status(&self, id: &ExternalId) -> AppResult<BackendStatus> {
        self.inner.status(id).await
    }
}
forward_to_inner!(Slow);

async fn dropped_create(kind: DbKind) {
    let data = tempfile::tempdir().unwrap();
    let inner = LocalBackend::new(data.path(), Jail::unjailed(), CpuPool::new(1, 0), 1_000_000);
    let app = TestApp::spawn_with(kind, |_| {}, Some(Arc::new(Slow { inner }))).await;
    let (_, token) = app.new_user("quitter").await;
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let sent = impatient
        .post(app.url())
        .bearer_auth(&token)
        .json(&json!({"query": "mutation { createSandbox(input: {name: \"dropped\"}) { id } }"}))
        .send()
        .await;
    assert!(sent.is_err(), "the client gave up before the answer");
    let mut status = None;
    for _ in 0..100 {
        let rows = sandbox::Entity::find().all(&app.services.db).await.unwrap();
        assert!(rows.len() <= 1);
        if let Some(row) = rows.first()
            && row.status != sandboxql::entity::enums::SandboxStatus::Creating
        {
            status = Some(row.status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, Some(sandboxql::entity::enums::SandboxStatus::Running), "the create finished anyway");
}
both_dbs!(a_dropped_client_does_not_leave_a_creating_sandbox, dropped_create);

async fn dropped_sync(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.new_user("quitter").await;
    let sb = app.create_sandbox(&token, "big").await;
    let ws = app.sandbox_dir(&sb).join("disk/workspace");
    for i in 0..60u8 {
        std::fs::write(ws.join(format!("f{i}.bin")), vec![i; 1_000_000]).unwrap();
    }
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    let sent = impatient
        .post(app.url())
        .bearer_auth(&token)
        .json(&json!({"query": "mutation($id: ID!) { syncSandbox(id: $id) { snapshot { id } } }", "variables": {"id": sb}}))
        .send()
        .await;
    assert!(sent.is_err(), "the client gave up before the answer");
    // The sync finishes (its lease is released) and leaves a whole snapshot.
    let id = uuid::Uuid::parse_str(&sb).unwrap();
    let mut released = false;
    // However busy the machine (the suite runs floods beside it): it must end, not be quick.
    for _ in 0..1200 {
        let row = sandbox::Entity::find_by_id(id).one(&app.services.db).await.unwrap().unwrap();
        if row.lease_owner.is_none() {
            released = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(released, "the sync ended");
    let snaps =
        snapshot::Entity::find().filter(snapshot::Column::SandboxId.eq(id)).all(&app.services.db).await.unwrap();
    assert_eq!(snaps.len(), 1, "the sync completed in spite of the dropped client");
    assert_eq!(snaps[0].file_count, 60);
    let q = "query($id: ID!) { sandbox(id: $id) { files(source: SNAPSHOT) { totalCount } fileContent(source: SNAPSHOT, path: \"f7.bin\", maxBytes: 4) { size } } }";
    let got = app.ok(&token, q, json!({"id": sb})).await;
    assert_eq!(got["sandbox"]["files"]["totalCount"], 60);
    assert_eq!(got["sandbox"]["fileContent"]["size"], 1_000_000, "its blobs are all there");
}
both_dbs!(a_dropped_client_does_not_leave_half_a_snapshot, dropped_sync);
