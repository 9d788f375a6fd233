//! Every CONFLICT reason, provoked the way a client would run into it (the ones about
//! runs' input are in `inputs`, LEASE_HELD in `leases`).

use sandboxql_core::error::{AppError, reasons};
use sandboxql_entity::{enums::SandboxStatus, now, sandbox};
use sandboxql_service::{
    accounts::{self, Actor, NewAccount},
    auth::Viewer,
    runs::StartRun,
    sandboxes::{self, VisibleSandbox},
};
use sandboxql_storage::{BlobStore, fs::FsBlobStore};
use sandboxql_testkit::DbKind;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};

use crate::{both_dbs, harness::Harness};

fn conflict(e: AppError) -> Option<&'static str> {
    assert_eq!(e.code(), "CONFLICT", "{e:?}");
    e.reason()
}

/// Changes the sandbox's row and looks it up again, as the next request would.
async fn set(
    h: &Harness,
    viewer: &Viewer,
    sb: &VisibleSandbox,
    change: impl FnOnce(&mut sandbox::ActiveModel),
) -> VisibleSandbox {
    let mut am = sandbox::Entity::find_by_id(sb.id).one(&h.db).await.unwrap().unwrap().into_active_model();
    change(&mut am);
    am.update(&h.db).await.unwrap();
    sandboxes::require(&h.db, viewer, sb.id).await.unwrap()
}

fn prompt() -> StartRun {
    StartRun {
        prompt: "hello".into(),
        model: None,
        max_turns: None,
        permission_mode: sandboxql_entity::enums::RunPermissionMode::Bypass,
        interactive: false,
    }
}

async fn not_running(kind: DbKind) {
    let h = Harness::new(kind).await;
    let ann = h.user("ann").await;
    let sb = h.sandbox(&ann).await;
    let stale = sb.clone();
    let stopped = set(&h, &ann, &sb, |am| am.status = Set(SandboxStatus::Terminated)).await;
    let e = h.services.files.write(&stopped, "a.txt", b"x".to_vec()).await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::NOT_RUNNING));
    let e = h.services.runs.start(&ann, &stale, prompt()).await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::NOT_RUNNING), "a run checks the row as it is at start");
}
both_dbs!(a_sandbox_that_is_not_running_takes_no_writes_or_runs, not_running);

async fn run_active(kind: DbKind) {
    let h = Harness::new(kind).await;
    let ann = h.user("ann").await;
    let sb = h.sandbox(&ann).await;
    h.running_run(&sb, false).await;
    let e = h.services.runs.start(&ann, &sb, prompt()).await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::RUN_ACTIVE), "the one-running-run index, by its name");
}
both_dbs!(a_second_run_in_a_sandbox_is_run_active, run_active);

async fn asleep(kind: DbKind) {
    let h = Harness::with_flags(kind, &["--wake-wait-secs", "1"]).await;
    let ann = h.user("ann").await;
    let sb = h.sandbox(&ann).await;
    let sb = set(&h, &ann, &sb, |am| {
        am.status = Set(SandboxStatus::Sleeping);
        am.lease_owner = Set(Some("another-instance#1".into()));
        am.lease_kind = Set(Some("wake".into()));
        am.lease_until = Set(Some(now() + chrono::Duration::seconds(60)));
    })
    .await;
    let e = h.services.files.write(&sb, "a.txt", b"x".to_vec()).await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::SANDBOX_ASLEEP), "another instance is still waking it");
}
both_dbs!(a_write_to_a_sandbox_another_is_waking_is_sandbox_asleep, asleep);

async fn no_workspace(kind: DbKind) {
    let h = Harness::new(kind).await;
    let ann = h.user("ann").await;
    let sb = h.sandbox(&ann).await;
    let sb = set(&h, &ann, &sb, |am| am.external_id = Set(None)).await;
    let e = h.services.files.write(&sb, "a.txt", b"x".to_vec()).await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::NO_WORKSPACE));
}
both_dbs!(a_sandbox_without_a_workspace_is_no_workspace, no_workspace);

async fn too_many_entries(kind: DbKind) {
    let h = Harness::with_flags(kind, &["--max-snapshot-entries", "3"]).await;
    let ann = h.user("ann").await;
    let sb = h.sandbox(&ann).await;
    for i in 0..5 {
        std::fs::write(h.workspace(&sb).join(format!("f{i}")), "x").unwrap();
    }
    let e = h.services.sync.sync(&ann, &sb).await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::TOO_MANY_ENTRIES), "no snapshot that silently lacks files");
}
both_dbs!(a_workspace_over_the_snapshot_entry_limit_is_too_many_entries, too_many_entries);

async fn paths(kind: DbKind) {
    let h = Harness::with_flags(kind, &["--max-delete-steps", "3"]).await;
    let sb = h.sandbox(&h.user("ann").await).await;
    let files = &h.services.files;
    files.write(&sb, "a.txt", b"a".to_vec()).await.unwrap();
    files.write(&sb, "b.txt", b"b".to_vec()).await.unwrap();
    let e = files.move_path(&sb, "a.txt", "b.txt").await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::ALREADY_EXISTS));
    for i in 0..10 {
        files.write(&sb, &format!("dir/f{i}"), b"x".to_vec()).await.unwrap();
    }
    let e = files.delete_path(&sb, "dir", false).await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::NOT_EMPTY));
    let e = files.delete_path(&sb, "dir", true).await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::KEEPS_CHANGING), "more removals than maxDeleteSteps");
}
both_dbs!(path_clashes_say_which_one, paths);

async fn account_exists(kind: DbKind) {
    let h = Harness::new(kind).await;
    let new = || NewAccount {
        name: "Ann".into(),
        role: sandboxql_entity::enums::Role::User,
        organization_id: None,
        external_id: Some("idp|ann".into()),
    };
    accounts::create(&h.db, Actor::Operator, new(), 200).await.unwrap();
    let e = accounts::create(&h.db, Actor::Operator, new(), 200).await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::ALREADY_EXISTS), "the externalId index, by its name");
}
both_dbs!(a_second_account_with_one_external_id_is_already_exists, account_exists);

async fn out_of_space(kind: DbKind) {
    let dir = tempfile::tempdir().unwrap();
    let sandboxes = dir.path().join("sandboxes");
    std::fs::create_dir_all(&sandboxes).unwrap();
    let _mount = Tmpfs::mount(&sandboxes, "512k");
    let h = Harness::in_dir(kind, &[], dir).await;
    let sb = h.sandbox(&h.user("ann").await).await;
    let e = h.services.files.write(&sb, "big.bin", vec![7u8; 1024 * 1024]).await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::OUT_OF_SPACE));
}
both_dbs!(a_full_workspace_disk_is_out_of_space, out_of_space);

async fn changed_while_stored(_: DbKind) {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path());
    let body: sandboxql_storage::Upload = Box::pin(std::io::Cursor::new(b"hello".to_vec()));
    let sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    let e = store.put_verified("blobs/x", body, 6, sha).await.err().unwrap();
    assert_eq!(conflict(e), Some(reasons::CHANGED_WHILE_STORED), "5 bytes read where 6 were announced");
    assert!(store.get_prefix("blobs/x", 10).await.is_err(), "nothing was stored");
}
both_dbs!(a_file_that_changed_while_stored_is_changed_while_stored, changed_while_stored);

/// A size-limited tmpfs for the duration of a test. Needs root (the test suite runs as
/// root); without it the test fails loudly rather than passing without a full disk.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &std::path::Path, size: &str) -> Self {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("run mount");
        assert!(ok.success(), "mounting a tmpfs needs root: this test cannot run without a disk that fills up");
        Self(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
