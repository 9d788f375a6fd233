//! A deleted sandbox's stored data goes `--purge-deleted-after-hours` after its delete:
//! snapshots, checkpoints, run events, and then the blobs only they held; another
//! sandbox's stays.

use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;

use crate::helpers::{
    DbKind, TestApp,
    runs::{claude_stream_query, collect},
    ws::WsClient,
};

/// Events stored for the runs of sandbox `id`.
async fn events_of(app: &TestApp, id: uuid::Uuid) -> u64 {
    use sandboxql::entity::{agent_run, agent_run_event};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let runs: Vec<uuid::Uuid> = agent_run::Entity::find()
        .filter(agent_run::Column::SandboxId.eq(id))
        .all(&app.services.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    agent_run_event::Entity::find()
        .filter(agent_run_event::Column::RunId.is_in(runs))
        .count(&app.services.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_sandbox_is_purged_after_the_setting_and_its_blobs_reclaimed() {
    let app = TestApp::spawn_with(
        DbKind::Sqlite,
        |c| {
            c.limits.storage.purge_deleted_after_hours = 1;
            c.limits.checkpoints.reclaim_every_secs = 1;
        },
        None,
    )
    .await;
    let (account, token) = app.new_user("gone").await;
    let (old, kept) = (app.create_sandbox(&token, "old").await, app.create_sandbox(&token, "kept").await);
    for sb in [&old, &kept] {
        app.write_file(&token, sb, "own.txt", &format!("only in {sb}\n")).await;
        app.ok(&token, "mutation($s: ID!) { syncSandbox(id: $s) { snapshot { id } } }", json!({"s": sb})).await;
        let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
        ws.subscribe("1", &claude_stream_query(), json!({"s": sb, "p": "ok"})).await;
        collect(&mut ws, "1").await;
    }
    let del = "mutation($s: ID!) { deleteSandbox(id: $s, sync: false) { id } }";
    app.ok(&token, del, json!({"s": old})).await;
    let id: uuid::Uuid = old.parse().unwrap();
    let blobs = || async {
        let prefix = format!("accounts/{account}/blobs/");
        app.services.snapshots.blobs.list(&prefix).await.unwrap().len()
    };
    assert_eq!(blobs().await, 2, "both sandboxes' files are stored");
    // An hour has not passed: nothing goes.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(app.services.snapshots.usage(account.parse().unwrap()).await.unwrap().snapshots, 2);
    // Two hours later, as the database sees it.
    let two_hours_ago = chrono::Utc::now() - chrono::Duration::hours(2);
    let am = sandboxql::entity::sandbox::ActiveModel {
        id: Set(id),
        deleted_at: Set(Some(two_hours_ago)),
        ..Default::default()
    };
    am.update(&app.services.db).await.unwrap();
    assert!(events_of(&app, id).await > 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while blobs().await != 1 {
        assert!(std::time::Instant::now() < deadline, "the purge and reclaim did not happen");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(app.services.snapshots.usage(account.parse().unwrap()).await.unwrap().snapshots, 1);
    assert_eq!(events_of(&app, id).await, 0, "its runs' events went too");
    let kept_id: uuid::Uuid = kept.parse().unwrap();
    assert!(events_of(&app, kept_id).await > 0, "the other sandbox's stay");
    let left = app
        .ok(&token, "query($s: ID!) { sandbox(id: $s) { checkpoints { id } snapshots { id } } }", json!({"s": kept}))
        .await;
    assert_eq!(left["sandbox"]["snapshots"].as_array().unwrap().len(), 1, "the other sandbox keeps its snapshot");
    assert!(!left["sandbox"]["checkpoints"].as_array().unwrap().is_empty(), "and its checkpoints");
}
