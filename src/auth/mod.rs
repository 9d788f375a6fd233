//! Who is calling: bearer tokens resolved once per request or websocket into a [`Viewer`].

mod token;

pub use token::{Authenticator, generate_token, hash_token};

use uuid::Uuid;

use crate::entity::enums::Role;

/// The authenticated caller. Every service call takes one, so no query can forget to scope.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The caller's account.
    pub account_id: Uuid,
    /// The caller's organization, stamped onto what it creates.
    pub organization_id: Option<Uuid>,
    /// USER or ADMIN.
    pub role: Role,
}

impl Viewer {
    /// Admins see every account's rows.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether a row owned by `account_id` is visible to this viewer.
    pub fn can_see(&self, account_id: Uuid) -> bool {
        self.is_admin() || self.account_id == account_id
    }
}
