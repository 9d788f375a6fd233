//! What `createWebhook` and `updateWebhook` take, checked: an `http(s)` URL without
//! credentials in it, event types the server knows.

use crate::{
    entity::webhook_event,
    error::{AppError, AppResult},
};

/// A new endpoint.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Where deliveries go.
    pub url: String,
    /// The event types it hears (empty: all).
    pub event_types: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Every account's events (admins only).
    pub every_account: bool,
}

/// Changes to an endpoint; None leaves a field.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    /// Where deliveries go.
    pub url: Option<String>,
    /// The event types it hears.
    pub event_types: Option<Vec<String>>,
    /// What it is for.
    pub description: Option<String>,
}

fn url(raw: &str) -> AppResult<String> {
    let u = reqwest::Url::parse(raw.trim()).map_err(|_| AppError::bad_input("url: not a URL"))?;
    if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none() {
        return Err(AppError::bad_input("url: an http(s) URL with a host"));
    }
    if !u.username().is_empty() || u.password().is_some() || raw.len() > 2048 {
        return Err(AppError::bad_input("url: at most 2048 characters, no credentials in it"));
    }
    Ok(u.to_string())
}

fn types(raw: &[String]) -> AppResult<Vec<String>> {
    for t in raw {
        if !webhook_event::ALL.contains(&t.as_str()) {
            return Err(AppError::bad_input(format!("eventTypes: {t:?} is not an event type (README lists them)")));
        }
    }
    Ok(raw.to_vec())
}

fn description(raw: Option<String>) -> AppResult<Option<String>> {
    match raw {
        Some(d) if d.chars().count() > 500 => Err(AppError::bad_input("description: at most 500 characters")),
        d => Ok(d),
    }
}

impl NewWebhook {
    /// The endpoint with its fields checked.
    pub fn checked(self) -> AppResult<Self> {
        Ok(Self {
            url: url(&self.url)?,
            event_types: types(&self.event_types)?,
            description: description(self.description)?,
            every_account: self.every_account,
        })
    }
}

impl WebhookChange {
    /// The change with its fields checked.
    pub fn checked(self) -> AppResult<Self> {
        Ok(Self {
            url: self.url.as_deref().map(url).transpose()?,
            event_types: self.event_types.as_deref().map(types).transpose()?,
            description: description(self.description)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_types_are_checked() {
        assert!(url("https://hooks.example.com/in").is_ok());
        for bad in ["ftp://x/y", "https://u:p@x/", "not a url", "file:///etc/passwd"] {
            assert!(url(bad).is_err(), "{bad}");
        }
        assert!(types(&["run.finished".into()]).is_ok());
        assert!(types(&["run.exploded".into()]).is_err());
    }
}
