//! The HTTP API: versioned JSON under `/api/v1`, health at `/healthz` and `/readyz`, metrics at
//! `/metrics`. Every answer names the layer that answered and the batch boundary; every refusal
//! is JSON that says what would be right.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::EventTime;

use crate::serve::auth::Access;
use crate::serve::closed_windows::ClosedWindows;
use crate::serve::error::ApiError;
use crate::serve::hosts::AllowedHosts;
use crate::serve::live::{LiveSnapshot, LiveViews};
use crate::serve::merge::{Answerer, SpecState};
use crate::serve::metrics::Metrics;
use crate::serve::params::{number, only, parse_time, time_range, view_kind};
use crate::serve::store::{LayerMarks, ViewStore};
use crate::serve::{gate, push};
use crate::time::rfc3339;
use crate::vocabulary::snapshot::{Span, ViewRows};
use crate::vocabulary::{Layer, ViewKind};

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
        .route("/api/v1/live", get(push::live_push))
        .route("/login", get(crate::serve::dashboard::sign_in_page).post(gate::sign_in))
        .merge(crate::serve::dashboard::routes())
        .fallback(|| async { ApiError::not_found("no such endpoint", ENDPOINTS) })
        .layer(middleware::from_fn_with_state(state.clone(), gate::measured))
        .layer(middleware::from_fn_with_state(state.clone(), gate::authenticated))
        .layer(middleware::from_fn_with_state(state.clone(), gate::guarded))
        .with_state(state)
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
/// (see [`crate::vocabulary::snapshot`]).
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
            windows.push(WindowRows::open(&spec, open, open.rows.first(k)));
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
        let ranked = rows.hashtag(&hashtag).map(|(rank, count)| (rank as u64, count));
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

/// The open window of `spec` for `kind` in the live snapshots: its end and rows.
fn live_window(state: &AppState, spec: &str, kind: ViewKind) -> Result<Option<(EventTime, ViewRows)>, ApiError> {
    let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
    Ok(live.open(spec, kind).map(|open| (open.window_end, open.rows.clone())))
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
