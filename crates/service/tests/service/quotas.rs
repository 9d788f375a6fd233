//! Quotas: one account uses at most its share of an instance's expensive work (syncs,
//! recursive walks); over it the answer is RATE_LIMITED at once, others are unaffected,
//! and the share comes back when the work ends.

use sandboxql_service::{files::FileSource, quotas::Expensive};
use sandboxql_testkit::DbKind;

use crate::{both_dbs, harness::Harness};

async fn syncs(kind: DbKind) {
    let h = Harness::with_flags(kind, &["--max-concurrent-syncs-per-account", "1"]).await;
    let (ann, bob) = (h.user("ann").await, h.user("bob").await);
    let (a, b) = (h.sandbox(&ann).await, h.sandbox(&bob).await);
    std::fs::write(h.workspace(&a).join("notes.txt"), "hello").unwrap();
    let busy = h.services.quotas.acquire(ann.account_id, Expensive::Sync).unwrap();
    let e = h.services.sync.sync(&ann, &a).await.expect_err("ann already runs her one sync");
    assert_eq!((e.code(), e.retry_after_ms()), ("RATE_LIMITED", Some(1000)));
    h.services.sync.sync(&bob, &b).await.expect("bob has his own share");
    drop(busy);
    let done = h.services.sync.sync(&ann, &a).await.expect("the share came back");
    assert_eq!(done.snapshot.file_count, 1);
}
both_dbs!(an_account_runs_its_share_of_syncs_and_no_more, syncs);

async fn walks(kind: DbKind) {
    let h = Harness::with_flags(kind, &["--max-concurrent-walks-per-account", "1"]).await;
    let ann = h.user("ann").await;
    let sb = h.sandbox(&ann).await;
    std::fs::create_dir_all(h.workspace(&sb).join("src/deep")).unwrap();
    let busy = h.services.quotas.acquire(ann.account_id, Expensive::Walk).unwrap();
    let files = &h.services.files;
    files.list(&sb, FileSource::Workspace, "", false, 10, 0).await.expect("one level is not a walk");
    let e = files.list(&sb, FileSource::Workspace, "", true, 10, 0).await.expect_err("a recursive walk is");
    assert_eq!(e.code(), "RATE_LIMITED");
    let e = files.tree(&sb, FileSource::Workspace, "", 3).await.expect_err("so is a deep tree");
    assert_eq!(e.code(), "RATE_LIMITED");
    drop(busy);
    let listing = files.list(&sb, FileSource::Workspace, "", true, 10, 0).await.unwrap();
    assert_eq!(listing.total, 2, "src and src/deep");
}
both_dbs!(recursive_walks_are_capped_per_account, walks);
