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
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../playground/", $path))
    };
}

/// The page's files: path below /playground/, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", asset!("app.css")),
    ("js/accounts.js", "text/javascript; charset=utf-8", asset!("js/accounts.js")),
    ("js/app.js", "text/javascript; charset=utf-8", asset!("js/app.js")),
    ("js/chat.js", "text/javascript; charset=utf-8", asset!("js/chat.js")),
    ("js/checkpoints.js", "text/javascript; charset=utf-8", asset!("js/checkpoints.js")),
    ("js/dom.js", "text/javascript; charset=utf-8", asset!("js/dom.js")),
    ("js/events.js", "text/javascript; charset=utf-8", asset!("js/events.js")),
    ("js/files.js", "text/javascript; charset=utf-8", asset!("js/files.js")),
    ("js/git.js", "text/javascript; charset=utf-8", asset!("js/git.js")),
    ("js/gql.js", "text/javascript; charset=utf-8", asset!("js/gql.js")),
    ("js/permissions.js", "text/javascript; charset=utf-8", asset!("js/permissions.js")),
    ("js/previews.js", "text/javascript; charset=utf-8", asset!("js/previews.js")),
    ("js/processes.js", "text/javascript; charset=utf-8", asset!("js/processes.js")),
    ("js/render.js", "text/javascript; charset=utf-8", asset!("js/render.js")),
    ("js/runview.js", "text/javascript; charset=utf-8", asset!("js/runview.js")),
    ("js/snapshots.js", "text/javascript; charset=utf-8", asset!("js/snapshots.js")),
    ("js/terminal.js", "text/javascript; charset=utf-8", asset!("js/terminal.js")),
    ("js/usage.js", "text/javascript; charset=utf-8", asset!("js/usage.js")),
    // Vendored releases (playground/vendor/README.md says which, LICENSES.txt their terms).
    ("vendor/marked.esm.js", "text/javascript; charset=utf-8", asset!("vendor/marked.esm.js")),
    ("vendor/purify.es.mjs", "text/javascript; charset=utf-8", asset!("vendor/purify.es.mjs")),
    ("vendor/highlight.min.js", "text/javascript; charset=utf-8", asset!("vendor/highlight.min.js")),
    ("vendor/highlight-github.min.css", "text/css; charset=utf-8", asset!("vendor/highlight-github.min.css")),
    ("vendor/xterm.mjs", "text/javascript; charset=utf-8", asset!("vendor/xterm.mjs")),
    ("vendor/addon-fit.mjs", "text/javascript; charset=utf-8", asset!("vendor/addon-fit.mjs")),
    ("vendor/xterm.css", "text/css; charset=utf-8", asset!("vendor/xterm.css")),
    ("vendor/LICENSES.txt", "text/plain; charset=utf-8", asset!("vendor/LICENSES.txt")),
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

/// GraphiQL's page: its own files only. Its editor sets inline styles and injects style
/// elements, so styles may be inline here (never scripts); connections go to this origin
/// (HTTP and the websocket).
const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";

macro_rules! graphiql_asset {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../graphiql/", $path))
    };
}

/// GraphiQL's files (a pinned npm release, see graphiql/LICENSES.txt): path, type, content.
const GRAPHIQL: &[(&str, &str, &str)] = &[
    ("graphiql.min.css", "text/css; charset=utf-8", graphiql_asset!("graphiql.min.css")),
    ("page.css", "text/css; charset=utf-8", graphiql_asset!("page.css")),
    ("graphiql.min.js", "text/javascript; charset=utf-8", graphiql_asset!("graphiql.min.js")),
    ("react.production.min.js", "text/javascript; charset=utf-8", graphiql_asset!("react.production.min.js")),
    ("react-dom.production.min.js", "text/javascript; charset=utf-8", graphiql_asset!("react-dom.production.min.js")),
    ("init.js", "text/javascript; charset=utf-8", graphiql_asset!("init.js")),
    ("LICENSES.txt", "text/plain; charset=utf-8", graphiql_asset!("LICENSES.txt")),
];

fn graphiql_page(content_type: &'static str, body: &'static str) -> Response {
    let mut res = page(content_type, body);
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(GRAPHIQL_CSP));
    res
}

/// GET /graphiql: GraphiQL, offline.
pub async fn graphiql() -> Response {
    graphiql_page("text/html; charset=utf-8", graphiql_asset!("index.html"))
}

/// GET /graphiql/{*path}: its files.
pub async fn graphiql_file(Path(path): Path<String>) -> Response {
    match GRAPHIQL.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, body)) => graphiql_page(content_type, body),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// GET /: the playground.
pub async fn index(axum::extract::State(state): axum::extract::State<super::AppState>) -> Response {
    let mut res = page("text/html; charset=utf-8", asset!("index.html"));
    // The page frames previews, which live on their own origin (and only there).
    let urls = state.services.previews.urls();
    let at = urls.port.map(|p| format!(":{p}")).unwrap_or_default();
    let csp = format!("{CSP}; frame-src {}://*.{}{at}", urls.scheme, urls.domain);
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// GET /playground/{*path}: its styles and modules.
pub async fn asset(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, body)) => page(content_type, body),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
