//! The serving layer's own metrics, in Prometheus' text format: requests by route and status,
//! their durations, and the live snapshots received.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// The server's metrics and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    snapshots: IntCounter,
    live_clients: IntGauge,
}

/// A live-push client's connection, counted while it lasts.
pub struct Connected(IntGauge);

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("trendflow_serve_requests_total", "HTTP requests answered, by route and status"),
            &["route", "status"],
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new("trendflow_serve_request_seconds", "Time to answer an HTTP request, by route")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0]),
            &["route"],
        )?;
        let snapshots = IntCounter::new(
            "trendflow_serve_live_snapshots_total",
            "Ranking snapshots received from the speed layer's topics",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        let live_clients = IntGauge::new("trendflow_serve_live_clients", "Clients connected to the live push")?;
        registry.register(Box::new(snapshots.clone()))?;
        registry.register(Box::new(live_clients.clone()))?;
        Ok(Metrics { registry, requests, durations, snapshots, live_clients })
    }

    /// Counts a request to `route` answered with `status` after `took`.
    pub fn observe(&self, route: &str, status: u16, took: Duration) {
        self.requests.with_label_values(&[route, &status.to_string()]).inc();
        self.durations.with_label_values(&[route]).observe(took.as_secs_f64());
    }

    /// Counts a live-push client until the returned guard is dropped.
    pub fn sse_connected(&self) -> Connected {
        self.live_clients.inc();
        Connected(self.live_clients.clone())
    }

    /// Every metric as text, with the live follower's count of snapshots brought up to
    /// `received`.
    pub fn render(&self, received: u64) -> prometheus::Result<String> {
        self.snapshots.inc_by(received.saturating_sub(self.snapshots.get()));
        crate::metrics::render(&self.registry)
    }
}
