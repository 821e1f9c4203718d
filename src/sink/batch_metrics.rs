//! The batch run's operator metrics, for Prometheus (`batch --metrics-listen`): how far the run
//! has read (tweets, and the newest event time), the windows it wrote to the view tables, and how
//! long each write took. A long batch over a large history is watched like the stream.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use trendflow_dataflows::views::Snapshot;
use trendflow_dataflows::EventTime;

use crate::vocabulary::ViewKind;

/// The batch run's metrics, shared by its readers (one per worker) and its writer.
pub struct BatchMetrics {
    pub registry: Registry,
    tweets_read: IntCounter,
    newest_event: IntGauge,
    snapshots_written: IntCounterVec,
    write_seconds: Histogram,
}

/// How many tweets a reader counts before it adds them to the shared counter: the readers run
/// on the workers' threads, which should not contend on one atomic for every tweet.
pub const READ_COUNT_EVERY: u64 = 4_096;

impl BatchMetrics {
    pub fn new() -> prometheus::Result<Self> {
        let metrics = BatchMetrics {
            registry: Registry::new(),
            tweets_read: IntCounter::new("trendflow_batch_tweets_read_total", "Tweets read from the history")?,
            newest_event: IntGauge::new(
                "trendflow_batch_newest_event_time_ms",
                "The newest event time read so far (each worker reads in event-time order): how far the run has come",
            )?,
            snapshots_written: IntCounterVec::new(
                Opts::new("trendflow_batch_snapshots_written_total", "Windows written to the view tables, by view"),
                &["view"],
            )?,
            write_seconds: Histogram::with_opts(
                HistogramOpts::new("trendflow_batch_view_write_seconds", "Time to write one window's view to MySQL")
                    .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0]),
            )?,
        };
        let registry = &metrics.registry;
        registry.register(Box::new(metrics.tweets_read.clone()))?;
        registry.register(Box::new(metrics.newest_event.clone()))?;
        registry.register(Box::new(metrics.snapshots_written.clone()))?;
        registry.register(Box::new(metrics.write_seconds.clone()))?;
        Ok(metrics)
    }

    /// Adds `tweets` read by one reader, the newest of them at `newest`.
    pub fn read(&self, tweets: u64, newest: EventTime) {
        self.tweets_read.inc_by(tweets);
        let newest = i64::try_from(newest).unwrap_or(i64::MAX);
        if newest > self.newest_event.get() {
            self.newest_event.set(newest);
        }
    }

    /// Counts a window's view written in `seconds`.
    pub fn written(&self, snapshot: &Snapshot, seconds: f64) {
        self.snapshots_written.with_label_values(&[ViewKind::of(snapshot).name()]).inc();
        self.write_seconds.observe(seconds);
    }
}
