//! Who is calling: bearer tokens (sandboxql's API tokens or the embedding product's JWTs)
//! resolved once per request or websocket into a [`Viewer`].

mod authenticator;
pub mod jwt;
/// Per-run gateway tokens (made where runs are, so warm processes can hold one).
pub use crate::run::token as run_token;
mod token;

pub use authenticator::Authenticator;
pub use token::{generate_token, hash_token};
use uuid::Uuid;

use crate::{
    entity::enums::Role,
    error::{AppError, AppResult},
};

/// The authenticated caller. Every service call takes one, so no query can forget to scope.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The caller's account.
    pub account_id: Uuid,
    /// The caller's organization, stamped onto what it creates.
    pub organization_id: Option<Uuid>,
    /// USER or ADMIN.
    pub role: Role,
    /// The token may only read: queries and subscriptions that change nothing.
    pub read_only: bool,
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

    /// FORBIDDEN unless the viewer is an admin (admin-only operations).
    pub fn require_admin(&self) -> AppResult<()> {
        if self.is_admin() { Ok(()) } else { Err(AppError::Forbidden("this needs an administrator".into())) }
    }

    /// FORBIDDEN for a read-only token (anything that changes something).
    pub fn require_writer(&self) -> AppResult<()> {
        if self.read_only {
            Err(AppError::Forbidden("this token is read-only: it may run queries and subscriptions only".into()))
        } else {
            Ok(())
        }
    }
}
