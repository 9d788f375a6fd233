//! `deleteAccount` with the Modal backend (the fake speaking Modal's gRPC API): the
//! account's Modal sandboxes end and both volumes of each go, a deleted sandbox's
//! included, while another account's sandbox and volumes stay.

use serde_json::json;

use crate::{
    helpers::{DbKind, fake_modal::FakeModal},
    modal_backend::spawn,
};

fn volume_of(sb: &str) -> String {
    format!("vo-sandboxql-{}", uuid::Uuid::parse_str(sb).unwrap().simple())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_an_account_removes_its_modal_sandboxes_and_volumes_only() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (doomed, token) = app.new_user("doomed").await;
    let (_, other) = app.new_user("other").await;
    let (live, gone) = (app.create_sandbox(&token, "live").await, app.create_sandbox(&token, "gone").await);
    let kept = app.create_sandbox(&other, "kept").await;
    for (t, sb) in [(&token, &live), (&token, &gone), (&other, &kept)] {
        let content = if sb == &kept { "stored\n".to_string() } else { format!("doomed-secret-of-{sb}\n") };
        app.write_file(t, sb, "a.txt", &content).await;
        app.ok(t, "mutation($s: ID!) { syncSandbox(id: $s) { snapshot { id } } }", json!({"s": sb})).await;
    }
    app.ok(&token, "mutation($s: ID!) { deleteSandbox(id: $s, sync: false) { id } }", json!({"s": gone})).await;
    let live_task = fake.st().sandboxes.iter().find(|(_, s)| !s.terminated).map(|(id, _)| id.clone());
    assert!(live_task.is_some());

    let del = "mutation($id: ID!) { deleteAccount(id: $id) { stage } }";
    app.ok(&app.admin_token, del, json!({"id": doomed})).await;
    let watch = "query($id: ID!) { accountErasure(id: $id) { stage } }";
    let mut stage = json!(null);
    for _ in 0..200 {
        stage = app.ok(&app.admin_token, watch, json!({"id": doomed})).await["accountErasure"]["stage"].clone();
        if stage == "DONE" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stage, "DONE");

    {
        let st = fake.st();
        for sb in [&live, &gone] {
            let vol = volume_of(sb);
            assert!(!st.volumes.keys().any(|v| v.starts_with(&vol)), "{vol} is left: {:?}", st.volumes.keys());
            assert!(!fake.root.path().join("volumes").join(&vol).exists());
        }
        let kept_vol = volume_of(&kept);
        assert!(st.volumes.keys().any(|v| v == &kept_vol), "the other account's volume stays");
        let running: Vec<_> = st.sandboxes.values().filter(|s| !s.terminated).collect();
        assert_eq!(running.len(), 1, "only the other account's Modal sandbox still runs");
    }
    // The database file keeps the audit record (the account's id); nothing else may.
    let mut needles = vec!["doomed-secret-of-".to_string()];
    for sb in [&live, &gone] {
        needles.extend([sb.to_string(), uuid::Uuid::parse_str(sb).unwrap().simple().to_string()]);
    }
    // The database's log is truncated just after the erasure commits.
    let mut left = Vec::new();
    for _ in 0..50 {
        left = super::erase::files_naming(app.data_dir.path(), &needles);
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(left.is_empty(), "{left:#?}");
    let outside_db: Vec<String> = super::erase::files_naming(app.data_dir.path(), std::slice::from_ref(&doomed))
        .into_iter()
        .filter(|p| !p.contains("sandboxql.db"))
        .collect();
    assert!(outside_db.is_empty(), "{outside_db:#?}");
    let v = app
        .ok(
            &other,
            "query($s: ID!) { sandbox(id: $s) { fileContent(path: \"a.txt\") { content } } }",
            json!({"s": kept}),
        )
        .await;
    assert_eq!(v["sandbox"]["fileContent"]["content"], "stored\n");
}
