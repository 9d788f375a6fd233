//! Checkpoints of a 10,000-file workspace where a turn changed 10 files: the checkpoint's
//! time against a sync of the same workspace (cold: everything stored; and incremental),
//! and a rewind across those 10 files against restoring the whole workspace from a
//! snapshot, all in one run, on the embedded defaults (SQLite, the filesystem store, the
//! local backend).
//!
//! Run: `cargo bench --bench checkpoints`.

use std::{
    path::Path,
    time::{Duration, Instant},
};

#[path = "common.rs"]
#[allow(dead_code)]
mod common;

use sandboxql::{
    auth::Viewer,
    entity::enums::{Provider, Role},
    service::{accounts, lifecycle::CreateSandbox, sandboxes},
    startup::Application,
};

/// Files in the workspace.
const FILES: usize = 10_000;
/// Files a turn changes.
const CHANGED: usize = 10;
/// Measured rounds.
const ROUNDS: usize = 15;

fn populate(ws: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for i in 0..FILES {
        let dir = ws.join(format!("d{:03}", i / 100));
        std::fs::create_dir_all(&dir)?;
        let body = format!("file {i}\n").repeat(60 + i % 300);
        total += body.len() as u64;
        std::fs::write(dir.join(format!("f{i:05}.txt")), body)?;
    }
    Ok(total)
}

fn change(ws: &Path, round: usize) -> std::io::Result<()> {
    for k in 0..CHANGED {
        let i = (round * 997 + k * 1009) % FILES;
        let path = ws.join(format!("d{:03}/f{i:05}.txt", i / 100));
        std::fs::write(path, format!("round {round} change {k}\n").repeat(50))?;
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn e(err: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("{err:?}")
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = common::config_for(dir.path().to_path_buf());
    config.limits.checkpoints.checkpoints_keep = 1000;
    config.limits.request_timeout_ms = 600_000;
    let app = Application::build(config).await?;
    let svc = app.services.clone();
    let issued = accounts::create_account(&svc.db, "bench", Role::User, 100).await.map_err(e)?;
    let viewer = Viewer { account_id: issued.account_id, organization_id: None, role: Role::User, read_only: false };
    let input = |from_snapshot| CreateSandbox {
        provider: Provider::ClaudeCode,
        template: None,
        agent_id: None,
        name: None,
        from_snapshot,
        git: None,
        allow_partial: false,
    };
    let sb = svc.lifecycle.create(&viewer, input(None)).await.map_err(e)?;
    let ws = dir.path().join("sandboxes").join(sb.id.simple().to_string()).join("disk/workspace");
    let total = populate(&ws)?;
    println!("checkpoints: {FILES} files, {:.1} MB, {CHANGED} changed per turn, {ROUNDS} rounds", total as f64 / 1e6);
    let sb = sandboxes::require(&svc.db, &viewer, sb.id).await.map_err(e)?;

    let t = Instant::now();
    let full = svc.sync.sync(&viewer, &sb).await.map_err(e)?;
    let cold_sync = t.elapsed();
    let first = svc.checkpoints.checkpoint(&viewer, &sb).await.map_err(e)?;
    let (mut cps, mut syncs, mut ids) = (vec![], vec![], vec![first.id]);
    for round in 0..ROUNDS {
        change(&ws, round)?;
        let t = Instant::now();
        let cp = svc.checkpoints.checkpoint(&viewer, &sb).await.map_err(e)?;
        cps.push(t.elapsed());
        anyhow::ensure!(cp.changes_total == CHANGED as i64, "a turn of {CHANGED} changes lists {}", cp.changes_total);
        ids.push(cp.id);
        let t = Instant::now();
        svc.sync.sync(&viewer, &sb).await.map_err(e)?;
        syncs.push(t.elapsed());
    }
    let (cp, inc) = (median(cps.clone()), median(syncs));
    println!(
        "checkpoint:  p50 {:>7.1} ms  max {:>7.1} ms (goal < 100 ms)",
        ms(cp),
        ms(cps.iter().copied().max().unwrap_or_default())
    );
    println!(
        "sync:        cold {:>7.1} ms ({} files stored)   incremental p50 {:>7.1} ms   cold/checkpoint {:.1}x   incremental/checkpoint {:.2}x",
        ms(cold_sync),
        full.files_uploaded,
        ms(inc),
        cold_sync.as_secs_f64() / cp.as_secs_f64(),
        inc.as_secs_f64() / cp.as_secs_f64()
    );

    // Rewinds one turn back (10 files differ), against a restore of the whole workspace.
    let mut rewinds = vec![];
    for k in 0..5 {
        change(&ws, 1000 + k)?;
        let target = svc.checkpoints.require(&viewer, ids[ids.len() - 1 - k]).await.map_err(e)?;
        let t = Instant::now();
        let r = svc.checkpoints.rewind(&viewer, &sb, &target).await.map_err(e)?;
        rewinds.push(t.elapsed());
        anyhow::ensure!(r.files_written >= CHANGED as u64, "a rewind wrote {} files", r.files_written);
    }
    let rewind = median(rewinds);
    let t = Instant::now();
    svc.lifecycle.create(&viewer, input(Some(full.snapshot.id))).await.map_err(e)?;
    let restore = t.elapsed();
    println!(
        "rewind:      p50 {:>7.1} ms   full restore {:>7.1} ms   restore/rewind {:.1}x (goal >= 20x)",
        ms(rewind),
        ms(restore),
        restore.as_secs_f64() / rewind.as_secs_f64()
    );
    Ok(())
}
