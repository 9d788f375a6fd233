//! Verification throughput: `verifySnapshot` of a snapshot of 2,000 files (~100 MB) in
//! moto, in MB/s, against reading the same blobs with plain GETs (the S3 client's
//! `get_object`, 8 at a time, bodies read to the end and dropped), in the same run.
//!
//! Needs moto_server (scripts/install-test-deps.sh). Run: `cargo bench --bench scrub`.

use std::time::Instant;

#[path = "../tests/common/config.rs"]
mod common;
#[path = "moto.rs"]
#[allow(dead_code)]
mod moto;

use futures::{StreamExt, stream};
use sandboxql::{
    auth::Viewer,
    config::StorageKind,
    entity::enums::{Provider, Role},
    service::{accounts, lifecycle::CreateSandbox, sandboxes},
    startup::Application,
};

const BUCKET: &str = "bench-scrub";
/// Files in the snapshot.
const FILES: usize = 2_000;
/// Bytes of each.
const SIZE: usize = 50_000;
/// Reads in flight at once, on both sides.
const PARALLEL: usize = 8;

fn e(err: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("{err:?}")
}

fn main() -> anyhow::Result<()> {
    moto::credentials();
    tokio::runtime::Runtime::new()?.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let moto = moto::start(BUCKET).await?;
    let (endpoint, s3) = (moto.endpoint.clone(), &moto.store);

    let dir = tempfile::tempdir()?;
    let mut config = common::config_for(dir.path().to_path_buf());
    config.storage.storage = StorageKind::S3;
    config.storage.s3_bucket = Some(BUCKET.into());
    config.storage.s3_endpoint = Some(endpoint);
    config.storage.s3_path_style = true;
    config.limits.storage.verify_parallelism = PARALLEL as u64;
    config.limits.request_timeout_ms = 600_000;
    let app = Application::build(config).await?;
    let svc = app.services.clone();
    let issued = accounts::create_account(&svc.db, "bench", Role::User, 100).await.map_err(e)?;
    let viewer = Viewer { account_id: issued.account_id, organization_id: None, role: Role::User, read_only: false };
    let input = CreateSandbox {
        provider: Provider::ClaudeCode,
        template: None,
        agent_id: None,
        name: None,
        from_snapshot: None,
        git: None,
        allow_partial: false,
    };
    let sb = svc.lifecycle.create(&viewer, input).await.map_err(e)?;
    let ws = dir.path().join("sandboxes").join(sb.id.simple().to_string()).join("disk/workspace");
    for i in 0..FILES {
        let d = ws.join(format!("d{:02}", i / 100));
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join(format!("f{i:05}.bin")), moto::noise(i as u64, SIZE))?;
    }
    let sb = sandboxes::require(&svc.db, &viewer, sb.id).await.map_err(e)?;
    let snap = svc.sync.sync(&viewer, &sb).await.map_err(e)?.snapshot;
    let snap = svc.snapshots.require(&viewer, snap.id).await.map_err(e)?;
    let keys = svc.snapshots.blobs.list(&format!("accounts/{}/blobs/", issued.account_id)).await.map_err(e)?;
    let mb = (FILES * SIZE) as f64 / 1e6;
    println!("scrub: {FILES} blobs of {} KB ({mb:.0} MB) in moto_server, {PARALLEL} reads at once", SIZE / 1000);

    let (mut ours, mut plain) = (vec![], vec![]);
    for _ in 0..3 {
        let t = Instant::now();
        let v = svc.snapshots.verify_now(&snap).await.map_err(e)?;
        anyhow::ensure!(v.corrupt_total == 0 && v.blobs == FILES as u64, "{v:?}");
        ours.push(t.elapsed());
        let t = Instant::now();
        let client = s3.client().clone();
        let read = stream::iter(keys.iter().cloned())
            .map(|key| {
                let client = client.clone();
                async move {
                    let o = client.get_object().bucket(BUCKET).key(key).send().await?;
                    let body = o.body.collect().await?;
                    anyhow::Ok(body.into_bytes().len())
                }
            })
            .buffer_unordered(PARALLEL)
            .collect::<Vec<_>>()
            .await;
        anyhow::ensure!(read.iter().all(|r| r.is_ok()), "a plain GET failed");
        plain.push(t.elapsed());
    }
    ours.sort();
    plain.sort();
    let (o, p) = (ours[1], plain[1]);
    println!("verifySnapshot  {:>7.2} s  {:>6.1} MB/s", o.as_secs_f64(), mb / o.as_secs_f64());
    println!("plain GETs      {:>7.2} s  {:>6.1} MB/s", p.as_secs_f64(), mb / p.as_secs_f64());
    println!("ratio {:.2}x of plain GET throughput (goal >= 0.8x)", p.as_secs_f64() / o.as_secs_f64());
    Ok(())
}
