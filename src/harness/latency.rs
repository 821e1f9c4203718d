//! End-to-end latency of a live stream: from a tweet's event time, taken as the moment it was
//! produced, to the moment every ranking that includes it has been published.
//!
//! This is the open-loop measure of timely's own latency experiments, taken at the stream job: a
//! producer stamps each tweet with the wall-clock moment it was due (`produce --live`), so the
//! latency covers the producer, the broker, the consumer, the graph and the sinks, and a stalled
//! stage shows as latency instead of as fewer measurements (no coordinated omission). A tweet's
//! rankings are computed once the graph's output frontier passes the tick the tweet enters at,
//! and published once the job has handed every ranking before that tick to its sinks. Event
//! times have millisecond resolution, so each latency may be overstated by up to a millisecond.
//!
//! The stream measures only when asked to (`--latency-report`): it then gives its run a
//! [`LatencyObserver`], which the harness calls. What it writes is a [`report::LatencyReport`].

pub mod report;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use anyhow::{anyhow, Context, Result};
use hdrhistogram::Histogram;
use trendflow_dataflows::config::GraphConfig;
use trendflow_dataflows::EventTime;

use crate::time::wall_clock_us;

/// The largest latency recorded exactly: two minutes, in microseconds. Larger ones are recorded
/// as this, which is still far beyond any sustained rate.
const HIGHEST_US: u64 = 120_000_000;

/// An empty latency histogram, in microseconds, with three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("constant histogram bounds are valid")
}

/// Latencies, in microseconds, of the tweets measured.
#[derive(Clone)]
pub struct Latencies {
    /// Until every ranking including the tweet was published: the end-to-end latency.
    pub emitted: Histogram<u64>,
    /// Until the stream consumed the tweet: the producer's and the broker's share of it.
    pub consumed: Histogram<u64>,
    /// From the moment the stream consumed the tweet until every ranking including it was
    /// published: trendflow's own share.
    pub own: Histogram<u64>,
    /// From the moment the stream consumed the tweet until every ranking including it was
    /// computed: the part of the own share before the sinks.
    pub ranked: Histogram<u64>,
    /// From the moment the input frontier passed the tick the tweet enters at (no tweet of that
    /// tick could follow) until every ranking including it was published: the own share less
    /// the wait for evidence that its tick was complete.
    pub closed: Histogram<u64>,
}

impl Latencies {
    pub fn new() -> Self {
        Latencies {
            emitted: new_histogram(),
            consumed: new_histogram(),
            own: new_histogram(),
            ranked: new_histogram(),
            closed: new_histogram(),
        }
    }

    /// Adds another worker's latencies.
    pub fn add(&mut self, other: &Latencies) -> Result<()> {
        for (mine, theirs) in [
            (&mut self.emitted, &other.emitted),
            (&mut self.consumed, &other.consumed),
            (&mut self.own, &other.own),
            (&mut self.ranked, &other.ranked),
            (&mut self.closed, &other.closed),
        ] {
            mine.add(theirs).context("merging latency histograms")?;
        }
        Ok(())
    }

    /// The one-line form of the latencies, for the job's own summary.
    pub fn summary_line(&self) -> String {
        let ms =
            |histogram: &Histogram<u64>, percentile: f64| histogram.value_at_percentile(percentile) as f64 / 1_000.0;
        format!(
            "latency over {} tweets to their rankings published: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (consumed after p50 {:.1} ms, p99 {:.1} ms; consumed to published p50 {:.1} ms, p99 {:.1} ms; consumed to computed p50 {:.1} ms, p99 {:.1} ms; tick closed to published p50 {:.1} ms, p99 {:.1} ms)",
            self.emitted.len(),
            ms(&self.emitted, 50.0),
            ms(&self.emitted, 99.0),
            self.emitted.max() as f64 / 1_000.0,
            ms(&self.consumed, 50.0),
            ms(&self.consumed, 99.0),
            ms(&self.own, 50.0),
            ms(&self.own, 99.0),
            ms(&self.ranked, 50.0),
            ms(&self.ranked, 99.0),
            ms(&self.closed, 50.0),
            ms(&self.closed, 99.0),
        )
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

/// One worker's tweets waiting for their rankings, and the latencies of those that got them: what
/// the stream job measures, and the graph's in-process benchmark too.
pub struct LatencyRecorder {
    graph: GraphConfig,
    /// Tweets of event time before this are not measured: the warm-up.
    measure_from: Option<EventTime>,
    warmup_ms: u64,
    /// The tweets not yet in every published ranking, by the tick they enter at.
    waiting: BTreeMap<EventTime, WaitingTick>,
    /// The waiting tweets entering before this are in every computed ranking already.
    computed_before: EventTime,
    /// The waiting ticks before this have been said to be complete
    /// ([`LatencyRecorder::input_advanced`]).
    closed_below: EventTime,
    latencies: Latencies,
}

/// The tweets entering at one tick, waiting for their rankings.
#[derive(Default)]
struct WaitingTick {
    /// When each started and when it was fed (µs since the Unix epoch).
    tweets: Vec<(u64, u64)>,
    /// When the input frontier passed the tick, for a job that says so.
    closed_us: Option<u64>,
}

impl LatencyRecorder {
    /// Measures the tweets of `graph`, leaving out those of the first `warmup_ms` of event time.
    pub fn new(graph: GraphConfig, warmup_ms: u64) -> Self {
        LatencyRecorder {
            graph,
            measure_from: None,
            warmup_ms,
            waiting: BTreeMap::new(),
            computed_before: 0,
            closed_below: 0,
            latencies: Latencies::new(),
        }
    }

    /// Notes a tweet of event time `time` fed into the graph at `now_us`.
    ///
    /// The warm-up runs from the first tweet this worker sees. Without one, every tweet counts,
    /// including those that arrive after a later one (from another partition).
    pub fn fed(&mut self, time: EventTime, now_us: u64) {
        self.fed_since(time, time * 1_000, now_us);
    }

    /// Notes a tweet of event time `time` fed into the graph at `now_us`, its latency counted from
    /// `started_us` (a schedule finer than the event time's milliseconds).
    pub fn fed_since(&mut self, time: EventTime, started_us: u64, now_us: u64) {
        let in_warmup = self.warmup_ms > 0 && time < *self.measure_from.get_or_insert(time + self.warmup_ms);
        if !in_warmup {
            self.waiting.entry(self.graph.enters_at(time)).or_default().tweets.push((started_us, now_us));
            self.latencies.consumed.saturating_record(latency_us(started_us, now_us));
        }
    }

    /// Notes that the input frontier moved to `frontier` at `now_us`: no tweet before it follows,
    /// so every waiting tick up to it is complete (a tick holds the tweets of the times before
    /// it), and what their rankings take from now on is the job's.
    pub fn input_advanced(&mut self, frontier: EventTime, now_us: u64) {
        let below = frontier.saturating_add(1);
        if below <= self.closed_below {
            return;
        }
        for (_, tick) in self.waiting.range_mut(self.closed_below..below) {
            tick.closed_us = Some(now_us);
        }
        self.closed_below = below;
    }

    /// Records, as of `now_us` (wall-clock microseconds since the Unix epoch), how long the waiting
    /// tweets entering before `output_frontier` (all of them once the graph is done: `None`) took
    /// from being fed to being in every computed ranking, for a job whose rankings go on to sinks
    /// ([`LatencyRecorder::emitted_before`] says when they are through).
    pub fn computed_before(&mut self, output_frontier: Option<EventTime>, now_us: u64) {
        let frontier = output_frontier.unwrap_or(EventTime::MAX);
        if frontier <= self.computed_before {
            return;
        }
        for (_, fed_us) in self.waiting.range(self.computed_before..frontier).flat_map(|(_, tick)| &tick.tweets) {
            self.latencies.ranked.saturating_record(latency_us(*fed_us, now_us));
        }
        self.computed_before = frontier;
    }

    /// Records, as of `now_us` (wall-clock microseconds since the Unix epoch), the latency of every
    /// waiting tweet whose rankings are complete: those entering before `output_frontier`, or all
    /// of them once the graph is done (`None`).
    pub fn emitted_before(&mut self, output_frontier: Option<EventTime>, now_us: u64) {
        let still_waiting = match output_frontier {
            Some(frontier) => self.waiting.split_off(&frontier),
            None => BTreeMap::new(),
        };
        for WaitingTick { tweets, closed_us } in std::mem::replace(&mut self.waiting, still_waiting).into_values() {
            for (started_us, fed_us) in tweets {
                self.latencies.emitted.saturating_record(latency_us(started_us, now_us));
                self.latencies.own.saturating_record(latency_us(fed_us, now_us));
                if let Some(closed_us) = closed_us {
                    self.latencies.closed.saturating_record(latency_us(closed_us, now_us));
                }
            }
        }
    }

    /// When the longest-waiting tweet of the earliest tick started, if any tweet waits.
    pub fn oldest_waiting_us(&self) -> Option<u64> {
        self.waiting.values().next().and_then(|tick| tick.tweets.iter().map(|(started_us, _)| *started_us).min())
    }

    /// The latencies recorded so far.
    pub fn latencies(&self) -> &Latencies {
        &self.latencies
    }
}

/// End-to-end latency measured over a run whose source drives its input, when a job asks for it
/// (`stream --latency-report`): an observer the harness calls if it is given one
/// ([`run_layer`](crate::harness::layer::run_layer)), so that a run without one pays nothing for
/// it. Each worker measures its own tweets on its thread (`WorkerLatency`); the job's thread
/// notes when it has published each worker's rankings; a worker's latencies join the others' when
/// it finishes.
pub struct LatencyObserver {
    graph: GraphConfig,
    warmup_ms: u64,
    /// By worker, what the job has published since the worker last looked.
    published: Mutex<HashMap<usize, Publications>>,
    merged: Mutex<Latencies>,
}

/// Output frontiers whose rankings the job has published, each with when (µs since the Unix epoch).
type Publications = Vec<(Option<EventTime>, u64)>;

impl LatencyObserver {
    /// Measures the tweets of `graph`, leaving out those of each worker's first `warmup_ms` of
    /// event time.
    pub fn new(graph: GraphConfig, warmup_ms: u64) -> Self {
        LatencyObserver {
            graph,
            warmup_ms,
            published: Mutex::new(HashMap::new()),
            merged: Mutex::new(Latencies::new()),
        }
    }

    /// Worker `worker`'s measurement.
    pub(crate) fn worker(&self, worker: usize) -> WorkerLatency<'_> {
        WorkerLatency { observer: self, worker, recorder: LatencyRecorder::new(self.graph.clone(), self.warmup_ms) }
    }

    /// Notes that the job has published every ranking of `worker` before `before` (every one, if
    /// `None`), now.
    pub(crate) fn published(&self, worker: usize, before: Option<EventTime>) {
        if let Ok(mut published) = self.published.lock() {
            published.entry(worker).or_default().push((before, wall_clock_us()));
        }
    }

    /// What [`LatencyObserver::published`] noted for `worker` since the last call.
    fn take_published(&self, worker: usize) -> Publications {
        self.published.lock().map(|mut published| published.remove(&worker).unwrap_or_default()).unwrap_or_default()
    }

    /// The latencies of the workers that have finished.
    pub fn latencies(&self) -> Result<Latencies> {
        self.merged
            .lock()
            .map(|merged| merged.clone())
            .map_err(|_| anyhow!("a worker failed while recording latencies"))
    }
}

/// One worker's latency measurement, fed by the harness on the worker's thread.
pub(crate) struct WorkerLatency<'a> {
    observer: &'a LatencyObserver,
    worker: usize,
    recorder: LatencyRecorder,
}

impl WorkerLatency<'_> {
    /// A tweet of event time `time` went into the graph now.
    pub(crate) fn fed(&mut self, time: EventTime) {
        self.recorder.fed(time, wall_clock_us());
    }

    /// The input frontier moved to `frontier` now.
    pub(crate) fn input_advanced(&mut self, frontier: EventTime) {
        self.recorder.input_advanced(frontier, wall_clock_us());
    }

    /// The worker's output frontier is `output_frontier` now (`None`: the graph is done): the
    /// tweets before it are in every computed ranking, and those the job has published since
    /// the last look are through.
    pub(crate) fn output_at(&mut self, output_frontier: Option<EventTime>) {
        self.recorder.computed_before(output_frontier, wall_clock_us());
        for (before, at_us) in self.observer.take_published(self.worker) {
            self.recorder.emitted_before(before, at_us);
        }
    }

    /// Adds this worker's latencies to the others'. The tweets of the last tick stay unmeasured:
    /// their rankings wait for input that never came.
    pub(crate) fn finish(self) -> Result<()> {
        let mut merged =
            self.observer.merged.lock().map_err(|_| anyhow!("a worker failed while recording latencies"))?;
        merged.add(self.recorder.latencies())
    }
}

/// From `started_us` to `now_us`, at least the histogram's lowest value.
fn latency_us(started_us: u64, now_us: u64) -> u64 {
    now_us.saturating_sub(started_us).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that the longest latency `histogram` holds is `micros`, within its precision.
    fn assert_longest(histogram: &Histogram<u64>, micros: u64) {
        assert!(histogram.equivalent(histogram.max(), micros), "longest {} µs, not {micros}", histogram.max());
    }

    fn recorder(warmup_ms: u64) -> LatencyRecorder {
        LatencyRecorder::new(GraphConfig::new(vec!["1m".parse().unwrap()], 3, 10).unwrap(), warmup_ms)
    }

    #[test]
    fn a_tweet_counts_once_the_output_passes_the_tick_it_enters_at() {
        let mut latencies = recorder(0);
        latencies.fed(1_000_003, 1_000_004_000);
        latencies.fed(1_000_012, 1_000_013_500);
        // Both enter after their event time: at 1_000_010 and 1_000_020.
        latencies.emitted_before(Some(1_000_010), 1_000_030_000);
        assert_eq!(latencies.latencies().emitted.len(), 0);
        latencies.emitted_before(Some(1_000_011), 1_000_030_000);
        assert_eq!(latencies.latencies().emitted.len(), 1);
        assert_longest(&latencies.latencies().emitted, 27_000);
        // Its own share runs from its feeding (1_000_004_000 µs) to the rankings.
        assert_longest(&latencies.latencies().own, 26_000);
        latencies.emitted_before(None, 1_000_052_000);
        assert_eq!(latencies.latencies().emitted.len(), 2);
        assert_longest(&latencies.latencies().emitted, 40_000);
    }

    #[test]
    fn a_tweet_is_computed_before_it_is_published_and_counted_once_for_each() {
        let mut latencies = recorder(0);
        latencies.fed(1_000_003, 1_000_004_000);
        latencies.fed(1_000_012, 1_000_013_000);
        // The graph's output passes the first tweet's tick (1_000_010) at 1_000_015_000 µs and
        // again later; the job publishes those rankings at 1_000_019_000 µs.
        latencies.computed_before(Some(1_000_011), 1_000_015_000);
        latencies.computed_before(Some(1_000_011), 1_000_016_000);
        assert_eq!(latencies.latencies().ranked.len(), 1);
        assert_longest(&latencies.latencies().ranked, 11_000);
        assert_eq!(latencies.latencies().own.len(), 0);
        latencies.emitted_before(Some(1_000_011), 1_000_019_000);
        assert_longest(&latencies.latencies().own, 15_000);
        // No tick was said to be closed: nothing to count from.
        assert_eq!(latencies.latencies().closed.len(), 0);
        // The graph is done: the second tweet is computed, then published.
        latencies.computed_before(None, 1_000_030_000);
        latencies.emitted_before(None, 1_000_031_000);
        assert_eq!(latencies.latencies().ranked.len(), 2);
        assert_longest(&latencies.latencies().ranked, 17_000);
        assert_eq!(latencies.latencies().own.len(), 2);
        assert_longest(&latencies.latencies().own, 18_000);
    }

    #[test]
    fn a_tweet_counts_after_its_tick_closed_from_the_moment_the_input_frontier_passed_it() {
        let mut latencies = recorder(0);
        latencies.fed(1_000_003, 1_000_004_000);
        latencies.fed(1_000_012, 1_000_013_000);
        // The input frontier reaches the first tweet's tick (1_000_010: no tweet before it
        // follows) at 1_000_014_000 µs and moves on, short of the second's; the first tweet's
        // rankings are published at 1_000_017_000 µs.
        latencies.input_advanced(1_000_010, 1_000_014_000);
        latencies.input_advanced(1_000_011, 1_000_015_000);
        latencies.input_advanced(1_000_019, 1_000_016_000);
        latencies.emitted_before(Some(1_000_011), 1_000_017_000);
        assert_eq!(latencies.latencies().closed.len(), 1);
        assert_longest(&latencies.latencies().closed, 3_000);
        // The second tweet's tick (1_000_020) closes at 1_000_021_000 µs, published 5 ms later.
        latencies.input_advanced(1_000_020, 1_000_021_000);
        latencies.emitted_before(Some(1_000_021), 1_000_026_000);
        assert_eq!(latencies.latencies().closed.len(), 2);
        assert_longest(&latencies.latencies().closed, 5_000);
        assert_longest(&latencies.latencies().own, 13_000);
    }

    #[test]
    fn the_warm_up_is_left_out() {
        let mut latencies = recorder(100);
        for time in [5_000, 5_050, 5_099, 5_100, 5_200] {
            latencies.fed(time, time * 1_000 + 500);
        }
        latencies.emitted_before(None, 6_000_000);
        assert_eq!(latencies.latencies().emitted.len(), 2);
    }

    #[test]
    fn without_a_warm_up_a_tweet_behind_the_first_one_counts_too() {
        let mut latencies = recorder(0);
        for time in [5_010, 5_000, 5_020] {
            latencies.fed(time, time * 1_000 + 500);
        }
        latencies.emitted_before(None, 6_000_000);
        assert_eq!(latencies.latencies().consumed.len(), 3);
        assert_eq!(latencies.latencies().emitted.len(), 3);
    }
}
