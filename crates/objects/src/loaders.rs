//! DataLoaders: nested fields of lists load in one query per level, not one per item.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;

use crate::{
    entity::agent_run,
    service::{
        git::{Git, marks::Marks},
        runs::Runs,
        sandboxes::VisibleId,
    },
};

/// The active run of each sandbox in a list (keys prove the sandboxes were checked).
pub struct ActiveRunLoader(pub Runs);

impl Loader<VisibleId> for ActiveRunLoader {
    type Value = agent_run::Model;
    type Error = String;

    async fn load(&self, keys: &[VisibleId]) -> Result<HashMap<VisibleId, Self::Value>, Self::Error> {
        self.0.active_in(keys).await.map_err(|e| e.to_string())
    }
}

/// The git marks of each sandbox whose files are listed: one `git status` per sandbox
/// per batch, however many entries ask.
pub struct GitMarksLoader(pub Git);

impl Loader<VisibleId> for GitMarksLoader {
    type Value = std::sync::Arc<Marks>;
    type Error = String;

    async fn load(&self, keys: &[VisibleId]) -> Result<HashMap<VisibleId, Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        for key in keys {
            // A sandbox whose status cannot be read just goes unmarked.
            if let Ok(Some(m)) = self.0.marks(*key).await {
                out.insert(*key, std::sync::Arc::new(m));
            }
        }
        Ok(out)
    }
}
