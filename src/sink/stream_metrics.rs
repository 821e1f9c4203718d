//! The stream's operator metrics, for Prometheus (`stream --metrics-listen`): what it consumed,
//! dead-lettered (by reason), dropped as duplicates and archived; each partition's lag and
//! watermark; how far the watermark trails the wall clock; the age of the last stored
//! checkpoint; the snapshots published, and how long after its tick's end each was.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prometheus::{Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry};
use trendflow_dataflows::EventTime;

use crate::kafka::source::reader::ReadCounts;
use crate::time::wall_clock_ms;
use crate::vocabulary::rejection::RejectionKind;

/// The stream's metrics. Counts the reader and the writers keep as atomics are brought up to
/// date at each scrape ([`StreamMetrics::refresh`]); the rest are recorded as they happen.
pub struct StreamMetrics {
    pub registry: Registry,
    consumed: IntCounter,
    skipped: IntCounter,
    duplicates: IntCounter,
    archived: IntCounter,
    dead_lettered: IntCounterVec,
    snapshots: IntCounter,
    publish_delay: Histogram,
    partition_lag: IntGaugeVec,
    partition_watermark: IntGaugeVec,
    watermark_delay: Gauge,
    checkpoint_age: Gauge,
    /// When a checkpoint was last stored (wall-clock ms), 0 before the first.
    last_checkpoint_ms: AtomicU64,
}

impl StreamMetrics {
    pub fn new() -> prometheus::Result<Self> {
        let counter = |name: &str, help: &str| IntCounter::new(format!("trendflow_stream_{name}"), help);
        let metrics = StreamMetrics {
            registry: Registry::new(),
            consumed: counter("messages_consumed_total", "Messages read from the tweets topic")?,
            skipped: counter("messages_skipped_total", "Messages that rightly hold no tweet (deletion notices)")?,
            duplicates: counter("duplicates_total", "Copies of recent tweets dropped")?,
            archived: counter("tweets_archived_total", "Tweets written to MySQL's master dataset")?,
            dead_lettered: IntCounterVec::new(
                Opts::new(
                    "trendflow_stream_dead_lettered_total",
                    "Messages sent to the dead-letter topic, by the kind of their reason",
                ),
                &["reason"],
            )?,
            snapshots: counter("snapshots_published_total", "Ranking snapshots published to the ranking topics")?,
            publish_delay: Histogram::with_opts(
                HistogramOpts::new(
                    "trendflow_stream_publish_delay_seconds",
                    "From the end of a snapshot's tick (its window end, in event time) to its publication \
                     (wall clock): meaningful for a live stream, whose event times are wall-clock times",
                )
                .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            )?,
            partition_lag: IntGaugeVec::new(
                Opts::new("trendflow_stream_partition_lag_messages", "Messages the broker holds beyond the last read"),
                &["partition"],
            )?,
            partition_watermark: IntGaugeVec::new(
                Opts::new("trendflow_stream_partition_watermark_ms", "A partition's watermark (event time, ms)"),
                &["partition"],
            )?,
            watermark_delay: Gauge::new(
                "trendflow_stream_watermark_delay_seconds",
                "How far the least partition watermark trails the wall clock",
            )?,
            checkpoint_age: Gauge::new(
                "trendflow_stream_checkpoint_age_seconds",
                "Time since the last checkpoint was stored (since the start, before the first)",
            )?,
            last_checkpoint_ms: AtomicU64::new(wall_clock_ms()),
        };
        let registry = &metrics.registry;
        registry.register(Box::new(metrics.consumed.clone()))?;
        registry.register(Box::new(metrics.skipped.clone()))?;
        registry.register(Box::new(metrics.duplicates.clone()))?;
        registry.register(Box::new(metrics.archived.clone()))?;
        registry.register(Box::new(metrics.dead_lettered.clone()))?;
        registry.register(Box::new(metrics.snapshots.clone()))?;
        registry.register(Box::new(metrics.publish_delay.clone()))?;
        registry.register(Box::new(metrics.partition_lag.clone()))?;
        registry.register(Box::new(metrics.partition_watermark.clone()))?;
        registry.register(Box::new(metrics.watermark_delay.clone()))?;
        registry.register(Box::new(metrics.checkpoint_age.clone()))?;
        Ok(metrics)
    }

    /// Counts a dead letter of `kind`. The kind alone is the label, never the reason's detail:
    /// the label values are the few of [`RejectionKind::ALL`], however many messages are refused
    /// and whatever values (sizes, ids) their reasons name.
    pub fn dead_lettered(&self, kind: RejectionKind) {
        self.dead_lettered.with_label_values(&[kind.label()]).inc();
    }

    /// Counts a snapshot published for the window ending at `window_end`.
    pub fn published(&self, window_end: EventTime) {
        self.snapshots.inc();
        self.publish_delay.observe(wall_clock_ms().saturating_sub(window_end) as f64 / 1_000.0);
    }

    /// Notes that a checkpoint was stored now.
    pub fn checkpoint_stored(&self) {
        self.last_checkpoint_ms.store(wall_clock_ms(), Ordering::Relaxed);
    }

    /// Brings the counts kept elsewhere up to date: the reader's, and `archived`; a partition's
    /// lag is its `high` offset on the broker less the next one to read.
    pub fn refresh(&self, counts: &Arc<ReadCounts>, archived: u64, high: impl Fn(i32) -> Option<i64>) {
        let catch_up = |counter: &IntCounter, value: u64| counter.inc_by(value.saturating_sub(counter.get()));
        catch_up(&self.consumed, counts.consumed.load(Ordering::Relaxed));
        catch_up(&self.skipped, counts.skipped.load(Ordering::Relaxed));
        catch_up(&self.duplicates, counts.duplicates.load(Ordering::Relaxed));
        catch_up(&self.archived, archived);
        let now = wall_clock_ms();
        if let Ok(partitions) = counts.partitions.lock() {
            for (partition, status) in partitions.iter() {
                let label = partition.to_string();
                if let Some(lag) = high(*partition).zip(status.next_offset).map(|(high, next)| (high - next).max(0)) {
                    self.partition_lag.with_label_values(&[&label]).set(lag);
                }
                if let Some(watermark) = status.watermark {
                    self.partition_watermark.with_label_values(&[&label]).set(watermark as i64);
                }
            }
            if let Some(least) = partitions.values().filter_map(|status| status.watermark).min() {
                self.watermark_delay.set(now.saturating_sub(least) as f64 / 1_000.0);
            }
        }
        let last = self.last_checkpoint_ms.load(Ordering::Relaxed);
        self.checkpoint_age.set(now.saturating_sub(last) as f64 / 1_000.0);
    }
}
