//! Snapshot sync of 10,000 files (~500 MB, mixed sizes) to a local S3-compatible server
//! (moto), full and then with 1% of the files changed, against `rclone sync` of the same
//! tree to the same server in the same run.
//!
//! Needs moto_server and rclone (scripts/install-test-deps.sh installs moto; rclone is the
//! Debian package). Run: `cargo bench --bench sync`.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

#[path = "../tests/common/config.rs"]
mod common;
#[path = "moto.rs"]
#[allow(dead_code)]
mod moto;

use sandboxql::{
    auth::Viewer,
    config::StorageKind,
    entity::enums::{Provider, Role},
    service::{accounts, sandboxes},
    startup::Application,
};

const BUCKET: &str = "bench-sync";

/// 9,000 small, 900 medium and 100 large files: about 500 MB.
fn size_of(i: usize) -> usize {
    match i % 100 {
        0 => 2_700_000,
        1..=9 => 200_000,
        _ => 1_000 + (i * 37) % 9_000,
    }
}

fn populate(ws: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for i in 0..10_000 {
        let dir = ws.join(format!("d{:03}", i / 100));
        std::fs::create_dir_all(&dir)?;
        let data = moto::noise(i as u64, size_of(i));
        total += data.len() as u64;
        std::fs::write(dir.join(format!("f{i:05}.dat")), data)?;
    }
    Ok(total)
}

fn rclone(ws: &Path, port: u16, dest: &str) -> anyhow::Result<Duration> {
    let remote = format!(
        ":s3,provider=Other,endpoint='http://127.0.0.1:{port}',access_key_id=testing,secret_access_key=testing,force_path_style=true:{BUCKET}/{dest}"
    );
    let start = Instant::now();
    let status = Command::new("rclone")
        .args(["sync", "--transfers", "8", "--checkers", "8", "--config", "/dev/null"])
        // A CA bundle from the environment makes rclone refuse a plain-http endpoint.
        .env_remove("AWS_CA_BUNDLE")
        .arg(ws)
        .arg(remote)
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "rclone failed");
    Ok(start.elapsed())
}

fn main() -> anyhow::Result<()> {
    moto::credentials();
    tokio::runtime::Runtime::new()?.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let moto = moto::start(BUCKET).await?;
    let (port, endpoint) = (moto.port, moto.endpoint.clone());

    let dir = tempfile::tempdir()?;
    let mut config = common::config_for(dir.path().to_path_buf());
    config.storage.storage = StorageKind::S3;
    config.storage.s3_bucket = Some(BUCKET.into());
    config.storage.s3_endpoint = Some(endpoint);
    config.storage.s3_path_style = true;
    let app = Application::build(config).await?;
    let svc = app.services.clone();
    let issued =
        accounts::create_account(&svc.db, "bench", Role::User, 100).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let viewer = Viewer { account_id: issued.account_id, organization_id: None, role: Role::User, read_only: false };
    let input = sandboxql::service::lifecycle::CreateSandbox {
        provider: Provider::ClaudeCode,
        template: None,
        agent_id: None,
        name: None,
        from_snapshot: None,
        git: None,
        allow_partial: false,
    };
    let sb = svc.lifecycle.create(&viewer, input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let ws = dir.path().join("sandboxes").join(sb.id.simple().to_string()).join("disk/workspace");
    let total = populate(&ws)?;
    println!(
        "sync: 10,000 files, {:.0} MB, to moto_server on localhost (8 parallel transfers each)",
        total as f64 / 1e6
    );

    let t = Instant::now();
    let sb = sandboxes::require(&svc.db, &viewer, sb.id).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let full = svc.sync.sync(&viewer, &sb).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let ours_full = t.elapsed();
    let rclone_full = rclone(&ws, port, "rclone")?;
    println!(
        "full:        sandboxql {:>7.2} s ({} files uploaded)   rclone {:>7.2} s   ratio {:.2}x (goal <= 1.2x)",
        ours_full.as_secs_f64(),
        full.files_uploaded,
        rclone_full.as_secs_f64(),
        ours_full.as_secs_f64() / rclone_full.as_secs_f64()
    );

    for i in (0..10_000).step_by(100) {
        let path = ws.join(format!("d{:03}/f{i:05}.dat", i / 100));
        std::fs::write(path, moto::noise(1_000_000 + i as u64, size_of(i + 37)))?;
    }
    let t = Instant::now();
    let inc = svc.sync.sync(&viewer, &sb).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let ours_inc = t.elapsed();
    let rclone_inc = rclone(&ws, port, "rclone")?;
    println!(
        "1% changed:  sandboxql {:>7.2} s ({} files uploaded)   rclone {:>7.2} s   rclone/sandboxql {:.2}x (goal >= 2x)",
        ours_inc.as_secs_f64(),
        inc.files_uploaded,
        rclone_inc.as_secs_f64(),
        rclone_inc.as_secs_f64() / ours_inc.as_secs_f64()
    );
    println!("incremental vs full sandboxql: {:.1}x faster", ours_full.as_secs_f64() / ours_inc.as_secs_f64());
    Ok(())
}
