//! The playground page (`playground/`), embedded in the binary so a single file serves
//! it: no build step, no CDN. Every response carries a strict Content-Security-Policy
//! (scripts and styles only from this origin, no inline code), so even a file name or a
//! Claude answer that looked like markup could not run as script.

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// Scripts, styles and connections to this origin only; images also from data: and
/// blob: URLs (the file viewer shows images that way).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

macro_rules! asset {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/playground/", $path))
    };
}

/// The page's files: path below /playground/, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", asset!("app.css")),
    ("js/accounts.js", "text/javascript; charset=utf-8", asset!("js/accounts.js")),
    ("js/app.js", "text/javascript; charset=utf-8", asset!("js/app.js")),
    ("js/chat.js", "text/javascript; charset=utf-8", asset!("js/chat.js")),
    ("js/dom.js", "text/javascript; charset=utf-8", asset!("js/dom.js")),
    ("js/files.js", "text/javascript; charset=utf-8", asset!("js/files.js")),
    ("js/gql.js", "text/javascript; charset=utf-8", asset!("js/gql.js")),
];

fn page(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// GET /: the playground.
pub async fn index() -> Response {
    page("text/html; charset=utf-8", asset!("index.html"))
}

/// GET /playground/{*path}: its styles and modules.
pub async fn asset(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, body)) => page(content_type, body),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
