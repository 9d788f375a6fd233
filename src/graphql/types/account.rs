//! `Account`: who the caller is.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use super::enums::Role;
use crate::entity::account;

/// An account as the API shows it.
pub struct Account(pub account::Model);

#[Object]
impl Account {
    /// Account id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// USER or ADMIN.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// Organization, if any.
    async fn organization_id(&self) -> Option<ID> {
        self.0.organization_id.map(|o| ID(o.to_string()))
    }
    /// When created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
