//! The Modal objects a sandbox needs before it can start: the app that owns it, the
//! template's image (built by Modal, waited for) and the sandbox's own volumes (see
//! `volumes`). No Anthropic secret: runs get a per-run gateway token in their exec
//! environment. Each is get-or-create on Modal's side and cached.

use std::collections::HashMap;

use tokio::sync::{Mutex, OnceCell};
use uuid::Uuid;

use super::{
    client::{ModalClient, rpc},
    proto::{
        AppGetOrCreateRequest, GenericResult, Image, ImageGetOrCreateRequest, ImageJoinStreamingRequest,
        ObjectCreationType, generic_result::GenericStatus,
    },
};
use crate::{
    config::ModalConfig,
    error::{AppError, AppResult},
    template::SandboxTemplate,
};

/// Caches of Modal object ids.
pub(super) struct Provisioner {
    pub(super) client: ModalClient,
    pub(super) environment: String,
    app_name: String,
    builder_version: String,
    app: OnceCell<String>,
    /// Image ids by their Dockerfile commands (templates may share an image).
    images: Mutex<HashMap<Vec<String>, String>>,
    /// Volumes by name.
    pub(super) volumes: Mutex<HashMap<String, super::volumes::Volume>>,
    /// Sandboxes whose HOME is known to be on its own volume (see `volumes::migrate`).
    pub(super) homes_moved: Mutex<std::collections::HashSet<Uuid>>,
}

/// The name of sandbox `id`'s volume (and of its Modal sandboxes): stable, so a wake or a
/// retried create finds what an earlier attempt made.
pub(super) fn name_of(id: Uuid) -> String {
    format!("sandboxql-{}", id.simple())
}

impl Provisioner {
    pub(super) fn new(client: ModalClient, cfg: &ModalConfig) -> Self {
        Self {
            client,
            app_name: cfg.modal_app_name.clone(),
            environment: cfg.modal_environment.clone(),
            builder_version: cfg.modal_image_builder_version.clone(),
            app: OnceCell::new(),
            images: Mutex::new(HashMap::new()),
            volumes: Mutex::new(HashMap::new()),
            homes_moved: Mutex::default(),
        }
    }

    /// The app every sandbox of this deployment belongs to.
    pub(super) async fn app_id(&self) -> AppResult<String> {
        let id = self
            .app
            .get_or_try_init(|| async {
                let req = AppGetOrCreateRequest {
                    app_name: self.app_name.clone(),
                    environment_name: self.environment.clone(),
                    object_creation_type: ObjectCreationType::CreateIfMissing as i32,
                };
                let resp = rpc!(self.client, "AppGetOrCreate", app_get_or_create, req.clone()).await?;
                Ok::<_, AppError>(resp.app_id)
            })
            .await?;
        Ok(id.clone())
    }

    /// The template's image, built by Modal from its Dockerfile commands; the first call
    /// waits for the build (later ones hit Modal's cache or ours).
    pub(super) async fn image_id(&self, template: &SandboxTemplate) -> AppResult<String> {
        let mut images = self.images.lock().await;
        if let Some(id) = images.get(&template.image_dockerfile) {
            return Ok(id.clone());
        }
        let app_id = self.app_id().await?;
        let req = ImageGetOrCreateRequest {
            image: Some(Image {
                dockerfile_commands: template.image_dockerfile.iter().map(|c| c.to_string()).collect(),
                ..Default::default()
            }),
            app_id,
            force_build: false,
            // What the official client sends for `from_registry` and Dockerfile layers.
            namespace: super::proto::DeploymentNamespace::Workspace as i32,
            builder_version: self.builder_version.clone(),
        };
        let resp = rpc!(self.client, "ImageGetOrCreate", image_get_or_create, req.clone()).await?;
        let result = match resp.result.filter(|r| r.status != GenericStatus::Unspecified as i32) {
            Some(r) => r,
            None => self.wait_for_build(&resp.image_id).await?,
        };
        if result.status != GenericStatus::Success as i32 {
            return Err(AppError::provider(
                "the sandbox image could not be built",
                format!("modal image {} build status {}: {}", resp.image_id, result.status, result.exception),
            ));
        }
        images.insert(template.image_dockerfile.clone(), resp.image_id.clone());
        Ok(resp.image_id)
    }

    /// Follows the build log stream (re-joining where it left off) until a result.
    async fn wait_for_build(&self, image_id: &str) -> AppResult<GenericResult> {
        let mut last_entry_id = String::new();
        loop {
            let req = ImageJoinStreamingRequest {
                image_id: image_id.to_string(),
                timeout: 55.0,
                last_entry_id: last_entry_id.clone(),
                include_logs_for_finished: false,
            };
            let mut stream = rpc!(self.client, "ImageJoinStreaming", image_join_streaming, req.clone()).await?;
            loop {
                match stream.message().await {
                    Ok(Some(msg)) => {
                        if !msg.entry_id.is_empty() {
                            last_entry_id = msg.entry_id;
                        }
                        if let Some(r) = msg.result.filter(|r| r.status != GenericStatus::Unspecified as i32) {
                            return Ok(r);
                        }
                    }
                    Ok(None) => break,
                    Err(s) if super::client::is_transient(&s) => break,
                    Err(s) => return Err(super::client::to_app_error("ImageJoinStreaming", &s)),
                }
            }
        }
    }

    /// The app's name (sandbox names are unique within it).
    pub(super) fn app_name(&self) -> &str {
        &self.app_name
    }
}
