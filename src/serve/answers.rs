//! The API's answers, one type each: what `/api/v1` and the health endpoints return, so that a
//! field is named once (the batch boundary beside every answer, a window's span in every
//! window) and the page, the tests and the benchmarks read the same shapes.

use serde::Serialize;
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::EventTime;

use crate::mysql::serving::{SpeedLayer, StoredText};
use crate::serve::live::LiveSnapshot;
use crate::serve::merge::Answerer;
use crate::time::rfc3339;
use crate::vocabulary::snapshot::Coverage;
use crate::vocabulary::ViewKind;

/// The latest complete batch run's boundary of a spec, which every answer names: windows ending
/// at or before it come from the batch layer.
#[derive(Serialize)]
pub struct BatchBoundary {
    pub batch_boundary: Option<String>,
    pub batch_boundary_ms: Option<EventTime>,
}

impl BatchBoundary {
    pub fn of(boundary: Option<EventTime>) -> Self {
        BatchBoundary { batch_boundary: boundary.map(rfc3339), batch_boundary_ms: boundary }
    }
}

/// `GET /healthz`.
#[derive(Serialize)]
pub struct Health {
    pub status: &'static str,
}

/// `GET /readyz`: ready, and what it lacks; or not, and why.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Readiness {
    Ready { ready: bool, degraded: Vec<String> },
    NotReady { ready: bool, reasons: Vec<String> },
}

/// `GET /api/v1/status`.
#[derive(Serialize)]
pub struct Status {
    pub ready: bool,
    pub degraded: Vec<String>,
    /// What is wrong with MySQL, if anything.
    pub mysql: Option<String>,
    /// What is wrong with the ranking topics, if anything.
    pub live: Option<String>,
    pub speed_layer: Option<SpeedLayer>,
}

/// `GET /api/v1/specs`.
#[derive(Serialize)]
pub struct Specs {
    pub specs: Vec<SpecHeld>,
}

/// What the layers hold of one window spec.
#[derive(Serialize)]
pub struct SpecHeld {
    pub spec: String,
    #[serde(flatten)]
    pub boundary: BatchBoundary,
    pub speed_latest_final: Option<String>,
    pub speed_latest_final_ms: Option<EventTime>,
    pub live_window_end: Option<String>,
    pub live_window_end_ms: Option<EventTime>,
    pub live_age_ms: Option<u64>,
}

/// `GET /api/v1/windows/{kind}`: one window.
#[derive(Serialize)]
pub struct WindowAnswer<R> {
    pub spec: String,
    pub kind: ViewKind,
    #[serde(flatten)]
    pub boundary: BatchBoundary,
    /// How long ago the server received the live snapshot answered from.
    pub age_ms: Option<u64>,
    #[serde(flatten)]
    pub window: WindowRows<R>,
}

/// `GET /api/v1/windows/{kind}/range`: a page of windows.
#[derive(Serialize)]
pub struct RangeAnswer<R> {
    pub spec: String,
    pub kind: ViewKind,
    #[serde(flatten)]
    pub boundary: BatchBoundary,
    pub windows: Vec<WindowRows<R>>,
    /// The `cursor` of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// One window's rows, which layer they came from, and what they count: a closed window's rows
/// count the window, the open window's the rolling span of the last window length up to `as_of`
/// (see [`crate::vocabulary::snapshot`]).
#[derive(Serialize)]
pub struct WindowRows<R> {
    #[serde(flatten)]
    pub coverage: Coverage,
    pub layer: Answerer,
    pub rows: R,
}

impl<R> WindowRows<R> {
    /// The rows of the closed window of `spec` ending at `end`.
    pub fn closed(spec: &WindowSpec, end: EventTime, answerer: Answerer, rows: R) -> Self {
        WindowRows { coverage: Coverage::closed(end.saturating_sub(spec.length_ms()), end), layer: answerer, rows }
    }

    /// The rows of the open window, as the live snapshot `open` counts them.
    pub fn open(open: &LiveSnapshot, rows: R) -> Self {
        WindowRows { coverage: open.coverage.clone(), layer: Answerer::Live, rows }
    }
}

/// `GET /api/v1/hashtags/{hashtag}/history`.
#[derive(Serialize)]
pub struct History {
    pub spec: String,
    pub hashtag: String,
    #[serde(flatten)]
    pub boundary: BatchBoundary,
    pub windows: Vec<HistoryPoint>,
}

/// A hashtag's rank and count in one window; `None` where it is not among the top K.
#[derive(Serialize)]
pub struct HistoryPoint {
    pub window_end: String,
    pub window_end_ms: EventTime,
    pub layer: Answerer,
    pub rank: Option<u64>,
    pub count: Option<u64>,
}

impl HistoryPoint {
    pub fn new(end: EventTime, layer: Answerer, ranked: Option<(u64, u64)>) -> Self {
        HistoryPoint {
            window_end: rfc3339(end),
            window_end_ms: end,
            layer,
            rank: ranked.map(|(rank, _)| rank),
            count: ranked.map(|(_, count)| count),
        }
    }
}

/// `GET /api/v1/tweets`.
#[derive(Serialize)]
pub struct Tweets {
    pub tweets: Vec<StoredText>,
}
