//! The dashboard at `/`: a page that shows the serving layer's answers and follows its live push,
//! built on the same API a client would use (no second data path). Its files are embedded in the
//! binary, so `trendflow serve` is all a user runs; the page asks nothing of any host but this
//! server. Chart.js is vendored (`vendor/`, with its licence and version).

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The page's files: name, content type and content.
const ASSETS: [(&str, &str, &str); 3] = [
    ("dashboard.js", "text/javascript; charset=utf-8", include_str!("dashboard.js")),
    ("dashboard.css", "text/css; charset=utf-8", include_str!("dashboard.css")),
    ("chart.umd.min.js", "text/javascript; charset=utf-8", include_str!("vendor/chart.umd.min.js")),
];

const INDEX: &str = include_str!("index.html");

/// The dashboard's routes: the page at `/`, its files under `/assets/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/", get(index)).route("/assets/{name}", get(asset))
}

/// The page, with a content security policy that keeps it to this server: scripts, styles and
/// connections from this origin only.
async fn index() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'",
        ),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    (headers, INDEX).into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, content)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "no-cache")], *content).into_response()
        }
        None => (axum::http::StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
