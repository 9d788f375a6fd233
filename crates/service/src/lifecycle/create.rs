//! Creating a sandbox as a saga: row CREATING → backend create → row RUNNING or ERROR.
//! A backend sandbox whose row cannot be saved is terminated, so nothing is orphaned.

use std::sync::Arc;

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use uuid::Uuid;

use super::Lifecycle;
use crate::{
    auth::Viewer,
    backend::{ExternalId, SandboxSpec, template::SandboxTemplate},
    checkpoints::VisibleCheckpoint,
    entity::{
        change_log::{self, Change},
        enums::{Provider, SandboxStatus},
        new_id, now,
        sandbox::{self, MetaData},
    },
    error::{AppError, AppResult},
    work,
    {accounts::lock_account, lifecycle::leases::LeaseKind, quotas::Expensive, sandboxes::VisibleSandbox},
};

/// What a client may choose when creating a sandbox; everything else comes from templates.
#[derive(Debug, Clone)]
pub struct CreateSandbox {
    /// Template family (its default template when `template` is absent).
    pub provider: Provider,
    /// Name of the operator's template to make it from.
    pub template: Option<String>,
    /// Agent configuration, if any.
    pub agent_id: Option<Uuid>,
    /// Display name; a default is made from the id when absent.
    pub name: Option<String>,
    /// A snapshot whose files the new workspace starts with.
    pub from_snapshot: Option<Uuid>,
    /// A repository the new workspace is cloned from (through the broker).
    pub git: Option<crate::git::CloneSpec>,
    /// Restore what is whole of a snapshot a verification found damaged (its damaged
    /// files are left out); without it such a restore is refused, naming them.
    pub allow_partial: bool,
}

/// The display name to store: the given one checked, or one made from the id.
pub fn validate_name(name: Option<&str>, id: Uuid, max_chars: u64) -> AppResult<String> {
    let Some(name) = name.map(str::trim) else {
        return Ok(format!("sandbox-{}", &id.simple().to_string()[24..]));
    };
    if name.is_empty() || name.chars().count() as u64 > max_chars {
        return Err(AppError::bad_input(format!("`name` must be 1 to {max_chars} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::bad_input("`name` must not contain control characters"));
    }
    Ok(name.to_string())
}

/// What a new sandbox starts from.
struct Origin<'a> {
    snapshot: Option<&'a crate::snapshots::VisibleSnapshot>,
    git: Option<&'a crate::git::CloneSpec>,
    fork: Option<&'a VisibleCheckpoint>,
    skip: &'a std::collections::HashSet<String>,
}

impl Lifecycle {
    /// The quota check and the CREATING row, atomically (the account row is locked).
    async fn insert_creating(&self, viewer: &Viewer, row: sandbox::ActiveModel) -> AppResult<sandbox::Model> {
        let txn = crate::entity::db::write_txn(&self.db).await?;
        lock_account(&txn, viewer.account_id).await?;
        let live = sandbox::Entity::find()
            .filter(sandbox::Column::AccountId.eq(viewer.account_id))
            .filter(sandbox::Column::DeletedAt.is_null())
            .filter(sandbox::Column::Status.is_in([
                SandboxStatus::Creating,
                SandboxStatus::Running,
                SandboxStatus::Deleting,
            ]))
            .count(&txn)
            .await?;
        let max = self.limits.max_sandboxes_per_account;
        if live >= max {
            return Err(AppError::Forbidden(format!(
                "sandbox limit reached: an account may hold {max} live sandboxes; delete one first"
            )));
        }
        let row = row.insert(&txn).await?;
        let change =
            Change { actor: Some(viewer.account_id), entity: "sandboxes", entity_id: row.id, action: "create" };
        change_log::record(&txn, change, None::<&()>, Some(&row)).await?;
        txn.commit().await?;
        Ok(row)
    }

    /// Creates a sandbox for the viewer. On backend failure the row stays, in ERROR with a
    /// reason, and the error is returned. The saga runs in its own task: a client that
    /// goes away leaves the sandbox RUNNING or ERROR, never CREATING.
    pub async fn create(&self, viewer: &Viewer, input: CreateSandbox) -> AppResult<VisibleSandbox> {
        let id = new_id();
        let name = validate_name(input.name.as_deref(), id, self.limits.max_name_chars)?;
        let template = self.templates.pick(input.template.as_deref(), input.provider)?;
        let mut input = input;
        input.git = input.git.map(crate::git::CloneSpec::checked).transpose()?;
        if input.git.is_some() && input.from_snapshot.is_some() {
            return Err(AppError::bad_input("a sandbox starts from a snapshot or a git repository, not both"));
        }
        let (this, viewer) = (self.clone(), viewer.clone());
        work::detached(async move { this.create_now(&viewer, id, name, template, input, None).await }).await
    }

    pub(super) async fn create_now(
        &self,
        viewer: &Viewer,
        id: Uuid,
        name: String,
        template: Arc<SandboxTemplate>,
        input: CreateSandbox,
        fork: Option<&VisibleCheckpoint>,
    ) -> AppResult<VisibleSandbox> {
        let snapshot = match (input.from_snapshot, fork) {
            (_, Some(cp)) => Some(cp.files()),
            (Some(id), None) => Some(self.snapshots.require(viewer, id).await?),
            (None, None) => None,
        };
        let skip = match &snapshot {
            Some(snap) => super::restore::damaged(snap, input.allow_partial)?,
            None => Default::default(),
        };
        // A fork goes on with the checkpoint's conversation when it carries one.
        let session = fork.filter(|cp| cp.session_key.is_some()).and_then(|cp| cp.session_id.clone());
        let resume_at = fork.filter(|_| session.is_some()).and_then(|cp| cp.resume_at.clone());
        let _restoring = match &snapshot {
            Some(_) => Some(self.quotas.acquire(viewer.account_id, Expensive::Restore)?),
            None => None,
        };
        let host = match &self.hosts {
            Some(d) => Some(d.choose((!template.hosts.is_empty()).then_some(template.hosts.as_slice())).await?),
            None => None,
        };
        let t = now();
        // The create lease is written with the row and held until the sandbox is RUNNING
        // or ERROR; if this instance dies, recovery finds it expired and ends the row.
        let lease = self.leases.prepare(id);
        let row = sandbox::ActiveModel {
            id: Set(id),
            account_id: Set(viewer.account_id),
            organization_id: Set(viewer.organization_id),
            agent_id: Set(input.agent_id),
            provider: Set(input.provider),
            backend: Set(self.backend.name()),
            template: Set(Some(template.name.clone())),
            external_id: Set(None),
            name: Set(name),
            status: Set(SandboxStatus::Creating),
            status_reason: Set(None),
            claude_session_id: Set(session),
            claude_resume_at: Set(resume_at),
            meta_data: Set(MetaData::default()),
            deleted_at: Set(None),
            lease_owner: Set(Some(lease.owner().to_string())),
            lease_until: Set(Some(lease.until())),
            lease_kind: Set(Some(LeaseKind::Create.name().to_string())),
            // Its host from birth (several hosts: the least loaded live one).
            host_id: Set(host),
            created_at: Set(t),
            updated_at: Set(t),
        };
        let row = self.insert_creating(viewer, row).await?;
        let lease = lease.hold();
        let origin = Origin { snapshot: snapshot.as_ref(), git: input.git.as_ref(), fork, skip: &skip };
        let created = self.create_backend(viewer, row, template, origin).await;
        lease.release().await;
        created
    }

    async fn create_backend(
        &self,
        viewer: &Viewer,
        row: sandbox::Model,
        template: Arc<SandboxTemplate>,
        origin: Origin<'_>,
    ) -> AppResult<VisibleSandbox> {
        let Origin { snapshot, git, fork, skip } = origin;
        let id = row.id;

        let spec = SandboxSpec { sandbox_id: id, account_id: viewer.account_id, template };
        let external_id = match self.backend.create(&spec).await {
            Ok(ext) => ext,
            Err(e) => {
                self.mark_error(row, &e).await;
                return Err(e);
            }
        };
        if let Some(snap) = snapshot
            && let Err(e) = self.restore(snap, &external_id, fork, skip).await
        {
            if let Err(t) = self.discard(id, &external_id).await {
                tracing::error!(error = ?t, %external_id, "could not stop a sandbox whose restore failed");
            }
            self.mark_error(row, &e).await;
            return Err(e);
        }
        let row = self.finish(row, external_id.clone()).await?;
        if let Some(spec) = git
            && let Err(e) = self.git.clone_into(&external_id, spec).await
        {
            if let Err(t) = self.discard(id, &external_id).await {
                tracing::error!(error = ?t, %external_id, "could not stop a sandbox whose clone failed");
            }
            self.mark_error(row, &e).await;
            return Err(e);
        }
        VisibleSandbox::vouch(viewer, row)
    }

    async fn finish(&self, row: sandbox::Model, external_id: ExternalId) -> AppResult<sandbox::Model> {
        let id = row.id;
        let mut am: sandbox::ActiveModel = row.into();
        am.external_id = Set(Some(external_id.to_string()));
        am.status = Set(SandboxStatus::Running);
        am.updated_at = Set(now());
        // RUNNING and `sandbox.created` commit together.
        let saved = async {
            let txn = crate::entity::db::write_txn(&self.db).await?;
            let row = am.clone().update(&txn).await?;
            crate::entity::webhook_event::of_sandbox(&txn, crate::entity::webhook_event::SANDBOX_CREATED, &row).await?;
            txn.commit().await?;
            Ok::<_, AppError>(row)
        };
        match saved.await {
            Ok(row) => Ok(row),
            Err(db_err) => {
                tracing::error!(error = ?db_err, %external_id, "sandbox row not saved after backend create; terminating it");
                if let Err(e) = self.discard(id, &external_id).await {
                    tracing::error!(error = ?e, %external_id, "could not terminate orphaned backend sandbox");
                }
                am.status = Set(SandboxStatus::Error);
                am.status_reason = Set(Some("the sandbox could not be recorded and was stopped".into()));
                if let Err(e) = am.update(&self.db).await {
                    tracing::error!(error = %e, "could not mark sandbox ERROR");
                }
                Err(db_err)
            }
        }
    }

    /// Stops and removes a backend sandbox that will never be used.
    async fn discard(&self, id: uuid::Uuid, external_id: &ExternalId) -> AppResult<()> {
        self.backend.terminate(external_id).await?;
        self.backend.destroy(id, external_id).await
    }

    async fn mark_error(&self, row: sandbox::Model, cause: &AppError) {
        let mut am: sandbox::ActiveModel = row.into();
        let reason = format!("creation failed: {}", cause.public_message());
        am.status = Set(SandboxStatus::Error);
        am.status_reason = Set(Some(reason.clone()));
        am.updated_at = Set(now());
        let marked = async {
            let txn = crate::entity::db::write_txn(&self.db).await?;
            let row = am.update(&txn).await?;
            let error = SandboxStatus::Error;
            crate::entity::webhook_event::status_changed(&txn, row.account_id, row.id, error, Some(&reason)).await?;
            txn.commit().await?;
            Ok::<_, AppError>(())
        };
        if let Err(e) = marked.await {
            tracing::error!(error = ?e, "could not mark sandbox ERROR after backend failure");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::validate_name;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(validate_name(Some("  demo "), id, 10).unwrap(), "demo");
        assert!(validate_name(None, id, 10).unwrap().starts_with("sandbox-"));
        assert!(validate_name(Some(""), id, 10).is_err());
        assert!(validate_name(Some("12345678901"), id, 10).is_err());
        assert!(validate_name(Some("a\u{7}b"), id, 10).is_err());
        assert_eq!(validate_name(Some("ünïcødé"), id, 7).unwrap(), "ünïcødé");
    }
}
