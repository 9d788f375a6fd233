//! A backend's own id of a sandbox, typed so it cannot be confused with our ids or paths.

/// A backend's own id of a sandbox (a Modal sandbox id, a local sandbox's directory
/// name), as its row stores it: only the backend that made it knows what it means.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalId(std::sync::Arc<str>);

impl ExternalId {
    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ExternalId {
    fn from(s: &str) -> Self {
        Self(s.into())
    }
}

impl From<String> for ExternalId {
    fn from(s: String) -> Self {
        Self(s.into())
    }
}

impl std::ops::Deref for ExternalId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ExternalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ExternalId> for sea_orm::Value {
    fn from(id: ExternalId) -> Self {
        sea_orm::Value::String(Some(id.as_str().to_owned()))
    }
}
