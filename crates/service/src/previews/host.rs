//! Preview host names: `{port}-{sandboxId}.{domain}`, so a preview is an origin of its
//! own (apps with absolute paths work, and no page of it shares the API's origin). Parsed
//! strictly: anything else is no preview at all.

use uuid::Uuid;

/// How preview URLs are written for users.
#[derive(Debug, Clone)]
pub struct PreviewUrls {
    /// The domain preview hosts end in (lowercase, no leading dot).
    pub domain: String,
    /// `http` or `https`.
    pub scheme: String,
    /// The port in URLs (None: the scheme's default).
    pub port: Option<u16>,
}

impl PreviewUrls {
    /// The host of a sandbox's port.
    pub fn host(&self, sandbox_id: Uuid, port: u16) -> String {
        format!("{port}-{sandbox_id}.{}", self.domain)
    }

    /// The URL of a sandbox's port, ending in `/`.
    pub fn url(&self, sandbox_id: Uuid, port: u16) -> String {
        let at = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{}://{}{at}/", self.scheme, self.host(sandbox_id, port))
    }

    /// The sandbox and port a `Host` header names (None: not one of ours).
    pub fn parse(&self, host: &str) -> Option<(Uuid, u16)> {
        let host = host.to_ascii_lowercase();
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
            _ => host,
        };
        let label = name.strip_suffix(&self.domain)?.strip_suffix('.')?;
        let (port, id) = label.split_once('-')?;
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) || port.starts_with('0') {
            return None;
        }
        let id = Uuid::try_parse(id).ok()?;
        // Only the hyphenated form this server writes.
        (id.hyphenated().to_string() == id_text(label)).then_some(())?;
        Some((id, port.parse::<u16>().ok().filter(|p| *p > 0)?))
    }
}

fn id_text(label: &str) -> &str {
    label.split_once('-').map(|(_, id)| id).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> PreviewUrls {
        PreviewUrls { domain: "preview.example.com".into(), scheme: "https".into(), port: None }
    }

    #[test]
    fn urls_round_trip_and_nothing_else_parses() {
        let u = urls();
        let id = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
        assert_eq!(u.url(id, 5173), format!("https://5173-{id}.preview.example.com/"));
        assert_eq!(u.parse(&u.host(id, 5173)), Some((id, 5173)));
        assert_eq!(u.parse(&format!("5173-{id}.PREVIEW.example.com:8081")), Some((id, 5173)));
        let local = PreviewUrls { domain: "localhost".into(), scheme: "http".into(), port: Some(8081) };
        assert_eq!(local.url(id, 80), format!("http://80-{id}.localhost:8081/"));
        let simple = id.simple();
        for bad in [
            "preview.example.com".to_string(),
            format!("{id}.preview.example.com"),
            format!("5173-{id}.evil.com"),
            format!("5173-{id}.xpreview.example.com"),
            format!("x.5173-{id}.preview.example.com"),
            format!("0-{id}.preview.example.com"),
            format!("05173-{id}.preview.example.com"),
            format!("70000-{id}.preview.example.com"),
            format!("5173-{simple}.preview.example.com"),
            format!("5173-{id}x.preview.example.com"),
            "5173-not-a-uuid.preview.example.com".to_string(),
        ] {
            assert_eq!(u.parse(&bad), None, "{bad}");
        }
    }
}
