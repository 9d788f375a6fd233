//! Preview mutations: `exposePort`, `unexposePort`. A preview is read (and its signed
//! link made) through `Sandbox.previews`.

use async_graphql::{Context, ID, Object, Result};

use crate::{
    context::{require_sandbox, scope},
    cost,
    error::AppError,
    types::{enums::PreviewVisibility, preview::Preview},
};

fn port_of(port: i32) -> Result<u16, AppError> {
    u16::try_from(port).ok().filter(|p| *p > 0).ok_or_else(|| AppError::bad_input("port: 1 to 65535"))
}

/// Preview mutations.
#[derive(Default)]
pub struct PreviewMutation;

#[Object]
impl PreviewMutation {
    /// Serves `port` of the sandbox (what its own process listens on, inside its jail) at
    /// `Preview.url`, on the preview listener's origin; exposing it again sets its
    /// visibility. At most `limits.previewsPerSandbox` per sandbox (CONFLICT). The sandbox
    /// gets no network for it.
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn expose_port(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
        port: i32,
        #[graphql(default_with = "PreviewVisibility::Private")] visibility: PreviewVisibility,
    ) -> Result<Preview> {
        let (svc, _) = scope(ctx)?;
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        Ok(Preview(svc.previews.expose(&sb, port_of(port)?, visibility.into()).await?))
    }

    /// Stops serving `port`: its URL is 404 and its links and cookies open nothing, even
    /// if it is exposed again. False when it was not exposed.
    #[graphql(complexity = "cost::QUERY")]
    async fn unexpose_port(&self, ctx: &Context<'_>, sandbox_id: ID, port: i32) -> Result<bool> {
        let (svc, _) = scope(ctx)?;
        let sb = require_sandbox(ctx, &sandbox_id, "sandboxId").await?;
        Ok(svc.previews.unexpose(&sb, port_of(port)?).await?)
    }
}
