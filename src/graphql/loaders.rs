//! DataLoaders: nested fields of lists load in one query per level, not one per item.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::{
    entity::agent_run,
    service::{Services, runs},
};

/// The active run of each sandbox in a list.
pub struct ActiveRunLoader(pub Services);

impl Loader<Uuid> for ActiveRunLoader {
    type Value = agent_run::Model;
    type Error = String;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        runs::active_for_sandboxes(&self.0, keys).await.map_err(|e| e.to_string())
    }
}
