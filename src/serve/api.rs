//! The HTTP API: versioned JSON under `/api/v1`, health at `/healthz` and `/readyz`, metrics at
//! `/metrics`. Every answer names the layer that answered and the batch boundary; every refusal
//! is JSON that says what would be right.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::ValueEnum;
use serde_json::{json, Value};
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::EventTime;

use crate::serve::live::LiveViews;
use crate::serve::merge::{Answerer, SpecState};
use crate::serve::metrics::Metrics;
use crate::serve::store::ViewStore;
use crate::sink::mysql::{Layer, ViewKind};
use crate::time::{parse_created_at, rfc3339};

/// What every request handler shares.
pub struct AppState {
    pub store: ViewStore,
    pub live: Arc<RwLock<LiveViews>>,
    pub metrics: Metrics,
}

/// The longest query string taken: far more than any valid request needs.
const MAX_QUERY_BYTES: usize = 2_048;

/// The most rows a ranking request may ask for.
const MAX_K: usize = 1_000;

/// How long a request waits for MySQL before it answers 503.
const MYSQL_DEADLINE: Duration = Duration::from_secs(5);

/// The server's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/specs", get(specs))
        .route("/api/v1/windows/{kind}", get(window))
        .fallback(|| async {
            ApiError::not_found(
                "no such endpoint",
                "/api/v1/specs, /api/v1/windows/{kind}, /healthz, /readyz or /metrics",
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), measured))
        .with_state(state)
}

/// A refusal: its status, what was wrong and what would be right.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    expected: Option<String>,
}

impl ApiError {
    fn bad_request(error: impl Into<String>, expected: impl Into<String>) -> Self {
        ApiError { status: StatusCode::BAD_REQUEST, error: error.into(), expected: Some(expected.into()) }
    }

    fn not_found(error: impl Into<String>, expected: impl Into<String>) -> Self {
        ApiError { status: StatusCode::NOT_FOUND, error: error.into(), expected: Some(expected.into()) }
    }

    fn unavailable(error: impl Into<String>) -> Self {
        ApiError { status: StatusCode::SERVICE_UNAVAILABLE, error: error.into(), expected: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.error });
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
        Ok(Ok(Err(error))) => Err(ApiError::unavailable(format!("MySQL did not answer: {error}"))),
        Ok(Err(panic)) => Err(ApiError::unavailable(format!("reading MySQL failed: {panic}"))),
        Err(_) => Err(ApiError::unavailable(format!("MySQL did not answer within {MYSQL_DEADLINE:?}"))),
    }
}

async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let mut reasons = Vec::new();
    if let Err(error) = mysql(&state, |store| store.ping()).await {
        reasons.push(error.error);
    }
    if let Some(error) = state.live.read().ok().and_then(|live| live.broker_error.clone()) {
        reasons.push(format!("the broker: {error}"));
    }
    match reasons.is_empty() {
        true => Json(json!({ "ready": true })).into_response(),
        false => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "ready": false, "reasons": reasons }))).into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let received = state.live.read().map(|live| live.received).unwrap_or(0);
    match state.metrics.render(received) {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(error) => ApiError::unavailable(format!("rendering metrics: {error}")).into_response(),
    }
}

/// What each layer holds of every window spec, for one kind of view.
async fn spec_states(state: &Arc<AppState>, kind: ViewKind) -> Result<BTreeMap<String, SpecState>, ApiError> {
    let (boundaries, finals) = mysql(state, |store| Ok((store.boundaries()?, store.speed_finals()?))).await?;
    let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
    let specs: BTreeSet<String> =
        boundaries.keys().chain(finals.keys()).cloned().chain(live.specs().map(str::to_string)).collect();
    Ok(specs
        .into_iter()
        .map(|spec| {
            let state = SpecState {
                boundary: boundaries.get(&spec).copied(),
                speed_final: finals.get(&spec).copied(),
                live: live.open(&spec, kind).map(|open| open.window_end),
            };
            (spec, state)
        })
        .collect())
}

async fn specs(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let states = spec_states(&state, ViewKind::Hashtags).await?;
    let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
    let specs: Vec<Value> = states
        .iter()
        .map(|(spec, state)| {
            let open = live.open(spec, ViewKind::Hashtags);
            json!({
                "spec": spec,
                "batch_boundary": state.boundary.map(rfc3339),
                "batch_boundary_ms": state.boundary,
                "speed_latest_final": state.speed_final.map(rfc3339),
                "speed_latest_final_ms": state.speed_final,
                "live_window_end": open.map(|open| rfc3339(open.window_end)),
                "live_window_end_ms": open.map(|open| open.window_end),
                "live_age_ms": open.map(|open| open.received.elapsed().as_millis() as u64),
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
) -> Result<Json<Value>, ApiError> {
    let kind = ViewKind::from_str(&kind, true)
        .map_err(|_| ApiError::not_found(format!("no view '{kind}'"), "hashtags, tweets or languages"))?;
    if let Some(unknown) = params.keys().find(|key| !["spec", "at", "k"].contains(&key.as_str())) {
        return Err(ApiError::bad_request(format!("unknown parameter '{unknown}'"), "spec, at and k"));
    }
    let states = spec_states(&state, kind).await?;
    let known = || states.keys().cloned().collect::<Vec<_>>().join(", ");
    let spec_text = params
        .get("spec")
        .ok_or_else(|| ApiError::bad_request("spec is missing", format!("spec, one of: {}", known())))?;
    let spec: WindowSpec = spec_text.parse().map_err(|error| {
        ApiError::bad_request(format!("spec '{spec_text}': {error}"), format!("one of: {}", known()))
    })?;
    let spec_name = spec.to_string();
    let spec_state = *states.get(&spec_name).ok_or_else(|| {
        ApiError::not_found(format!("no views of window spec {spec_name}"), format!("one of: {}", known()))
    })?;
    let k =
        match params.get("k") {
            None => MAX_K,
            Some(text) => text.parse::<usize>().ok().filter(|k| (1..=MAX_K).contains(k)).ok_or_else(|| {
                ApiError::bad_request(format!("k '{text}'"), format!("a whole number from 1 to {MAX_K}"))
            })?,
        };
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
    let (rows, age_ms) = match answerer {
        Answerer::Live => {
            let live = state.live.read().map_err(|_| ApiError::unavailable("the live follower failed"))?;
            let open = live
                .open(&spec_name, kind)
                .filter(|open| open.window_end == end)
                .ok_or_else(|| ApiError::not_found("the open window closed meanwhile", "the same request again"))?;
            let rows: Vec<Value> =
                open.snapshot["rows"].as_array().cloned().unwrap_or_default().into_iter().take(k).collect();
            (rows, Some(open.received.elapsed().as_millis() as u64))
        }
        Answerer::Batch | Answerer::Speed => {
            let layer = if answerer == Answerer::Batch { Layer::Batch } else { Layer::Speed };
            let name = spec_name.clone();
            let rows =
                mysql(&state, move |store| store.window(layer, kind, &name, end, k)).await?.ok_or_else(|| {
                    ApiError::not_found(
                        format!("the {} layer holds no window of {spec_name} ending at {}", layer.name(), rfc3339(end)),
                        "another window end",
                    )
                })?;
            (rows, None)
        }
    };
    Ok(Json(json!({
        "spec": spec_name,
        "kind": kind_name(kind),
        "layer": answerer,
        "final": answerer != Answerer::Live,
        "window_start": rfc3339(end.saturating_sub(spec.length_ms())),
        "window_end": rfc3339(end),
        "window_end_ms": end,
        "batch_boundary": spec_state.boundary.map(rfc3339),
        "batch_boundary_ms": spec_state.boundary,
        "age_ms": age_ms,
        "rows": rows,
    })))
}

fn kind_name(kind: ViewKind) -> &'static str {
    match kind {
        ViewKind::Hashtags => "hashtags",
        ViewKind::Tweets => "tweets",
        ViewKind::Languages => "languages",
    }
}

/// A time given as epoch milliseconds or RFC 3339.
fn parse_time(text: &str) -> Result<EventTime, ApiError> {
    let expected = "epoch milliseconds or RFC 3339, such as 2021-08-29T23:55:00Z";
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| ApiError::bad_request(format!("time '{text}' is out of range"), expected));
    }
    parse_created_at(text).map_err(|error| ApiError::bad_request(format!("time '{text}': {error}"), expected))
}
