//! A sandbox made before the volume split (one v1 volume, made without a version, holding
//! `workspace/` and `home/`, mounted twice) keeps working: while it sleeps its files are
//! listed with the v1 call; its next wake first moves `home/` onto its own home volume in
//! a short-lived Modal sandbox (the old volume mounted once, at its root; no network),
//! then starts it with each volume mounted once, and Claude resumes its session from the
//! moved HOME.

use serde_json::{Value, json};

use crate::{
    helpers::{DbKind, fake_modal::FakeModal},
    modal_backend::{spawn, workspace},
};

/// `GenericStatus::IdleTimeout` in Modal's API.
const IDLE_TIMEOUT: i32 = 7;

const RUN: &str = "query($id: ID!) { run(id: $id) { status error claudeSessionId } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_from_before_the_split_moves_its_home_once_and_resumes() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("elder").await;
    let sb = app.create_sandbox(&token, "old-layout").await;
    let write = "mutation($id: ID!) { writeFile(sandboxId: $id, path: \"kept.txt\", content: \"kept\") { size } }";
    app.ok(&token, write, json!({"id": sb})).await;
    let first = app.start_run(&token, &sb, "first").await;
    app.wait_idle(&token, &sb).await;
    let first = app.ok(&token, RUN, json!({"id": first})).await["run"].clone();
    assert_eq!(first["status"], "SUCCEEDED", "{first}");
    let modal_id = fake.st().sandboxes.keys().next().unwrap().clone();
    fake.end_sandbox(&modal_id, IDLE_TIMEOUT);

    // Turn it into what an earlier release made: one unversioned volume, HOME in `home/`.
    let ws_root = workspace(&fake, &sb).parent().unwrap().to_path_buf();
    let ws_vol = ws_root.file_name().unwrap().to_str().unwrap().to_string();
    let home_vol = format!("{ws_vol}-home");
    let home_dir = ws_root.parent().unwrap().join(&home_vol);
    std::fs::rename(&home_dir, ws_root.join("home")).unwrap();
    {
        let mut st = fake.st();
        st.volumes.remove(&home_vol);
        st.volume_versions.remove(&home_vol);
        st.volume_versions.insert(ws_vol.clone(), 0);
    }
    let app = app.restart().await; // forgets what it knew of the volumes

    // Asleep, its files are listed at rest with the v1 call (the fake refuses the other).
    let q = "query($id: ID!) { sandbox(id: $id) { files { entries { path } } } }";
    let files = app.ok(&token, q, json!({"id": sb})).await["sandbox"]["files"].clone();
    assert_eq!(files, json!({"entries": [{"path": "kept.txt"}]}));
    let status = app.ok(&token, "query($id: ID!) { sandbox(id: $id) { status } }", json!({"id": sb})).await;
    assert_eq!(status["sandbox"]["status"], "SLEEPING", "{status}");
    assert!(fake.count("VolumeListFiles") >= 1, "{:?}", fake.st().calls);

    // The wake moves HOME first, then starts the sandbox on both volumes.
    let second = app.start_run(&token, &sb, "second").await;
    app.wait_idle(&token, &sb).await;
    let second = app.ok(&token, RUN, json!({"id": second})).await["run"].clone();
    assert_eq!(second["status"], "SUCCEEDED", "{second}");
    assert_eq!(second["claudeSessionId"], first["claudeSessionId"], "the same Claude session");
    let creates = fake.st().creates.clone();
    assert_eq!(creates.len(), 3, "the first create, the move and the wake");
    let mv = creates[1].definition.clone().unwrap();
    let mounts: Vec<(String, String, Option<String>)> =
        mv.volume_mounts.iter().map(|m| (m.volume_id.clone(), m.mount_path.clone(), m.sub_path.clone())).collect();
    assert_eq!(mounts, [(ws_vol.clone(), "/mnt/old".into(), None), (home_vol.clone(), "/mnt/home".into(), None)]);
    assert_eq!(mv.network_access.unwrap().network_access_type, 2, "the move reaches no network");
    let wake = creates[2].definition.clone().unwrap();
    assert_eq!(wake.volume_mounts.len(), 2);
    assert!(!ws_root.join("home").exists(), "the old home/ is gone from the workspace volume");
    let calls = std::fs::read_to_string(home_dir.join("standin-calls.jsonl")).unwrap();
    // The runs' records (a warm Claude waiting for a prompt has no `--` argument).
    let calls: Vec<Value> = calls
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|c| c["argv"].as_array().unwrap().iter().any(|a| a == "--"))
        .collect();
    assert_eq!(calls.len(), 2, "both runs' records, in the moved HOME");

    // Moved once: the next wake starts the sandbox directly.
    let id = fake.st().sandboxes.iter().find(|(_, s)| !s.terminated).map(|(k, _)| k.clone()).unwrap();
    fake.end_sandbox(&id, IDLE_TIMEOUT);
    let third = app.start_run(&token, &sb, "third").await;
    app.wait_idle(&token, &sb).await;
    let third = app.ok(&token, RUN, json!({"id": third})).await["run"].clone();
    assert_eq!(third["status"], "SUCCEEDED", "{third}");
    assert_eq!(fake.st().creates.len(), 4, "no second move");
}
