//! Whether the server can answer: `/healthz` (it runs), `/readyz` (it can answer every closed
//! window), `/api/v1/status` (the same for a page, with the speed layer's state) and `/metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::mysql::serving::LayerMarks;
use crate::serve::answers::{Health, Readiness, Status};
use crate::serve::api::{mysql, AppState};
use crate::serve::error::ApiError;

/// `GET /healthz`: the server runs.
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
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
        let mysql = mysql(state, |store| store.ping()).await.err().map(|error| error.message());
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
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let dependencies = Dependencies::of(&state).await;
    match dependencies.ready() {
        true => Json(Readiness::Ready { ready: true, degraded: dependencies.degraded() }).into_response(),
        false => {
            let reasons: Vec<String> = dependencies.mysql.into_iter().chain(dependencies.live).collect();
            (StatusCode::SERVICE_UNAVAILABLE, Json(Readiness::NotReady { ready: false, reasons })).into_response()
        }
    }
}

/// `GET /api/v1/status`: the same as `/readyz`, always as 200, for a page that shows it (a
/// browser reports every 503 it fetches as an error), and whether the speed layer runs. A speed
/// layer that stopped leaves the server ready: the batch layer and the speed layer's final views
/// still answer every closed window, and the latest window is the last final one.
pub async fn status(State(state): State<Arc<AppState>>) -> Json<Status> {
    let dependencies = Dependencies::of(&state).await;
    let speed_layer = state.marks.read().ok().and_then(|marks| marks.as_ref().map(LayerMarks::speed_layer));
    Json(Status {
        ready: dependencies.ready(),
        degraded: dependencies.degraded(),
        mysql: dependencies.mysql,
        live: dependencies.live,
        speed_layer,
    })
}

/// `GET /metrics`: the server's metrics in Prometheus' text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let received = state.live.read().map(|live| live.received).unwrap_or(0);
    match state.metrics.render(received) {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(error) => {
            ApiError::Internal { error: "the metrics could not be rendered".into(), detail: error.to_string() }
                .into_response()
        }
    }
}
