//! The Modal backend against an in-process fake of Modal's gRPC API (same `.proto`),
//! end to end through GraphQL with `--backend modal`: create, a streamed run of the
//! stand-in claude, files, sync, delete; resumable exec output; retries; no orphans.

use serde_json::{Value, json};

use crate::{
    both_dbs,
    helpers::{
        DbKind, TestApp,
        fake_modal::{FakeModal, TOKEN_ID, TOKEN_SECRET},
    },
};

pub(crate) const API_KEY: &str = "sk-ant-modal-test-key-0123456789";
pub(crate) const GATEWAY_URL: &str = "https://gateway.sandboxql.test";

pub(crate) async fn spawn(kind: DbKind, fake: &FakeModal) -> TestApp {
    spawn_tweaked(kind, fake, |_| {}).await
}

pub(crate) async fn spawn_tweaked(
    kind: DbKind,
    fake: &FakeModal,
    tweak: impl FnOnce(&mut sandboxql::config::Config),
) -> TestApp {
    let url = fake.url();
    let ca = fake.ca.pem_path();
    TestApp::spawn_with(
        kind,
        move |c| {
            c.backend = sandboxql::config::BackendKind::Modal;
            c.modal.modal_token_id = Some(sandboxql::config::Secret(TOKEN_ID.into()));
            c.modal.modal_token_secret = Some(sandboxql::config::Secret(TOKEN_SECRET.into()));
            c.modal.modal_server_url = url;
            c.modal.modal_tunnel_ca = Some(ca);
            c.modal.modal_retry_base_ms = 10;
            c.modal.modal_max_attempts = 4;
            c.gateway.anthropic_api_key = Some(sandboxql::config::Secret(API_KEY.into()));
            c.gateway.gateway_public_url = Some(GATEWAY_URL.into());
            tweak(c);
        },
        None,
    )
    .await
}

/// Where the fake keeps sandbox `sb`'s workspace: its own volume, sub-path `workspace`.
pub(crate) fn workspace(fake: &FakeModal, sb: &str) -> std::path::PathBuf {
    let vol = format!("vo-sandboxql-{}", uuid::Uuid::parse_str(sb).unwrap().simple());
    fake.root.path().join("volumes").join(vol).join("workspace")
}

pub(crate) async fn run_to_end(app: &TestApp, token: &str, sb: &str, prompt: &str) -> Value {
    let run = app.start_run(token, sb, prompt).await;
    app.wait_idle(token, sb).await;
    let q = "query($id: ID!) { run(id: $id) { status error costUsd events(first: 1000) { __typename ... on AssistantText { seq text } ... on RunFinished { seq status } } } }";
    app.ok(token, q, json!({"id": run})).await["run"].clone()
}

async fn full_flow(kind: DbKind) {
    let fake = FakeModal::start().await;
    let app = spawn(kind, &fake).await;
    let (account, token) = app.new_user("mona").await;
    let sb = app.create_sandbox(&token, "on-modal").await;
    let status = app.ok(&token, "query($id: ID!) { sandbox(id: $id) { status } }", json!({"id": sb})).await;
    assert_eq!(status["sandbox"]["status"], "RUNNING");

    // What reached Modal: tags, timeouts, the volume at the workspace, no key anywhere.
    let (create, modal_id) = {
        let st = fake.st();
        assert_eq!(st.creates.len(), 1);
        let c = st.creates[0].clone();
        (c, st.sandboxes.keys().next().unwrap().clone())
    };
    let tags: Vec<(String, String)> = create.tags.iter().map(|t| (t.tag_name.clone(), t.tag_value.clone())).collect();
    assert!(tags.contains(&("sandboxql-sandbox-id".into(), sb.clone())), "{tags:?}");
    assert!(tags.contains(&("sandboxql-account-id".into(), account.clone())), "{tags:?}");
    let def = create.definition.clone().unwrap();
    assert_eq!(def.timeout_secs, 24 * 3600);
    assert_eq!(def.idle_timeout_secs, Some(3600));
    // The sandbox's own two volumes, each mounted once (Modal's rule): the workspace and,
    // for Claude's sessions, its HOME at /mnt/home; stable names, so a retried create or
    // a wake finds them. New volumes are VolumeFS v2.
    let vol = format!("vo-sandboxql-{}", uuid::Uuid::parse_str(&sb).unwrap().simple());
    let mounts: Vec<(String, String, Option<String>)> =
        def.volume_mounts.iter().map(|m| (m.volume_id.clone(), m.mount_path.clone(), m.sub_path.clone())).collect();
    assert_eq!(
        mounts,
        [
            (vol.clone(), "/mnt/workspace".into(), Some("workspace".into())),
            (format!("{vol}-home"), "/mnt/home".into(), None)
        ]
    );
    assert_eq!(fake.st().volume_versions[&vol], 2, "a v2 volume");
    assert_eq!(def.name.as_deref(), Some(vol.trim_start_matches("vo-")));
    assert!(!format!("{create:?}").contains(API_KEY), "key in the sandbox definition");
    assert_eq!(fake.count("ImageJoinStreaming"), 1, "the image build was waited for");

    // A run streams the stand-in's output; the operator's key never reaches Modal: the
    // run's own gateway token travels in the exec's environment.
    let run = run_to_end(&app, &token, &sb, "say hello").await;
    assert_eq!(run["status"], "SUCCEEDED", "{}", run["error"]);
    let events = run["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["__typename"] == "AssistantText"), "{run}");
    let claude_exec = {
        let st = fake.st();
        st.execs_requested
            .iter()
            .find(|e| e.command_args.iter().any(|a| a.ends_with("claude-standin.py")))
            .cloned()
            .unwrap()
    };
    assert!(claude_exec.command_args.iter().all(|a| !a.contains(API_KEY) && !a.contains("sgw_")), "secret in argv");
    assert!(claude_exec.secret_ids.is_empty());
    assert!(claude_exec.env.is_empty(), "the environment travels as the official client sends it");
    let env = crate::helpers::fake_modal::exec_env(&claude_exec);
    assert!(env["ANTHROPIC_API_KEY"].starts_with("sgw_"), "the run token travels in the exec env");
    assert_eq!(env["HOME"], "/mnt/home");
    assert_eq!(fake.count("SecretGetOrCreate"), 0, "no Modal secret holds the key");
    assert!(fake.st().execs_requested.iter().all(|e| !format!("{e:?}").contains(API_KEY)));
    assert_eq!(claude_exec.command_args.last().unwrap(), "say hello", "prompt is one argv element, last");
    let home = fake.st().sandboxes[&modal_id].dir.join("home/standin-calls.jsonl");
    let call: Value = serde_json::from_str(std::fs::read_to_string(home).unwrap().lines().next().unwrap()).unwrap();
    let run_token = call["env"]["ANTHROPIC_API_KEY"].as_str().unwrap();
    assert!(run_token.starts_with("sgw_"), "{run_token}");
    assert_eq!(call["env"]["ANTHROPIC_BASE_URL"], GATEWAY_URL);
    // Git and brokered APIs reach the credential broker at the gateway's public URL.
    let rewrite = call["env"]["GIT_CONFIG_KEY_0"].as_str().unwrap();
    assert!(
        rewrite.starts_with(&format!("url.{GATEWAY_URL}/broker/")) && rewrite.ends_with("/git/.insteadOf"),
        "{rewrite}"
    );
    assert!(call["env"]["SANDBOXQL_BROKER_URL"].as_str().unwrap().starts_with(&format!("{GATEWAY_URL}/broker/")));
    assert_eq!(call["env"]["IS_SANDBOX"], "1");
    assert_eq!(call["cwd"], "/mnt/workspace");
    assert!(call["env"].get("MODAL_TOKEN_SECRET").is_none() && call["env"].get("DATABASE_URL").is_none());

    // Files: write, list, read, tree, move, delete — each one exec.
    let w = "mutation($id: ID!, $p: String!, $c: String!) { writeFile(sandboxId: $id, path: $p, content: $c) { path size isDirectory } }";
    let wrote = app.ok(&token, w, json!({"id": sb, "p": "src/weird name\nx.txt", "c": "héllo\n"})).await;
    assert_eq!(wrote["writeFile"], json!({"path": "src/weird name\nx.txt", "size": 7, "isDirectory": false}));
    app.ok(&token, w, json!({"id": sb, "p": "README.md", "c": "# readme\n"})).await;
    let files = app
        .ok(&token, "query($id: ID!) { sandbox(id: $id) { files(recursive: true) { totalCount entries { path isDirectory size } } } }", json!({"id": sb}))
        .await;
    let paths: Vec<&str> =
        files["sandbox"]["files"]["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, vec!["src", "src/weird name\nx.txt", "README.md"], "display order, dirs first");
    let read = app
        .ok(
            &token,
            "query($id: ID!, $p: String!) { sandbox(id: $id) { fileContent(path: $p) { content size truncated } } }",
            json!({"id": sb, "p": "src/weird name\nx.txt"}),
        )
        .await;
    assert_eq!(read["sandbox"]["fileContent"], json!({"content": "héllo\n", "size": 7, "truncated": false}));
    let on_disk = fake.root.path().join("volumes").join(&vol).join("workspace/README.md");
    assert_eq!(std::fs::read_to_string(on_disk).unwrap(), "# readme\n", "written into the sandbox's volume");
    let (_, escape) = app
        .post(
            Some(&token),
            "query($id: ID!) { sandbox(id: $id) { fileContent(path: \"../../etc/passwd\") { content } } }",
            json!({"id": sb}),
        )
        .await;
    assert_eq!(escape["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    // Sync reads through exec and uploads from the server.
    let sync = "mutation($id: ID!) { syncSandbox(id: $id) { filesProcessed filesUploaded snapshot { fileCount } } }";
    let stats = app.ok(&token, sync, json!({"id": sb})).await["syncSandbox"].clone();
    assert_eq!(stats["snapshot"]["fileCount"], 2, "{stats}");
    assert_eq!(stats["filesUploaded"], 2, "{stats}");

    // Delete terminates the Modal sandbox and removes both volumes after the final snapshot.
    app.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id) { id } }", json!({"id": sb})).await;
    assert!(fake.st().sandboxes[&modal_id].terminated);
    assert_eq!(fake.st().volume_deletes, vec![format!("{vol}-home"), vol.clone()]);
    // Every control-plane call carried a valid auth token; the router got only its JWT.
    assert!(fake.st().unauthenticated.is_empty(), "{:?}", fake.st().unauthenticated);
    assert!(fake.count("TaskExecStart") >= 8 && fake.count("ClientHello") == 1);
}
both_dbs!(modal_create_run_files_sync_delete, full_flow);

/// A dropped output stream is resumed from the byte offset reached: every line once; a
/// start whose answer was lost is retried with the same exec id and starts one process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_exec_stream_resumes_without_loss_or_repeat() {
    let fake = FakeModal::start().await;
    // The run's own execs only: no warm Claude started after it, no checkpoint taken.
    let app = spawn_tweaked(DbKind::Sqlite, &fake, |c| {
        c.limits.warm.warm_starts = false;
        c.limits.checkpoints.checkpoint_turns = false;
    })
    .await;
    let (_, token) = app.new_user("rex").await;
    let sb = app.create_sandbox(&token, "flaky").await;
    fake.st().drop_output_after = Some(2);
    fake.st().lose_answer.insert("TaskExecStart".into(), 1);
    let (starts, spawned) = (fake.count("TaskExecStart"), fake.st().spawned);
    let run = run_to_end(&app, &token, &sb, "[flood 900]").await;
    assert_eq!(run["status"], "SUCCEEDED", "{}", run["error"]);
    assert!(fake.st().output_drops >= 3, "the stream was dropped {} times", fake.st().output_drops);
    let mut lines: Vec<u32> = run["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["text"].as_str())
        .filter_map(|t| t.strip_prefix("line "))
        .map(|t| t.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines.len(), 900, "no line lost or repeated");
    lines.sort();
    assert_eq!(lines, (0..900).collect::<Vec<_>>());
    let st = fake.st();
    let ids: Vec<&str> =
        st.execs_requested[st.execs_requested.len() - 2..].iter().map(|e| e.exec_id.as_str()).collect();
    assert_eq!(ids[0], ids[1], "the start was retried with the same exec id");
    assert_eq!(fake_count(&st.calls, "TaskExecStart") - starts, 2, "sent twice");
    assert_eq!(st.spawned - spawned, 1, "one process");
}

/// How many calls of `method` the fake has seen.
pub(crate) fn fake_count(calls: &[String], method: &str) -> usize {
    calls.iter().filter(|c| c.as_str() == method).count()
}
