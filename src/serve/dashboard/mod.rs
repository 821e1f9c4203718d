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

/// The sign-in: a form for a token, for a server started with `--auth-token-file`. Plain HTML,
/// no script: it must work before the page's files may be fetched.
const SIGN_IN: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\"><title>trendflow: sign in</title></head>\
<body><main><h1>trendflow</h1><p>This server answers the holders of a token.</p>\
<form method=\"post\" action=\"/login\"><label>Token <input name=\"token\" type=\"password\" \
autocomplete=\"current-password\" required autofocus></label> <button type=\"submit\">Sign in</button></form>\
<p id=\"refused\" hidden>That token does not open this server.</p></main></body></html>\n";

/// `GET /login`: the sign-in form.
pub async fn sign_in_page() -> Response {
    sign_in_answer(axum::http::StatusCode::OK, SIGN_IN.to_string())
}

/// The sign-in form again, saying the token given does not open the server.
pub fn sign_in_refused() -> Response {
    sign_in_answer(
        axum::http::StatusCode::UNAUTHORIZED,
        SIGN_IN.replace("<p id=\"refused\" hidden>", "<p id=\"refused\">"),
    )
}

fn sign_in_answer(status: axum::http::StatusCode, page: String) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; form-action 'self'; frame-ancestors 'none'"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    (status, headers, page).into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, content)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "no-cache")], *content).into_response()
        }
        None => (axum::http::StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
