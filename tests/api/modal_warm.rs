//! Warm starts on Modal: after a run the next one's Claude waits in an exec kept open
//! through the task command router, behind a wrapper that gives up by itself (so a
//! server that dies leaves nothing waiting); the next run takes it over with the same
//! session, and its token is the one that exec was started with.

use serde_json::json;

use crate::{
    helpers::{
        DbKind,
        fake_modal::{FakeModal, exec_env},
    },
    modal_backend::spawn,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_run_on_modal_takes_over_a_warm_exec() {
    let fake = FakeModal::start().await;
    let app = spawn(DbKind::Sqlite, &fake).await;
    let (_, token) = app.new_user("modal-warm").await;
    let sb = app.create_sandbox(&token, "warm").await;
    let q = "query($id: ID!) { run(id: $id) { status claudeSessionId } }";
    let first = app.start_run(&token, &sb, "first").await;
    app.wait_idle(&token, &sb).await;
    let first = app.ok(&token, q, json!({"id": first})).await["run"].clone();
    assert_eq!(first["status"], "SUCCEEDED", "{first}");
    let warm = |fake: &FakeModal| {
        let st = fake.st();
        st.execs_requested.iter().rev().find(|e| e.command_args.iter().any(|a| a == "--input-format")).cloned()
    };
    assert!(crate::helpers::process::eventually(10, || warm(&fake).is_some()).await, "a warm exec started");
    let w = warm(&fake).unwrap();
    // Wrapped so it gives up by itself; the session resumed; no prompt in its argv.
    assert!(w.command_args.windows(2).any(|a| a == ["bash", "-c"]), "{:?}", w.command_args);
    let session = first["claudeSessionId"].as_str().unwrap();
    assert!(w.command_args.windows(2).any(|a| a == ["--resume", session]));
    assert!(!w.command_args.contains(&"--".to_string()));
    let key = exec_env(&w)["ANTHROPIC_API_KEY"].clone();

    let starts = fake.count("TaskExecStart");
    let second = app.start_run(&token, &sb, "second").await;
    app.wait_idle(&token, &sb).await;
    let got = app.ok(&token, q, json!({"id": second})).await["run"].clone();
    assert_eq!(got["status"], "SUCCEEDED", "{got}");
    assert_eq!(got["claudeSessionId"], session);
    let simple = uuid::Uuid::parse_str(&second).unwrap().simple().to_string();
    assert!(key.starts_with(&format!("sgw_{simple}_")), "the run is the warm exec");
    // The only exec started since is the next warm one.
    let since: Vec<_> = fake.st().execs_requested.iter().skip(starts).cloned().collect();
    assert!(since.iter().all(|e| !e.command_args.contains(&"--".to_string())), "no cold start");

    // The second run's own Claude waits for the third: it runs there, no exec started.
    let id = uuid::Uuid::parse_str(&sb).unwrap();
    let kept = || app.services.runs.manager.warm.kept_from_a_run(id);
    assert!(crate::helpers::process::eventually(10, kept).await, "the run's exec is kept");
    let claudes = |fake: &FakeModal| {
        fake.st().execs_requested.iter().filter(|e| e.command_args.iter().any(|a| a == "--input-format")).count()
    };
    let before = claudes(&fake);
    let third = app.start_run(&token, &sb, "third").await;
    app.wait_idle(&token, &sb).await;
    let got = app.ok(&token, q, json!({"id": third})).await["run"].clone();
    assert_eq!(got["status"], "SUCCEEDED", "{got}");
    assert_eq!(got["claudeSessionId"], session);
    assert_eq!(claudes(&fake), before, "the third run started no claude");
}

/// The environment of a `sandboxql serve` on the fake Modal, plus `extra`.
fn modal_server(fake: &FakeModal, dir: &std::path::Path, extra: &[(&str, &str)]) -> crate::helpers::process::Served {
    use crate::{
        helpers::fake_modal::{TOKEN_ID, TOKEN_SECRET},
        modal_backend::{API_KEY, GATEWAY_URL},
    };
    let (url, ca) = (fake.url(), fake.ca.pem_path().display().to_string());
    let claude = crate::helpers::standin_claude();
    let mut envs = vec![
        ("CLAUDE_BIN", claude.as_str()),
        ("SANDBOXQL_BACKEND", "modal"),
        ("MODAL_TOKEN_ID", TOKEN_ID),
        ("MODAL_TOKEN_SECRET", TOKEN_SECRET),
        ("MODAL_SERVER_URL", url.as_str()),
        ("SANDBOXQL_MODAL_TUNNEL_CA", ca.as_str()),
        ("SANDBOXQL_MODAL_RETRY_BASE_MS", "10"),
        ("ANTHROPIC_API_KEY", API_KEY),
        ("SANDBOXQL_GATEWAY_PUBLIC_URL", GATEWAY_URL),
    ];
    envs.extend_from_slice(extra);
    crate::helpers::process::serve(dir, &[], &envs)
}

/// The Modal execs still running.
fn running(fake: &FakeModal) -> Vec<std::sync::Arc<crate::helpers::fake_modal_exec::FakeExec>> {
    let st = fake.st();
    st.execs.values().filter(|e| e.exit.lock().unwrap().is_none()).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_claude_on_modal_ends_by_itself_when_its_server_is_killed() {
    use crate::helpers::remote::{create, start, wait_done};
    let fake = FakeModal::start().await;
    let dir = tempfile::tempdir().unwrap();
    let served = modal_server(&fake, dir.path(), &[]);
    let token = served.token.clone().unwrap();
    let sb = create(&served.addr, &token).await;
    for prompt in ["first", "second"] {
        let run = start(&served.addr, &token, &sb, prompt).await;
        let done = wait_done(&served.addr, &token, &run).await;
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
    }
    // The second run's Claude is kept, and the server's heartbeats reach its input.
    let waiting = || running(&fake).len() == 1;
    assert!(crate::helpers::process::eventually(10, waiting).await, "one exec waits: the kept claude");
    let kept = running(&fake).pop().unwrap();
    let written = *kept.stdin_written.lock().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert!(*kept.stdin_written.lock().unwrap() > written, "heartbeats arrive while it waits");
    assert!(kept.exit.lock().unwrap().is_none(), "it waits on");

    // The server dies outright: nothing closes its input, but it ends by itself.
    served.kill9();
    let ended = || kept.exit.lock().unwrap().is_some();
    assert!(crate::helpers::process::eventually(40, ended).await, "the kept claude ended without its server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_modal_a_run_asked_of_another_instance_goes_to_the_warm_exec_where_it_waits() {
    use crate::{
        helpers::{
            db,
            remote::{create, start, wait_done},
        },
        hosts::{held_warm, runner_of},
    };
    let (fake, db_url) = (FakeModal::start().await, db::fresh_postgres().await);
    let node = |name: &str| {
        let dir = tempfile::tempdir().unwrap();
        let extra = [
            ("DATABASE_URL", db_url.as_str()),
            ("SANDBOXQL_INSTANCE_ID", name),
            ("SANDBOXQL_INTERNAL_LISTEN", "127.0.0.1:0"),
            ("SANDBOXQL_INTERNAL_SECRET", "an-internal-secret-of-at-least-32-bytes!"),
        ];
        (modal_server(&fake, dir.path(), &extra), dir)
    };
    let ((a, _da), (b, _db)) = (node("instance-a"), node("instance-b"));
    let token = a.token.clone().or_else(|| b.token.clone()).unwrap();
    let sb = create(&a.addr, &token).await;
    let first = start(&a.addr, &token, &sb, "first").await;
    assert_eq!(wait_done(&a.addr, &token, &first).await["status"], "SUCCEEDED");
    let holder = held_warm(&db_url, &sb).await;
    assert_eq!(holder.as_deref(), Some("instance-a"), "A holds the warm exec");
    let claudes = |fake: &FakeModal| {
        fake.st().execs_requested.iter().filter(|e| e.command_args.iter().any(|a| a == "--input-format")).count()
    };
    let before = claudes(&fake);
    let second = start(&b.addr, &token, &sb, "second").await;
    let done = wait_done(&b.addr, &token, &second).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(runner_of(&db_url, &second).await, "instance-a", "handed to the warm exec's instance");
    assert_eq!(claudes(&fake), before, "no claude was started for it");
}
