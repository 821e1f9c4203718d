//! The HTTP API: versioned JSON under `/api/v1`, health at `/healthz` and `/readyz`, metrics at
//! `/metrics`. Every answer names the layer that answered and the batch boundary; every refusal
//! is JSON that says what would be right.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::value::RawValue;
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::EventTime;

use crate::mysql::serving::{LayerMarks, ViewStore};
use crate::serve::answers::{
    BatchBoundary, History, HistoryPoint, RangeAnswer, SpecHeld, Specs, Tweets, WindowAnswer, WindowRows,
};
use crate::serve::auth::Access;
use crate::serve::closed_windows::ClosedWindows;
use crate::serve::error::ApiError;
use crate::serve::hosts::AllowedHosts;
use crate::serve::live::{LiveSnapshot, LiveViews};
use crate::serve::merge::{Answerer, SpecState};
use crate::serve::metrics::Metrics;
use crate::serve::params::{
    time_range, view_kind, HistoryQuery, Params, RangeQuery, TweetsQuery, WindowQuery, DEFAULT_PAGE, MAX_K,
};
use crate::serve::{gate, health, push};
use crate::time::rfc3339;
use crate::vocabulary::snapshot::ViewRows;
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

/// The most windows a hashtag's history covers in one request: a day of one-minute slides.
const MAX_HISTORY: u64 = 1_440;

/// How long a request waits for MySQL before it answers 503.
pub const MYSQL_DEADLINE: Duration = Duration::from_secs(5);

/// The server's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/status", get(health::status))
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
pub async fn mysql<T: Send + 'static>(
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
fn spec_names(marks: &LayerMarks, live: &LiveViews) -> BTreeSet<WindowSpec> {
    marks.boundaries.keys().chain(marks.speed_finals.keys()).copied().chain(live.specs()).collect()
}

/// What each layer holds of `spec` for one kind of view. The speed layer's latest final window
/// is the later of the view table's and the latest final snapshot the server received.
fn spec_state(marks: &LayerMarks, live: &LiveViews, spec: WindowSpec, kind: ViewKind) -> SpecState {
    let received_final = live.closed(spec, kind).map(|closed| closed.window_end());
    let open = live.open(spec, kind).filter(|_| marks.speed_layer().shows_open_windows());
    SpecState {
        boundary: marks.boundaries.get(&spec).copied(),
        speed_final: marks.speed_finals.get(&spec).copied().max(received_final),
        live: open.map(|open| open.window_end()),
    }
}

/// What each layer holds of every window spec, for one kind of view.
fn spec_states(state: &AppState, kind: ViewKind) -> Result<BTreeMap<WindowSpec, SpecState>, ApiError> {
    with_layers(state, |marks, live| {
        Ok(spec_names(marks, live).into_iter().map(|spec| (spec, spec_state(marks, live, spec, kind))).collect())
    })
}

/// `GET /api/v1/specs`: the window specs some layer holds, and what each holds.
async fn specs(State(state): State<Arc<AppState>>) -> Result<Json<Specs>, ApiError> {
    let states = spec_states(&state, ViewKind::Hashtags)?;
    let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
    let specs = states
        .iter()
        .map(|(spec, state)| {
            let open = live.open(*spec, ViewKind::Hashtags).filter(|_| state.live.is_some());
            SpecHeld {
                spec: spec.to_string(),
                boundary: BatchBoundary::of(state.boundary),
                speed_latest_final: state.speed_final.map(rfc3339),
                speed_latest_final_ms: state.speed_final,
                live_window_end: open.map(|open| rfc3339(open.window_end())),
                live_window_end_ms: open.map(|open| open.window_end()),
                live_age_ms: open.map(LiveSnapshot::age_ms),
            }
        })
        .collect();
    Ok(Json(Specs { specs }))
}

/// `GET /api/v1/windows/{kind}?spec=5m/1m[&at=TIME][&k=N]`: one window's ranking, the latest by
/// default.
async fn window(
    State(state): State<Arc<AppState>>,
    Path(kind): Path<String>,
    Params(query): Params<WindowQuery>,
) -> Result<Response, ApiError> {
    let kind = view_kind(&kind)?;
    let (spec, spec_state) = known_spec(&state, query.spec.as_deref(), kind)?;
    let k = query.k.map_or(MAX_K, |k| k.0);
    let (end, answerer) = match query.at {
        None => spec_state
            .latest()
            .ok_or_else(|| ApiError::not_found(format!("no window of {spec} yet"), "a batch or stream run first"))?,
        Some(at) => (at.0, answerer_at(spec, spec_state, at.0)?),
    };
    let answer = |rows: &RawValue, open: Option<&LiveSnapshot>| {
        let window = match open {
            Some(open) => WindowRows::open(open, rows),
            None => WindowRows::closed(&spec, end, answerer, rows),
        };
        let boundary = BatchBoundary::of(spec_state.boundary);
        let age_ms = open.map(LiveSnapshot::age_ms);
        Json(WindowAnswer { spec: spec.to_string(), kind, boundary, age_ms, window }).into_response()
    };
    // The open window, and the latest closed one, from the snapshots received; the rest from
    // the layer's view table.
    if matches!(answerer, Answerer::Live | Answerer::Speed) {
        let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
        let received = match answerer {
            Answerer::Live => Some(
                live.open(spec, kind)
                    .filter(|open| open.window_end() == end)
                    .ok_or_else(|| ApiError::not_found("the open window closed meanwhile", "the same request again"))?,
            ),
            _ => live.closed(spec, kind).filter(|closed| closed.window_end() == end),
        };
        if let Some(received) = received {
            let open = (answerer == Answerer::Live).then_some(received);
            return Ok(answer(&received.rows_json(k).map_err(ApiError::encoding)?, open));
        }
    }
    let layer = if answerer == Answerer::Batch { Layer::Batch } else { Layer::Speed };
    let batch_run = state.marks.read().ok().and_then(|marks| marks.as_ref().and_then(|marks| marks.batch_run));
    let key = (layer, kind, spec, end, k);
    if let Some(rows) = state.closed_windows.get(batch_run, &key) {
        return Ok(answer(&rows, None));
    }
    let rows = mysql(&state, move |store| store.window(layer, kind, spec, end, k)).await?.ok_or_else(|| {
        ApiError::not_found(
            format!("the {} layer holds no window of {spec} ending at {}", layer.name(), rfc3339(end)),
            "another window end",
        )
    })?;
    let rows: Arc<RawValue> = Arc::from(serde_json::value::to_raw_value(&rows).map_err(ApiError::encoding)?);
    state.closed_windows.keep(batch_run, key, rows.clone());
    Ok(answer(&rows, None))
}

/// The layer that answers for the window of `spec` ending at `end`: refused when `end` is no
/// window end of `spec`, or no layer holds the window.
fn answerer_at(spec: WindowSpec, spec_state: SpecState, end: EventTime) -> Result<Answerer, ApiError> {
    if end % spec.slide_ms() != 0 {
        let before = end - end % spec.slide_ms();
        return Err(ApiError::bad_request(
            format!("{} is not a window end of {spec}", rfc3339(end)),
            format!("a multiple of the slide, such as {} or {}", rfc3339(before), rfc3339(before + spec.slide_ms())),
        ));
    }
    spec_state.answerer(end).ok_or_else(|| {
        ApiError::not_found(
            format!("no layer holds the window of {spec} ending at {}", rfc3339(end)),
            format!(
                "a window end up to the latest, {}",
                spec_state.latest().map_or("none yet".into(), |(end, _)| rfc3339(end))
            ),
        )
    })
}

/// `GET /api/v1/windows/{kind}/range?spec=S&from=T&to=T[&k=N][&limit=N][&cursor=C]`: the
/// windows ending from `from` to `to`, each from the layer the merge rule picks, a page of at most
/// `limit` windows at a time; `next_cursor` continues.
async fn range(
    State(state): State<Arc<AppState>>,
    Path(kind): Path<String>,
    Params(query): Params<RangeQuery>,
) -> Result<Json<RangeAnswer<ViewRows>>, ApiError> {
    let kind = view_kind(&kind)?;
    let (spec, spec_state) = known_spec(&state, query.spec.as_deref(), kind)?;
    let k = query.k.map_or(MAX_K, |k| k.0);
    let limit = query.limit.map_or(DEFAULT_PAGE, |limit| limit.0) as u64;
    let (from, to) = time_range(query.from, query.to)?;
    let from = match query.cursor {
        Some(cursor) if !(from..=to).contains(&cursor) => {
            return Err(ApiError::bad_request(
                format!("cursor '{cursor}'"),
                "the next_cursor of the page before, with the same from and to",
            ))
        }
        Some(cursor) => cursor,
        None => from,
    };
    let slide = spec.slide_ms();
    let first = from.div_ceil(slide) * slide;
    let last = to.min(first + (limit - 1) * slide);
    let next_cursor = (first <= to && last + slide <= to).then(|| (last + slide).to_string());
    let mut windows = Vec::new();
    if first <= last {
        let answers = mysql(&state, move |store| {
            closed_windows(spec_state, first, last, |layer, from, to| {
                store.windows_between(layer, kind, spec, from, to, k)
            })
        })
        .await?;
        windows.extend(answers.into_iter().map(|(end, answerer, rows)| WindowRows::closed(&spec, end, answerer, rows)));
        let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
        let open = live.open(spec, kind).filter(|open| {
            (first..=last).contains(&open.window_end())
                && spec_state.answerer(open.window_end()) == Some(Answerer::Live)
        });
        if let Some(open) = open {
            windows.push(WindowRows::open(open, open.rows.first(k)));
        }
    }
    let boundary = BatchBoundary::of(spec_state.boundary);
    Ok(Json(RangeAnswer { spec: spec.to_string(), kind, boundary, windows, next_cursor }))
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
    Params(query): Params<HistoryQuery>,
) -> Result<Json<History>, ApiError> {
    // Stored as extracted: without the '#', lowercased.
    let hashtag = hashtag.trim_start_matches(['#', '＃']).to_lowercase();
    let (spec, spec_state) = known_spec(&state, query.spec.as_deref(), ViewKind::Hashtags)?;
    let (from, to) = time_range(query.from, query.to)?;
    if (to - from) / spec.slide_ms() >= MAX_HISTORY {
        return Err(ApiError::bad_request(
            format!("{} windows of {spec} between from and to", (to - from) / spec.slide_ms() + 1),
            format!("a range of at most {MAX_HISTORY} windows; ask for the rest in another request"),
        ));
    }
    let tag = hashtag.clone();
    let closed = mysql(&state, move |store| {
        closed_windows(spec_state, from, to, |layer, from, to| store.hashtag_between(layer, spec, &tag, from, to))
    })
    .await?;
    let mut windows: Vec<HistoryPoint> =
        closed.into_iter().map(|(end, answerer, ranked)| HistoryPoint::new(end, answerer, ranked)).collect();
    let live = live_window(&state, spec, ViewKind::Hashtags)?.filter(|(end, _)| (from..=to).contains(end));
    if let Some((end, rows)) = live.filter(|(end, _)| spec_state.answerer(*end) == Some(Answerer::Live)) {
        let ranked = rows.hashtag(&hashtag).map(|(rank, count)| (rank as u64, count));
        windows.push(HistoryPoint::new(end, Answerer::Live, ranked));
    }
    let boundary = BatchBoundary::of(spec_state.boundary);
    Ok(Json(History { spec: spec.to_string(), hashtag, boundary, windows }))
}

/// `GET /api/v1/tweets?ids=ID,ID,...`: the archived text, language and time of each tweet (the
/// top tweets views hold ids and counts only). Ids the archive does not hold are left out.
async fn tweets(
    State(state): State<Arc<AppState>>,
    Params(query): Params<TweetsQuery>,
) -> Result<Json<Tweets>, ApiError> {
    let ids = query.ids.0;
    let tweets = mysql(&state, move |store| store.tweet_texts(&ids)).await?;
    Ok(Json(Tweets { tweets }))
}

/// The open window of `spec` for `kind` in the live snapshots: its end and rows.
fn live_window(state: &AppState, spec: WindowSpec, kind: ViewKind) -> Result<Option<(EventTime, ViewRows)>, ApiError> {
    let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
    Ok(live.open(spec, kind).map(|open| (open.window_end(), open.rows.clone())))
}

/// The `spec` parameter, which must name a window spec some layer holds, with what each layer
/// holds of it for `kind`.
fn known_spec(state: &Arc<AppState>, spec: Option<&str>, kind: ViewKind) -> Result<(WindowSpec, SpecState), ApiError> {
    with_layers(state, |marks, live| {
        let held = spec_names(marks, live);
        let known = || held.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let text =
            spec.ok_or_else(|| ApiError::bad_request("spec is missing", format!("spec, one of: {}", known())))?;
        let spec: WindowSpec = text.parse().map_err(|error| {
            ApiError::bad_request(format!("spec '{text}': {error}"), format!("one of: {}", known()))
        })?;
        if !held.contains(&spec) {
            return Err(ApiError::not_found(format!("no views of window spec {spec}"), format!("one of: {}", known())));
        }
        Ok((spec, spec_state(marks, live, spec, kind)))
    })
}
