//! The HTTP API: versioned JSON under `/api/v1`, health at `/healthz` and `/readyz`, metrics at
//! `/metrics`. Every answer names the layer that answered and the batch boundary; every refusal
//! is JSON that says what would be right.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use clap::ValueEnum;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::EventTime;

use crate::serve::auth::{self, Access};
use crate::serve::closed_windows::ClosedWindows;
use crate::serve::hosts::AllowedHosts;
use crate::serve::live::{Cursor, LiveEvent, LiveSnapshot, LiveViews};
use crate::serve::merge::{Answerer, SpecState};
use crate::serve::metrics::Metrics;
use crate::serve::store::{LayerMarks, ViewStore};
use crate::sink::mysql::{Layer, ViewKind};
use crate::snapshot_message::Span;
use crate::time::{parse_created_at, rfc3339};

/// What every request handler shares.
pub struct AppState {
    pub store: ViewStore,
    /// The layers' marks as last read, refreshed every [`MARKS_EVERY`]; `None` until MySQL first
    /// answers.
    pub marks: RwLock<Option<LayerMarks>>,
    pub live: Arc<RwLock<LiveViews>>,
    pub metrics: Metrics,
    /// Becomes true when the server stops: live pushes end then.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    pub hosts: AllowedHosts,
    pub access: Access,
    /// Whether the server speaks TLS: its sign-in cookie is then `Secure`, never sent in clear.
    pub https: bool,
    pub closed_windows: ClosedWindows,
}

/// How often the server reads the batch boundaries and the speed layer's latest final windows:
/// how long a moved boundary may take to reach the answers.
pub const MARKS_EVERY: Duration = Duration::from_millis(250);

/// Keeps `state.marks` fresh until the server stops: every [`MARKS_EVERY`], one read of MySQL
/// for all requests. While MySQL is away the last marks stay.
pub async fn refresh_marks(state: Arc<AppState>) {
    loop {
        if let Ok(marks) = mysql(&state, ViewStore::marks).await {
            if let Ok(mut kept) = state.marks.write() {
                *kept = Some(marks);
            }
        }
        tokio::time::sleep(MARKS_EVERY).await;
    }
}

/// What the server answers, for a request to anything else.
const ENDPOINTS: &str = "/ (the dashboard), /api/v1/specs, /api/v1/windows/{kind}, \
    /api/v1/windows/{kind}/range, /api/v1/hashtags/{hashtag}/history, /api/v1/tweets, /api/v1/live, \
    /api/v1/status, /healthz, /readyz or /metrics";

/// The most windows one page of a range holds, and the default.
const MAX_PAGE: usize = 500;
const DEFAULT_PAGE: usize = 60;

/// The most windows a hashtag's history covers in one request: a day of one-minute slides.
const MAX_HISTORY: u64 = 1_440;

/// The longest query string taken: far more than any valid request needs.
const MAX_QUERY_BYTES: usize = 2_048;

/// The most rows a ranking request may ask for.
const MAX_K: usize = 1_000;

/// How long a request waits for MySQL before it answers 503.
pub const MYSQL_DEADLINE: Duration = Duration::from_secs(5);

/// The server's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .route("/api/v1/specs", get(specs))
        .route("/api/v1/windows/{kind}", get(window))
        .route("/api/v1/windows/{kind}/range", get(range))
        .route("/api/v1/hashtags/{hashtag}/history", get(history))
        .route("/api/v1/tweets", get(tweets))
        .route("/api/v1/live", get(live_push))
        .route("/login", get(crate::serve::dashboard::sign_in_page).post(sign_in))
        .merge(crate::serve::dashboard::routes())
        .fallback(|| async { ApiError::not_found("no such endpoint", ENDPOINTS) })
        .layer(middleware::from_fn_with_state(state.clone(), measured))
        .layer(middleware::from_fn_with_state(state.clone(), authenticated))
        .layer(middleware::from_fn_with_state(state.clone(), guarded))
        .with_state(state)
}

tokio::task_local! {
    /// The id of the request being answered, for its answer and the log.
    static REQUEST_ID: String;
}

/// Every answer gets an id (the `x-request-id` header, and in an error's body, to find the log's
/// details by) and the headers that keep a browser from sniffing its type or framing it; a Host
/// the server does not answer for is refused before anything else ([`AllowedHosts`]).
async fn guarded(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let id = format!("{:016x}", rand::random::<u64>());
    // A Host that is not text cannot be an allowed name.
    let host = request.headers().get(header::HOST).map(|host| host.to_str().unwrap_or("\u{fffd}").to_string());
    let mut response = match state.hosts.allows(host.as_deref()) {
        true => REQUEST_ID.scope(id.clone(), next.run(request)).await,
        false => {
            let refusal = ApiError {
                status: StatusCode::MISDIRECTED_REQUEST,
                code: "host_not_allowed",
                error: format!("this server does not answer for host '{}'", host.unwrap_or_default()),
                expected: Some(format!("a Host of: {} (serve --allow-host)", state.hosts.describe())),
                detail: None,
            };
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

/// Answers only who may read ([`Access`]); the page sends a browser without its cookie to the
/// sign-in, anything else gets 401.
async fn authenticated(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if state.access.allows(request.uri().path(), auth::presented(request.headers())) {
        return next.run(request).await;
    }
    if request.uri().path() == "/" {
        return Redirect::to("/login").into_response();
    }
    let refusal = ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "unauthorized",
        error: "this server answers only the holders of a token".into(),
        expected: Some("a header Authorization: Bearer TOKEN, with a token of serve's --auth-token-file".into()),
        detail: None,
    };
    let mut response = refusal.into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// What the sign-in form sends.
#[derive(serde::Deserialize)]
struct SignIn {
    token: String,
}

/// `POST /login`: a token that opens the server becomes the page's cookie ([`auth::COOKIE`]), and
/// the browser goes to the page; another gets the form again, saying so.
async fn sign_in(State(state): State<Arc<AppState>>, Form(form): Form<SignIn>) -> Response {
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

/// A refusal: its status, a stable code, what was wrong and what would be right; details a
/// client may not see (a server's error text names users, hosts and brokers) go to the log, with
/// the request's id, which the answer gives.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    error: String,
    expected: Option<String>,
    detail: Option<String>,
}

impl ApiError {
    fn bad_request(error: impl Into<String>, expected: impl Into<String>) -> Self {
        let expected = Some(expected.into());
        ApiError { status: StatusCode::BAD_REQUEST, code: "bad_request", error: error.into(), expected, detail: None }
    }

    fn not_found(error: impl Into<String>, expected: impl Into<String>) -> Self {
        let expected = Some(expected.into());
        ApiError { status: StatusCode::NOT_FOUND, code: "not_found", error: error.into(), expected, detail: None }
    }

    fn unavailable(error: impl Into<String>) -> Self {
        let status = StatusCode::SERVICE_UNAVAILABLE;
        ApiError { status, code: "unavailable", error: error.into(), expected: None, detail: None }
    }

    /// Rows that would not encode as JSON: a fault of the server, not of the request.
    fn encoding(error: serde_json::Error) -> Self {
        let status = StatusCode::INTERNAL_SERVER_ERROR;
        let detail = Some(format!("encoding rows: {error}"));
        ApiError { status, code: "internal", error: "the answer could not be encoded".into(), expected: None, detail }
    }

    /// The same refusal, with `detail` for the log alone.
    fn with_detail(self, detail: String) -> Self {
        ApiError { detail: Some(detail), ..self }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = REQUEST_ID.try_with(String::clone).unwrap_or_default();
        if let Some(detail) = &self.detail {
            log::warn!("request {request_id}: {}: {detail}", self.error);
        }
        let mut body = json!({ "error": self.error, "code": self.code, "request_id": request_id });
        if let Some(expected) = self.expected {
            body["expected"] = json!(expected);
        }
        (self.status, Json(body)).into_response()
    }
}

/// Counts and times every request by route and status, and refuses an oversized query string.
async fn measured(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
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

/// Runs a MySQL read off the async threads, within [`MYSQL_DEADLINE`]; 503 if MySQL does not
/// answer.
async fn mysql<T: Send + 'static>(
    state: &Arc<AppState>,
    read: impl FnOnce(&ViewStore) -> mysql::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    let reading = tokio::task::spawn_blocking(move || read(&store));
    match tokio::time::timeout(MYSQL_DEADLINE, reading).await {
        Ok(Ok(Ok(value))) => Ok(value),
        Ok(Ok(Err(error))) => Err(ApiError::unavailable("MySQL is not answering").with_detail(error.to_string())),
        Ok(Err(panic)) => Err(ApiError::unavailable("reading MySQL failed").with_detail(panic.to_string())),
        Err(_) => Err(ApiError::unavailable(format!("MySQL did not answer within {MYSQL_DEADLINE:?}"))),
    }
}

/// What the server depends on and how each stands: MySQL, and the ranking topics the live
/// follower reads (`None` where all is well).
struct Dependencies {
    mysql: Option<String>,
    live: Option<String>,
    live_starting: bool,
}

impl Dependencies {
    async fn of(state: &Arc<AppState>) -> Self {
        let mysql = mysql(state, |store| store.ping()).await.err().map(|error| error.error);
        let (live, live_starting) = match state.live.read() {
            Ok(live) => (live.not_ready.clone(), live.starting),
            Err(_) => (Some("the live follower failed".into()), false),
        };
        Dependencies { mysql, live: live.map(|error| format!("the ranking topics: {error}")), live_starting }
    }

    /// Ready: MySQL answers, so every closed window can be, and the live follower is not still
    /// reading its backlog. A broker away, or ranking topics that do not exist (a batch-only
    /// deployment), leave the server ready but degraded: it answers without the open window.
    fn ready(&self) -> bool {
        self.mysql.is_none() && !self.live_starting
    }

    /// What makes a ready server answer less than it could.
    fn degraded(&self) -> Vec<String> {
        self.live.iter().filter(|_| self.ready()).cloned().collect()
    }
}

/// `GET /readyz`: 200 while the server can answer every closed window ([`Dependencies::ready`]),
/// with what it lacks (`degraded`); else 503 with the reasons.
async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let dependencies = Dependencies::of(&state).await;
    match dependencies.ready() {
        true => Json(json!({ "ready": true, "degraded": dependencies.degraded() })).into_response(),
        false => {
            let reasons: Vec<String> = dependencies.mysql.into_iter().chain(dependencies.live).collect();
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "ready": false, "reasons": reasons }))).into_response()
        }
    }
}

/// `GET /api/v1/status`: the same as `/readyz`, always as 200, for a page that shows it (a
/// browser reports every 503 it fetches as an error), and whether the speed layer runs. A speed
/// layer that stopped leaves the server ready: the batch layer and the speed layer's final views
/// still answer every closed window, and the latest window is the last final one.
async fn status(State(state): State<Arc<AppState>>) -> Json<Value> {
    let dependencies = Dependencies::of(&state).await;
    let speed_layer = state.marks.read().ok().and_then(|marks| marks.as_ref().map(LayerMarks::speed_layer));
    Json(json!({
        "ready": dependencies.ready(),
        "degraded": dependencies.degraded(),
        "mysql": dependencies.mysql,
        "live": dependencies.live,
        "speed_layer": speed_layer,
    }))
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let received = state.live.read().map(|live| live.received).unwrap_or(0);
    match state.metrics.render(received) {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(error) => {
            ApiError::unavailable("the metrics could not be rendered").with_detail(error.to_string()).into_response()
        }
    }
}

/// Reads the layers' marks and the live views, both under their locks.
fn with_layers<T>(
    state: &AppState,
    read: impl FnOnce(&LayerMarks, &LiveViews) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let marks = state.marks.read().map_err(|_| ApiError::unavailable("reading MySQL failed"))?;
    let marks = marks.as_ref().ok_or_else(|| ApiError::unavailable("MySQL has not answered yet"))?;
    let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
    read(marks, &live)
}

/// The window specs some layer holds.
fn spec_names<'a>(marks: &'a LayerMarks, live: &'a LiveViews) -> BTreeSet<&'a str> {
    marks.boundaries.keys().chain(marks.speed_finals.keys()).map(String::as_str).chain(live.specs()).collect()
}

/// What each layer holds of `spec` for one kind of view. The speed layer's latest final window
/// is the later of the view table's and the latest final snapshot the server received.
fn spec_state(marks: &LayerMarks, live: &LiveViews, spec: &str, kind: ViewKind) -> SpecState {
    let received_final = live.closed(spec, kind).map(|closed| closed.window_end);
    let open = live.open(spec, kind).filter(|_| marks.speed_layer().shows_open_windows());
    SpecState {
        boundary: marks.boundaries.get(spec).copied(),
        speed_final: marks.speed_finals.get(spec).copied().max(received_final),
        live: open.map(|open| open.window_end),
    }
}

/// What each layer holds of every window spec, for one kind of view.
fn spec_states(state: &AppState, kind: ViewKind) -> Result<BTreeMap<String, SpecState>, ApiError> {
    with_layers(state, |marks, live| {
        Ok(spec_names(marks, live)
            .into_iter()
            .map(|spec| (spec.to_string(), spec_state(marks, live, spec, kind)))
            .collect())
    })
}

async fn specs(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let states = spec_states(&state, ViewKind::Hashtags)?;
    let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
    let specs: Vec<Value> = states
        .iter()
        .map(|(spec, state)| {
            let open = live.open(spec, ViewKind::Hashtags).filter(|_| state.live.is_some());
            json!({
                "spec": spec,
                "batch_boundary": state.boundary.map(rfc3339),
                "batch_boundary_ms": state.boundary,
                "speed_latest_final": state.speed_final.map(rfc3339),
                "speed_latest_final_ms": state.speed_final,
                "live_window_end": open.map(|open| rfc3339(open.window_end)),
                "live_window_end_ms": open.map(|open| open.window_end),
                "live_age_ms": open.map(LiveSnapshot::age_ms),
            })
        })
        .collect();
    Ok(Json(json!({ "specs": specs })))
}

/// `GET /api/v1/windows/{kind}?spec=5m/1m[&at=TIME][&k=N]`: one window's ranking, the latest by
/// default.
async fn window(
    State(state): State<Arc<AppState>>,
    Path(kind): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let kind = view_kind(&kind)?;
    only(&params, &["spec", "at", "k"])?;
    let (spec, spec_state) = known_spec(&state, &params, kind)?;
    let spec_name = spec.to_string();
    let k = number(&params, "k", MAX_K, 1..=MAX_K)?;
    let (end, answerer) = match params.get("at") {
        None => spec_state.latest().ok_or_else(|| {
            ApiError::not_found(format!("no window of {spec_name} yet"), "a batch or stream run first")
        })?,
        Some(text) => {
            let end = parse_time(text)?;
            if end % spec.slide_ms() != 0 {
                let before = end - end % spec.slide_ms();
                return Err(ApiError::bad_request(
                    format!("{} is not a window end of {spec_name}", rfc3339(end)),
                    format!(
                        "a multiple of the slide, such as {} or {}",
                        rfc3339(before),
                        rfc3339(before + spec.slide_ms())
                    ),
                ));
            }
            let answerer = spec_state.answerer(end).ok_or_else(|| {
                ApiError::not_found(
                    format!("no layer holds the window of {spec_name} ending at {}", rfc3339(end)),
                    format!(
                        "a window end up to the latest, {}",
                        spec_state.latest().map_or("none yet".into(), |(end, _)| rfc3339(end))
                    ),
                )
            })?;
            (end, answerer)
        }
    };
    let answer = |rows: &RawValue, open: Option<&LiveSnapshot>| {
        let window = match open {
            Some(open) => WindowRows::open(&spec, open, rows),
            None => WindowRows::new(&spec, end, answerer, rows),
        };
        let age_ms = open.map(LiveSnapshot::age_ms);
        let boundary = spec_state.boundary;
        let answer = WindowAnswer {
            spec: &spec_name,
            kind: kind.name(),
            batch_boundary: boundary.map(rfc3339),
            batch_boundary_ms: boundary,
            age_ms,
            window,
        };
        Json(answer).into_response()
    };
    // The open window, and the latest closed one, from the snapshots received; the rest from
    // the layer's view table.
    if matches!(answerer, Answerer::Live | Answerer::Speed) {
        let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
        let received = match answerer {
            Answerer::Live => Some(
                live.open(&spec_name, kind)
                    .filter(|open| open.window_end == end)
                    .ok_or_else(|| ApiError::not_found("the open window closed meanwhile", "the same request again"))?,
            ),
            _ => live.closed(&spec_name, kind).filter(|closed| closed.window_end == end),
        };
        if let Some(received) = received {
            let open = (answerer == Answerer::Live).then_some(received);
            return Ok(answer(&received.rows_json(k).map_err(ApiError::encoding)?, open));
        }
    }
    let layer = if answerer == Answerer::Batch { Layer::Batch } else { Layer::Speed };
    let batch_run = state.marks.read().ok().and_then(|marks| marks.as_ref().and_then(|marks| marks.batch_run));
    let key = (layer, kind, spec_name.clone(), end, k);
    if let Some(rows) = state.closed_windows.get(batch_run, &key) {
        return Ok(answer(&rows, None));
    }
    let name = spec_name.clone();
    let rows = mysql(&state, move |store| store.window(layer, kind, &name, end, k)).await?.ok_or_else(|| {
        ApiError::not_found(
            format!("the {} layer holds no window of {spec_name} ending at {}", layer.name(), rfc3339(end)),
            "another window end",
        )
    })?;
    let rows: Arc<RawValue> = Arc::from(serde_json::value::to_raw_value(&rows).map_err(ApiError::encoding)?);
    state.closed_windows.keep(batch_run, key, rows.clone());
    Ok(answer(&rows, None))
}

/// The answer for one window: the query, the batch boundary, and the window's rows.
#[derive(Serialize)]
struct WindowAnswer<'a> {
    spec: &'a str,
    kind: &'static str,
    batch_boundary: Option<String>,
    batch_boundary_ms: Option<EventTime>,
    /// How long ago the server received the live snapshot answered from.
    age_ms: Option<u64>,
    #[serde(flatten)]
    window: WindowRows<&'a RawValue>,
}

/// One window's rows, which layer they came from, and what they count: a closed window's rows
/// count the window, the open window's the rolling span of the last window length up to `as_of`
/// (see [`crate::snapshot_message`]).
#[derive(Serialize)]
struct WindowRows<R> {
    window_start: String,
    window_end: String,
    window_end_ms: EventTime,
    layer: Answerer,
    #[serde(rename = "final")]
    is_final: bool,
    span: Span,
    span_start: String,
    span_start_ms: EventTime,
    as_of: String,
    as_of_ms: EventTime,
    rows: R,
}

impl<R> WindowRows<R> {
    /// The rows of the closed window of `spec` ending at `end`.
    fn new(spec: &WindowSpec, end: EventTime, answerer: Answerer, rows: R) -> Self {
        let start = end.saturating_sub(spec.length_ms());
        WindowRows {
            window_start: rfc3339(start),
            window_end: rfc3339(end),
            window_end_ms: end,
            layer: answerer,
            is_final: true,
            span: Span::Window,
            span_start: rfc3339(start),
            span_start_ms: start,
            as_of: rfc3339(end),
            as_of_ms: end,
            rows,
        }
    }

    /// The rows of the open window of `spec`, as the live snapshot `open` counts them.
    fn open(spec: &WindowSpec, open: &LiveSnapshot, rows: R) -> Self {
        WindowRows {
            is_final: false,
            span: open.span,
            span_start: rfc3339(open.span_start),
            span_start_ms: open.span_start,
            as_of: rfc3339(open.as_of),
            as_of_ms: open.as_of,
            ..WindowRows::new(spec, open.window_end, Answerer::Live, rows)
        }
    }
}

/// `GET /api/v1/windows/{kind}/range?spec=S&from=T&to=T[&k=N][&limit=N][&cursor=C]`: the
/// windows ending from `from` to `to`, each from the layer the merge rule picks, a page of at most
/// `limit` windows at a time; `next_cursor` continues.
async fn range(
    State(state): State<Arc<AppState>>,
    Path(kind): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let kind = view_kind(&kind)?;
    only(&params, &["spec", "from", "to", "k", "limit", "cursor"])?;
    let (spec, spec_state) = known_spec(&state, &params, kind)?;
    let k = number(&params, "k", MAX_K, 1..=MAX_K)?;
    let limit = number(&params, "limit", DEFAULT_PAGE, 1..=MAX_PAGE)? as u64;
    let (from, to) = time_range(&params)?;
    let from = match params.get("cursor") {
        Some(cursor) => {
            cursor.parse::<EventTime>().ok().filter(|cursor| (from..=to).contains(cursor)).ok_or_else(|| {
                ApiError::bad_request(
                    format!("cursor '{cursor}'"),
                    "the next_cursor of the page before, with the same from and to",
                )
            })?
        }
        None => from,
    };
    let slide = spec.slide_ms();
    let first = from.div_ceil(slide) * slide;
    let last = to.min(first + (limit - 1) * slide);
    let next = (first <= to && last + slide <= to).then(|| (last + slide).to_string());
    let mut windows = Vec::new();
    if first <= last {
        let spec_name = spec.to_string();
        let name = spec_name.clone();
        let answers = mysql(&state, move |store| {
            closed_windows(spec_state, first, last, |layer, from, to| {
                store.windows_between(layer, kind, &name, from, to, k)
            })
        })
        .await?;
        windows.extend(answers.into_iter().map(|(end, answerer, rows)| WindowRows::new(&spec, end, answerer, rows)));
        let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
        let open = live.open(&spec_name, kind).filter(|open| {
            (first..=last).contains(&open.window_end) && spec_state.answerer(open.window_end) == Some(Answerer::Live)
        });
        if let Some(open) = open {
            windows.push(WindowRows::open(&spec, open, open.rows.iter().take(k).cloned().collect()));
        }
    }
    Ok(Json(json!({
        "spec": spec.to_string(),
        "kind": kind.name(),
        "batch_boundary": spec_state.boundary.map(rfc3339),
        "batch_boundary_ms": spec_state.boundary,
        "windows": windows,
        "next_cursor": next,
    })))
}

/// What `read` finds in the closed windows ending in `from..=to`, each read from the layer that
/// answers for it: the batch layer up to the boundary, the speed layer after it up to its latest
/// final window. `read(layer, from, to)` reads one layer's windows in a range, by window end.
fn closed_windows<T>(
    state: SpecState,
    from: EventTime,
    to: EventTime,
    read: impl Fn(Layer, EventTime, EventTime) -> mysql::Result<BTreeMap<EventTime, T>>,
) -> mysql::Result<Vec<(EventTime, Answerer, T)>> {
    let mut windows = Vec::new();
    if let Some(boundary) = state.boundary.filter(|boundary| *boundary >= from) {
        let batch = read(Layer::Batch, from, to.min(boundary))?;
        windows.extend(batch.into_iter().map(|(end, found)| (end, Answerer::Batch, found)));
    }
    let after = state.boundary.map_or(from, |boundary| from.max(boundary + 1));
    if let Some(last) = state.speed_final.map(|last| last.min(to)).filter(|last| *last >= after) {
        let speed = read(Layer::Speed, after, last)?;
        windows.extend(speed.into_iter().map(|(end, found)| (end, Answerer::Speed, found)));
    }
    Ok(windows)
}

/// `GET /api/v1/hashtags/{hashtag}/history?spec=S&from=T&to=T`: the hashtag's rank and count in
/// each window ending from `from` to `to` (`null` where it is not among the top K), for charts.
async fn history(
    State(state): State<Arc<AppState>>,
    Path(hashtag): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    only(&params, &["spec", "from", "to"])?;
    // Stored as extracted: without the '#', lowercased.
    let hashtag = hashtag.trim_start_matches(['#', '＃']).to_lowercase();
    let (spec, spec_state) = known_spec(&state, &params, ViewKind::Hashtags)?;
    let (from, to) = time_range(&params)?;
    if (to - from) / spec.slide_ms() >= MAX_HISTORY {
        return Err(ApiError::bad_request(
            format!("{} windows of {spec} between from and to", (to - from) / spec.slide_ms() + 1),
            format!("a range of at most {MAX_HISTORY} windows; ask for the rest in another request"),
        ));
    }
    let spec_name = spec.to_string();
    let (name, tag) = (spec_name.clone(), hashtag.clone());
    let closed = mysql(&state, move |store| {
        closed_windows(spec_state, from, to, |layer, from, to| store.hashtag_between(layer, &name, &tag, from, to))
    })
    .await?;
    let point = |end: EventTime, answerer: Answerer, ranked: Option<(u64, u64)>| {
        json!({
            "window_end": rfc3339(end),
            "window_end_ms": end,
            "layer": answerer,
            "rank": ranked.map(|(rank, _)| rank),
            "count": ranked.map(|(_, count)| count),
        })
    };
    let mut points: Vec<Value> =
        closed.into_iter().map(|(end, answerer, ranked)| point(end, answerer, ranked)).collect();
    let live = live_window(&state, &spec_name, ViewKind::Hashtags)?.filter(|(end, _)| (from..=to).contains(end));
    if let Some((end, rows)) = live.filter(|(end, _)| spec_state.answerer(*end) == Some(Answerer::Live)) {
        let ranked = rows
            .iter()
            .find(|row| row["hashtag"] == hashtag.as_str())
            .and_then(|row| Some((row["rank"].as_u64()?, row["count"].as_u64()?)));
        points.push(point(end, Answerer::Live, ranked));
    }
    Ok(Json(json!({
        "spec": spec_name,
        "hashtag": hashtag,
        "batch_boundary": spec_state.boundary.map(rfc3339),
        "batch_boundary_ms": spec_state.boundary,
        "windows": points,
    })))
}

/// The most tweets one request may ask for.
const MAX_TWEETS: usize = 100;

/// `GET /api/v1/tweets?ids=ID,ID,...`: the archived text, language and time of each tweet (the
/// top tweets views hold ids and counts only). Ids the archive does not hold are left out.
async fn tweets(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    only(&params, &["ids"])?;
    let expected = format!("ids, from 1 to {MAX_TWEETS} tweet ids separated by commas");
    let text = params.get("ids").ok_or_else(|| ApiError::bad_request("ids is missing", expected.clone()))?;
    let ids: Vec<u64> = text
        .split(',')
        .map(|id| id.trim().parse::<u64>().map_err(|_| ApiError::bad_request(format!("tweet id '{id}'"), &expected)))
        .collect::<Result<_, _>>()?;
    if ids.len() > MAX_TWEETS {
        return Err(ApiError::bad_request(format!("{} tweet ids", ids.len()), expected));
    }
    let tweets = mysql(&state, move |store| store.tweet_texts(&ids)).await?;
    Ok(Json(json!({ "tweets": tweets })))
}

/// `GET /api/v1/live[?spec=S][&kind=K]`: Server-Sent Events, one per ranking snapshot the speed
/// layer publishes from now on (or, with a `Last-Event-ID` header, from the one after that id,
/// which any server following the same topics understands: a [`Cursor`] of the broker's offsets).
/// Each event's name is its kind, its data the snapshot as published; a `reset` event tells a
/// client whose id the server cannot resume from to reload what it shows. A client too slow for
/// the stream is disconnected, to reconnect with its `Last-Event-ID`. Each event's frame is
/// encoded once for all clients ([`LiveEvent`]).
async fn live_push(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    only(&params, &["spec", "kind"])?;
    let spec = params
        .get("spec")
        .map(|text| {
            text.parse::<WindowSpec>().map(|spec| spec.to_string()).map_err(|error| {
                ApiError::bad_request(format!("spec '{text}': {error}"), "a window spec such as 5m/1m")
            })
        })
        .transpose()?;
    let kind = params.get("kind").map(|kind| view_kind(kind)).transpose()?;
    let last_seen = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(value.to_str().ok().and_then(Cursor::parse).ok_or_else(|| {
            ApiError::bad_request("Last-Event-ID is not an event id", "the id of the last event received")
        })?),
    };
    let subscription =
        state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?.subscribe(last_seen.as_ref());
    let (missed, receiver, cursor, reset) =
        (subscription.missed, subscription.later, subscription.cursor, subscription.reset);
    let connected = state.metrics.sse_connected();
    let wanted = Arc::new(move |event: &LiveEvent| {
        spec.as_deref().is_none_or(|spec| spec == event.spec) && kind.is_none_or(|kind| kind == event.kind)
    });
    /// What the live push waits for next.
    enum Next {
        Event(Arc<LiveEvent>),
        KeepAlive,
        End,
    }
    let stopping = state.stopping.clone();
    let frames = futures_util::stream::unfold(
        (missed.into_iter(), receiver, cursor, connected, stopping),
        move |(mut missed, mut receiver, mut cursor, connected, mut stopping)| {
            let wanted = wanted.clone();
            async move {
                loop {
                    let next = match missed.next() {
                        Some(event) => Next::Event(event),
                        None => tokio::select! {
                            received = receiver.recv() => match received {
                                Ok(event) => Next::Event(event),
                                // Lagged behind the buffer, or the follower stopped: the client
                                // reconnects with its Last-Event-ID.
                                Err(_) => Next::End,
                            },
                            // The server is stopping: the stream ends, so that its connection can.
                            _ = stopping.wait_for(|stopping| *stopping) => Next::End,
                            () = tokio::time::sleep(KEEP_ALIVE_EVERY) => Next::KeepAlive,
                        },
                    };
                    let event = match next {
                        Next::Event(event) => event,
                        Next::End => return None,
                        Next::KeepAlive => {
                            let comment = Bytes::from_static(b": keep-alive\n\n");
                            return Some((
                                Ok::<_, Infallible>(comment),
                                (missed, receiver, cursor, connected, stopping),
                            ));
                        }
                    };
                    if cursor.has_passed(&event) {
                        continue;
                    }
                    cursor.advance(&event);
                    if wanted(&event) {
                        return Some((Ok(event.frame.clone()), (missed, receiver, cursor, connected, stopping)));
                    }
                }
            }
        },
    );
    // A client the server cannot resume gets a reset first, then everything from now on.
    let frames = futures_util::StreamExt::chain(futures_util::stream::iter(reset.map(Ok::<_, Infallible>)), frames);
    let headers = [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")];
    Ok((headers, Body::from_stream(frames)).into_response())
}

/// How long a live-push connection may go without a byte before it gets a comment, so that
/// proxies and clients do not take a quiet stream for a dead one.
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);

/// The open window of `spec` for `kind` in the live snapshots: its end and rows.
fn live_window(state: &AppState, spec: &str, kind: ViewKind) -> Result<Option<(EventTime, Vec<Value>)>, ApiError> {
    let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
    Ok(live.open(spec, kind).map(|open| (open.window_end, open.rows.clone())))
}

/// The view named `kind` in a path.
fn view_kind(kind: &str) -> Result<ViewKind, ApiError> {
    ViewKind::from_str(kind, true)
        .map_err(|_| ApiError::not_found(format!("no view '{kind}'"), "hashtags, tweets, languages or trending"))
}

/// Refuses a parameter not in `allowed`.
fn only(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(unknown) => Err(ApiError::bad_request(format!("unknown parameter '{unknown}'"), allowed.join(", "))),
        None => Ok(()),
    }
}

/// The `spec` parameter, which must name a window spec some layer holds, with what each layer
/// holds of it for `kind`.
fn known_spec(
    state: &Arc<AppState>,
    params: &HashMap<String, String>,
    kind: ViewKind,
) -> Result<(WindowSpec, SpecState), ApiError> {
    with_layers(state, |marks, live| {
        let known = || spec_names(marks, live).into_iter().collect::<Vec<_>>().join(", ");
        let text = params
            .get("spec")
            .ok_or_else(|| ApiError::bad_request("spec is missing", format!("spec, one of: {}", known())))?;
        let spec: WindowSpec = text.parse().map_err(|error| {
            ApiError::bad_request(format!("spec '{text}': {error}"), format!("one of: {}", known()))
        })?;
        let name = spec.to_string();
        let held = marks.boundaries.contains_key(&name)
            || marks.speed_finals.contains_key(&name)
            || live.specs().any(|held| held == name);
        if !held {
            return Err(ApiError::not_found(format!("no views of window spec {spec}"), format!("one of: {}", known())));
        }
        let spec_state = spec_state(marks, live, &name, kind);
        Ok((spec, spec_state))
    })
}

/// The whole-number parameter `name`, `default` when absent.
fn number(
    params: &HashMap<String, String>,
    name: &str,
    default: usize,
    allowed: std::ops::RangeInclusive<usize>,
) -> Result<usize, ApiError> {
    match params.get(name) {
        None => Ok(default),
        Some(text) => text.parse::<usize>().ok().filter(|n| allowed.contains(n)).ok_or_else(|| {
            let expected = format!("a whole number from {} to {}", allowed.start(), allowed.end());
            ApiError::bad_request(format!("{name} '{text}'"), expected)
        }),
    }
}

/// The `from` and `to` parameters: both required, `from` not after `to`.
fn time_range(params: &HashMap<String, String>) -> Result<(EventTime, EventTime), ApiError> {
    let time = |name: &str| {
        let text = params.get(name).ok_or_else(|| {
            ApiError::bad_request(format!("{name} is missing"), "from and to, as epoch ms or RFC 3339")
        })?;
        parse_time(text)
    };
    let (from, to) = (time("from")?, time("to")?);
    if from > to {
        let error = format!("from {} is after to {}", rfc3339(from), rfc3339(to));
        return Err(ApiError::bad_request(error, "from at or before to"));
    }
    Ok((from, to))
}

/// The latest time a request may name, 9999-12-31T23:59:59.999Z: the arithmetic on a time (its
/// window's end, a range's windows) then stays far from overflowing.
const LATEST_TIME: EventTime = 253_402_300_799_999;

/// A time given as epoch milliseconds or RFC 3339, at most [`LATEST_TIME`].
fn parse_time(text: &str) -> Result<EventTime, ApiError> {
    let expected = "epoch milliseconds or RFC 3339 up to year 9999, such as 2021-08-29T23:55:00Z";
    let time = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok().filter(|time| *time <= LATEST_TIME)
    } else {
        Some(
            parse_created_at(text)
                .map_err(|error| ApiError::bad_request(format!("time '{text}': {error}"), expected))?,
        )
    };
    time.filter(|time| *time <= LATEST_TIME)
        .ok_or_else(|| ApiError::bad_request(format!("time '{text}' is out of range"), expected))
}
