//! What every request passes through around its handler, outermost first: the Host check, the
//! request id and the browser headers ([`guarded`]); the tokens ([`authenticated`], and the
//! dashboard's [`sign_in`]); the query-string limit and the metrics ([`measured`]).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;

use crate::serve::api::AppState;
use crate::serve::auth;
use crate::serve::error::{ApiError, REQUEST_ID};

/// The longest query string taken: far more than any valid request needs.
const MAX_QUERY_BYTES: usize = 2_048;

/// Every answer gets an id (the `x-request-id` header, and in an error's body, to find the log's
/// details by) and the headers that keep a browser from sniffing its type or framing it; a Host
/// the server does not answer for is refused before anything else ([`crate::serve::hosts::AllowedHosts`]).
pub async fn guarded(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let id = format!("{:016x}", rand::random::<u64>());
    // A Host that is not text cannot be an allowed name.
    let host = request.headers().get(header::HOST).map(|host| host.to_str().unwrap_or("\u{fffd}").to_string());
    let mut response = match state.hosts.allows(host.as_deref()) {
        true => REQUEST_ID.scope(id.clone(), next.run(request)).await,
        false => {
            let refusal = ApiError::HostNotAllowed { host: host.unwrap_or_default(), allowed: state.hosts.describe() };
            REQUEST_ID.scope(id.clone(), async { refusal.into_response() }).await
        }
    };
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&id) {
        headers.insert("x-request-id", id);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static("frame-ancestors 'none'"));
    response
}

/// Answers only who may read ([`auth::Access`]); the page sends a browser without its cookie to the
/// sign-in, anything else gets 401.
pub async fn authenticated(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if state.access.allows(request.uri().path(), auth::presented(request.headers())) {
        return next.run(request).await;
    }
    if request.uri().path() == "/" {
        return Redirect::to("/login").into_response();
    }
    let mut response = ApiError::Unauthorized.into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// What the sign-in form sends.
#[derive(serde::Deserialize)]
pub struct SignIn {
    token: String,
}

/// `POST /login`: a token that opens the server becomes the page's cookie ([`auth::COOKIE`]), and
/// the browser goes to the page; another gets the form again, saying so.
pub async fn sign_in(State(state): State<Arc<AppState>>, Form(form): Form<SignIn>) -> Response {
    let token = form.token.trim();
    if !state.access.allows("/", Some(token)) {
        return crate::serve::dashboard::sign_in_refused();
    }
    let secure = if state.https { "; Secure" } else { "" };
    let cookie = format!("{}={token}; HttpOnly; SameSite=Strict; Path=/{secure}", auth::COOKIE);
    let mut response = Redirect::to("/").into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(cookie) => {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(_) => crate::serve::dashboard::sign_in_refused(),
    }
}

/// Counts and times every request by route and status, and refuses an oversized query string.
pub async fn measured(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    // `:kind` rather than axum's `{kind}`: braces in a label value trip up some scrapers.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".into(), |path| path.as_str().replace('{', ":").replace('}', ""));
    let started = Instant::now();
    let response = match request.uri().query().map_or(0, str::len) > MAX_QUERY_BYTES {
        true => {
            ApiError::bad_request("query string too long", format!("at most {MAX_QUERY_BYTES} bytes")).into_response()
        }
        false => next.run(request).await,
    };
    state.metrics.observe(&route, response.status().as_u16(), started.elapsed());
    response
}
