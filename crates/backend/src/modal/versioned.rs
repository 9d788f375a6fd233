//! The control-plane calls that come in a V1 and a V2 form, each sent in the form the
//! sandbox's id calls for (see `ids`), as the official client routes them
//! (`modal/sandbox/_sandbox.py`, `_impl_v1.py`, `_impl_v2.py`). Both forms take the same
//! messages; only the method differs.

use super::{
    ModalBackend,
    client::rpc,
    ids,
    proto::{
        SandboxCreateV2Request, SandboxCreateV2Response, SandboxGetFromNameRequest, SandboxGetTaskIdRequest,
        SandboxGetTaskIdResponse, SandboxListRequest, SandboxListResponse, SandboxTerminateRequest, SandboxWaitRequest,
        SandboxWaitResponse,
    },
};
use crate::error::{AppError, AppResult};

impl ModalBackend {
    /// `SandboxCreateV2` with one `x-idempotency-key` on every attempt, as the official
    /// client sends it: a retry after a lost answer gets the sandbox the first made.
    pub(super) async fn create_v2(&self, req: SandboxCreateV2Request) -> AppResult<SandboxCreateV2Response> {
        let key = tonic::metadata::AsciiMetadataValue::try_from(uuid::Uuid::new_v4().to_string()).ok();
        self.client
            .call("SandboxCreateV2", move |mut api| {
                let mut call = tonic::Request::new(req.clone());
                if let Some(k) = key.clone() {
                    call.metadata_mut().insert("x-idempotency-key", k);
                }
                async move { api.sandbox_create_v2(call).await }
            })
            .await
    }

    /// `SandboxWait[V2]`: how the sandbox ended, waiting up to `timeout` seconds (0: just
    /// ask).
    pub(super) async fn wait_call(&self, sandbox_id: &str, timeout: f32) -> AppResult<SandboxWaitResponse> {
        let req = SandboxWaitRequest { sandbox_id: sandbox_id.to_string(), timeout };
        if ids::is_v1(sandbox_id) {
            rpc!(self.client, "SandboxWait", sandbox_wait, req.clone()).await
        } else {
            rpc!(self.client, "SandboxWaitV2", sandbox_wait_v2, req.clone()).await
        }
    }

    /// `SandboxTerminate[V2]`.
    pub(super) async fn terminate_call(&self, sandbox_id: &str) -> AppResult<()> {
        let req = SandboxTerminateRequest { sandbox_id: sandbox_id.to_string() };
        if ids::is_v1(sandbox_id) {
            rpc!(self.client, "SandboxTerminate", sandbox_terminate, req.clone()).await.map(drop)
        } else {
            rpc!(self.client, "SandboxTerminateV2", sandbox_terminate_v2, req.clone()).await.map(drop)
        }
    }

    /// `SandboxGetTaskId[V2]`, long-polling up to `timeout` seconds.
    pub(super) async fn task_id_call(&self, sandbox_id: &str, timeout: f32) -> AppResult<SandboxGetTaskIdResponse> {
        let req = SandboxGetTaskIdRequest {
            sandbox_id: sandbox_id.to_string(),
            timeout: Some(timeout),
            wait_until_ready: false,
        };
        if ids::is_v1(sandbox_id) {
            rpc!(self.client, "SandboxGetTaskId", sandbox_get_task_id, req.clone()).await
        } else {
            rpc!(self.client, "SandboxGetTaskIdV2", sandbox_get_task_id_v2, req.clone()).await
        }
    }

    /// `SandboxListV2`, which lists V1 and V2 sandboxes alike (the official client's
    /// `Sandbox.list`).
    pub(super) async fn list_call(&self, req: SandboxListRequest) -> AppResult<SandboxListResponse> {
        rpc!(self.client, "SandboxListV2", sandbox_list_v2, req.clone()).await
    }

    /// Every running sandbox of our app, V1 and V2, page by page as the official client's
    /// `Sandbox.list` asks (each page before the last one's creation time), at most `max`
    /// (None beyond).
    pub(super) async fn running_ids(&self, max: usize) -> AppResult<Option<std::collections::HashSet<String>>> {
        let app_id = self.provision.app_id().await?;
        let mut ids = std::collections::HashSet::new();
        let mut before = 0.0;
        loop {
            let req = SandboxListRequest {
                app_id: app_id.clone(),
                before_timestamp: before,
                environment_name: self.environment.clone(),
                include_finished: false,
                tags: Vec::new(),
            };
            let page = self.list_call(req).await?.sandboxes;
            let Some(last) = page.last().map(|s| s.created_at) else { return Ok(Some(ids)) };
            ids.extend(page.into_iter().map(|s| s.id));
            if ids.len() > max {
                return Ok(None);
            }
            // A page that does not move back in time would be asked for forever.
            if before != 0.0 && last >= before {
                return Ok(None);
            }
            before = last;
        }
    }

    /// The running sandbox named `name` in our app: `SandboxGetFromNameV2` (what we
    /// create), then `SandboxGetFromName` for one a V1 create of an earlier release made.
    pub(super) async fn by_name_call(&self, name: &str) -> AppResult<String> {
        let req = SandboxGetFromNameRequest {
            sandbox_name: name.to_string(),
            environment_name: self.environment.clone(),
            app_name: self.provision.app_name().to_string(),
        };
        match rpc!(self.client, "SandboxGetFromNameV2", sandbox_get_from_name_v2, req.clone()).await {
            Err(AppError::NotFound(_)) => {}
            found => return found.map(|r| r.sandbox_id),
        }
        Ok(rpc!(self.client, "SandboxGetFromName", sandbox_get_from_name, req.clone()).await?.sandbox_id)
    }
}
