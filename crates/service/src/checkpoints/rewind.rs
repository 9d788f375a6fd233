//! Rewinding a sandbox to a checkpoint: the workspace is walked against the checkpoint's
//! manifest in display order and only what differs is written (a file whose size and
//! mtime match is not even read), then the session is put back as it stood and the next
//! run resumes at that message, forking the session there so later turns are not seen.
//! Refused while a run is active; no run can start while it works (the rewind lease).

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

use super::{Checkpoints, VisibleCheckpoint, session};
use crate::{
    auth::Viewer,
    backend::{
        ExternalId,
        files::{WalkChunk, WalkOptions, WorkspacePath},
    },
    entity::{
        agent_run,
        change_log::{self, Change},
        enums::RunStatus,
        now, sandbox,
    },
    error::{AppError, AppResult, reasons},
    lifecycle::{
        leases::LeaseKind,
        restore_archive::{Entries, extract},
    },
    sandboxes::VisibleSandbox,
    snapshots::{manifest::ManifestEntry, storage_error},
    storage, work,
};

/// What a rewind did.
#[derive(Debug, Clone)]
pub struct RewindOutcome {
    /// The sandbox as it is now.
    pub sandbox: sandbox::Model,
    /// Files and links written back.
    pub files_written: u64,
    /// Paths removed.
    pub paths_deleted: u64,
    /// Wall time.
    pub duration_ms: u64,
}

/// One step of bringing the workspace to the checkpoint.
enum Step {
    Delete(WorkspacePath),
    Make(ManifestEntry),
    Mode(WorkspacePath, u32),
}

impl Checkpoints {
    /// Rewinds `sb` to checkpoint `cp` (of the same sandbox): CONFLICT `RUN_ACTIVE` while
    /// a run is active. Runs in its own task, so a client that goes away does not leave a
    /// half-rewound workspace behind a still-held lease.
    pub async fn rewind(
        &self,
        viewer: &Viewer,
        sb: &VisibleSandbox,
        cp: &VisibleCheckpoint,
    ) -> AppResult<RewindOutcome> {
        viewer.require_writer()?;
        if cp.sandbox_id != sb.id {
            return Err(AppError::NotFound("checkpoint"));
        }
        let (this, viewer, sb, cp) = (self.clone(), viewer.clone(), sb.clone(), cp.clone());
        work::detached(async move {
            let started = std::time::Instant::now();
            let sb = this.sync.waker.awake(&sb).await?;
            let lease = this.sync.leases.acquire(sb.id, LeaseKind::Rewind).await?;
            let done = this.rewind_under_lease(&sb, &cp).await;
            lease.release().await;
            let (written, deleted) = done?;
            let row = sandbox::Entity::find_by_id(sb.id).one(&this.db).await?.ok_or(AppError::NotFound("sandbox"))?;
            let change =
                Change { actor: Some(viewer.account_id), entity: "sandboxes", entity_id: sb.id, action: "rewind" };
            change_log::record(&this.db, change, None::<&()>, Some(&*cp)).await?;
            let duration_ms = started.elapsed().as_millis() as u64;
            Ok(RewindOutcome { sandbox: row, files_written: written, paths_deleted: deleted, duration_ms })
        })
        .await
    }

    async fn rewind_under_lease(&self, sb: &VisibleSandbox, cp: &VisibleCheckpoint) -> AppResult<(u64, u64)> {
        let active = agent_run::Entity::find()
            .filter(agent_run::Column::SandboxId.eq(sb.id))
            .filter(agent_run::Column::Status.eq(RunStatus::Running))
            .count(&self.db)
            .await?;
        if active > 0 {
            return Err(AppError::conflict_because(
                reasons::RUN_ACTIVE,
                "a run is active in this sandbox; cancel it or wait for it to end before rewinding",
            ));
        }
        let inside = self.sync.gate.enter(sb.account_id).await?;
        let ext = sb.external_id()?;
        let steps = self.plan(sb, &ext, cp).await?;
        let counts = self.apply(sb, &ext, steps).await?;
        if let (Some(key), Some(path)) = (&cp.session_key, &cp.session_path) {
            let body = self.sync.snapshots.blobs.get_stream(key).await.map_err(storage_error)?;
            session::install(self.backend.as_ref(), &ext, path, body).await?;
        }
        inside.leave().await;
        self.manager.warm.discard(&self.db, sb.id);
        let am = sandbox::ActiveModel {
            id: Set(sb.id),
            claude_session_id: Set(cp.session_id.clone()),
            claude_resume_at: Set(cp.session_id.as_ref().and(cp.resume_at.clone())),
            updated_at: Set(now()),
            ..Default::default()
        };
        am.update(&self.db).await?;
        Ok(counts)
    }

    /// What to change: the workspace's walk merged with the checkpoint's manifest.
    async fn plan(&self, sb: &VisibleSandbox, ext: &ExternalId, cp: &VisibleCheckpoint) -> AppResult<Vec<Step>> {
        let mut target = self.sync.snapshots.cursor(&cp.files()).await?.collecting();
        let limits = &self.limits;
        let max_entries = limits.max_snapshot_entries as usize;
        let opts = WalkOptions { max_depth: u32::MAX, depth_cap: limits.max_walk_depth as u32, max_entries };
        let mut walk = self.backend.walk_stream(ext, &WorkspacePath::root(), opts).await?;
        let mut steps = Vec::new();
        let make = |steps: &mut Vec<Step>, passed: Vec<ManifestEntry>| steps.extend(passed.into_iter().map(Step::Make));
        loop {
            let entries = match walk.recv().await {
                Some(Ok(WalkChunk::Entries(entries))) => entries,
                Some(Ok(WalkChunk::Done { truncated: false, .. })) => break,
                Some(Ok(WalkChunk::Done { truncated: true, .. })) => {
                    return Err(AppError::conflict_because(
                        reasons::TOO_MANY_ENTRIES,
                        format!("the workspace holds more than {max_entries} entries"),
                    ));
                }
                Some(Err(e)) => return Err(e),
                None => return Err(AppError::Internal(anyhow::anyhow!("the walk ended without a result"))),
            };
            for entry in entries {
                let Some(now) = ManifestEntry::from_entry(&entry) else { continue };
                let looked = target.lookup(&now).await?;
                make(&mut steps, target.take_passed());
                let Some(want) = looked.before else {
                    steps.push(Step::Delete(entry.path));
                    continue;
                };
                let same_kind = want.kind == now.kind;
                let differs = match want.kind.as_str() {
                    _ if !same_kind => true,
                    "file" if looked.reuse.is_some() => false,
                    "file" if want.size != now.size => true,
                    "file" => {
                        self.backend.hash_file(ext, &entry.path).await?.0 != want.sha256.clone().unwrap_or_default()
                    }
                    "symlink" => want.target != now.target,
                    _ => false,
                };
                if differs {
                    if !same_kind || want.kind == "symlink" {
                        steps.push(Step::Delete(entry.path.clone()));
                    }
                    steps.push(Step::Make(want));
                } else if want.mode != now.mode {
                    steps.push(Step::Mode(entry.path, want.mode));
                }
            }
        }
        target.finish().await?;
        make(&mut steps, target.take_passed());
        let _ = sb;
        Ok(steps)
    }

    /// Carries out the steps: removals deepest first, then what is made in display order,
    /// then directory modes deepest first (a read-only directory must not block its own
    /// contents).
    async fn apply(&self, sb: &VisibleSandbox, ext: &ExternalId, steps: Vec<Step>) -> AppResult<(u64, u64)> {
        let (b, blobs) = (&self.backend, &self.sync.snapshots.blobs);
        let (mut written, mut deleted, mut modes) = (0u64, 0u64, Vec::new());
        for s in steps.iter().rev() {
            if let Step::Delete(path) = s {
                match b.delete_path(ext, path, true).await {
                    Ok(()) | Err(AppError::NotFound(_)) => deleted += 1,
                    Err(e) => return Err(e),
                }
            }
        }
        // Where each command is a round trip (Modal), what is made goes as one archive, the
        // way a restore does.
        if let Some(bulk) = b.bulk() {
            let mut made = Vec::new();
            for s in steps {
                match s {
                    Step::Make(e) => {
                        written += (e.kind != "dir") as u64;
                        made.push(e);
                    }
                    Step::Mode(path, mode) => modes.push((path, mode)),
                    Step::Delete(_) => {}
                }
            }
            let made = Entries::Listed(made.into_iter());
            extract(bulk, blobs.clone(), sb.account_id, ext, made).await?;
            for (path, mode) in modes.into_iter().rev() {
                b.set_mode(ext, &path, mode).await?;
            }
            return Ok((written, deleted));
        }
        for s in steps {
            match s {
                Step::Make(e) => {
                    let Ok(path) = WorkspacePath::parse(&e.path) else { continue };
                    match e.kind.as_str() {
                        "dir" => {
                            b.make_dir(ext, &path).await?;
                            modes.push((path, e.mode));
                        }
                        "file" => {
                            let sha =
                                e.sha256.as_deref().ok_or_else(|| AppError::Internal(anyhow::anyhow!("no hash")))?;
                            let body = blobs
                                .get_stream(&storage::blob_key(sb.account_id, sha))
                                .await
                                .map_err(storage_error)?;
                            b.write_stream(ext, &path, body).await?;
                            b.set_mode(ext, &path, e.mode).await?;
                            written += 1;
                        }
                        "symlink" => {
                            if let Some(target) = &e.target {
                                b.make_symlink(ext, &path, target).await?;
                                written += 1;
                            }
                        }
                        _ => {}
                    }
                }
                Step::Mode(path, mode) => modes.push((path, mode)),
                Step::Delete(_) => {}
            }
        }
        for (path, mode) in modes.into_iter().rev() {
            b.set_mode(ext, &path, mode).await?;
        }
        Ok((written, deleted))
    }
}
