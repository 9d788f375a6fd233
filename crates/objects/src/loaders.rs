//! DataLoaders: nested fields of lists load in one query per level, not one per item.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;

use crate::{
    entity::agent_run,
    service::{runs::Runs, sandboxes::VisibleId},
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
