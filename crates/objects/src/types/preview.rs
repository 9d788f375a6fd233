//! `Preview`: a port of a sandbox served at its own URL (`exposePort`), and the signed
//! link that opens a PRIVATE one.

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::enums::PreviewVisibility;
use crate::{context::scope, cost, entity::sandbox_preview};

/// An exposed port: `url` serves what the sandbox's process on `port` serves.
pub struct Preview(pub sandbox_preview::Model);

/// A short-lived link into a PRIVATE preview: opening it sets a cookie for that preview's
/// host and redirects to its `url`.
#[derive(SimpleObject)]
pub struct PreviewLink {
    /// The link (hand it to the browser that should see the preview).
    pub url: String,
    /// When it stops opening (`limits.previewLinkSecs`); the cookie it sets lasts
    /// `limits.previewCookieSecs`.
    pub expires_at: DateTime<Utc>,
}

#[Object]
impl Preview {
    /// The port inside the sandbox.
    async fn port(&self) -> i32 {
        i32::try_from(self.0.port).unwrap_or(0)
    }
    /// Its URL, on the preview listener's own origin (`{port}-{sandboxId}.{domain}`).
    async fn url(&self, ctx: &Context<'_>) -> Result<String> {
        let (svc, _) = scope(ctx)?;
        Ok(svc.previews.url_of(&self.0))
    }
    /// Who may open it.
    async fn visibility(&self) -> PreviewVisibility {
        self.0.visibility.into()
    }
    /// A fresh signed link that lets a browser into it (needed while PRIVATE).
    #[graphql(complexity = "cost::QUERY")]
    async fn link(&self, ctx: &Context<'_>) -> Result<PreviewLink> {
        let (svc, _) = scope(ctx)?;
        let l = svc.previews.link(&self.0).await?;
        Ok(PreviewLink { url: l.url, expires_at: l.expires_at })
    }
    /// When it was exposed.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
