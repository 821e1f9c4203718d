//! Open-loop latency of the graph in process, the way timely's own latency experiments measure it.
//!
//! Tweets are offered on a fixed schedule — tweet `i` at `i / rate` seconds after the start — with
//! the scheduled moment as event time, whether or not the graph has kept up. The input frontier
//! follows the wall clock (the tweets arrive in order, so no lateness is needed), and live
//! rankings are published at every tick, as the stream job does. A tweet's latency runs from its
//! scheduled moment to the moment the rankings' output frontier passes the tick it enters at:
//! every view that includes it has then been emitted. Measuring from the schedule rather than from
//! the actual send keeps a stalled graph from hiding its own delay (coordinated omission).
//!
//! With [`OpenLoop::arrive_every`] the tweets arrive instead as a stream job's consumer gets them
//! from a broker that keeps up: in batches, each holding the tweets due since the one before, and
//! the input frontier follows the newest tweet that arrived (lateness 0), so the tweets of a
//! batch's last millisecond wait for the next batch. That separates trendflow's own share at a
//! rate (arrival to rankings) from whether a particular broker sustains the rate.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use differential_dataflow::input::Input;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;
use trendflow::harness::latency::{Latencies, LatencyRecorder};
use trendflow::source::generator::{Generator, GeneratorConfig};
use trendflow::time::wall_clock_us;
use trendflow_dataflows::config::GraphConfig;
use trendflow_dataflows::graph::rankings;
use trendflow_dataflows::{Contribution, EventTime};

/// One latency measurement: a rate held for a while.
#[derive(Clone, Debug)]
pub struct OpenLoop {
    pub graph: GraphConfig,
    pub workers: usize,
    /// Tweets offered per second, over all workers.
    pub rate: f64,
    /// How long the rate is held after the warm-up; only these tweets are measured.
    pub measure: Duration,
    pub warmup: Duration,
    /// Tweets arrive in batches this far apart and the input frontier follows the newest one
    /// that arrived; `None`: each arrives when due, and the frontier follows the wall clock.
    pub arrive_every: Option<Duration>,
}

/// What an open-loop run measured.
pub struct OpenLoopRun {
    /// Per measured tweet, in microseconds: from its scheduled moment (`emitted`), until it
    /// arrived (`consumed`), from its arrival (`own`) and from the input frontier passing its tick
    /// (`closed`) to its rankings.
    pub latencies: Latencies,
    /// Whether the graph fell so far behind the schedule (more than [`GIVE_UP`]) that the run
    /// was cut short: the rate is beyond what it sustains.
    pub saturated: bool,
}

/// How far behind its schedule a run may fall before it is cut short.
pub const GIVE_UP: Duration = Duration::from_secs(5);

impl OpenLoop {
    /// Runs the schedule on `workers` timely workers in this process and merges their histograms.
    /// Each worker measures with the stream job's own [`LatencyRecorder`], its latencies counted
    /// from each tweet's scheduled moment, its own share from its arrival.
    pub fn run(&self) -> Result<OpenLoopRun> {
        let total = (self.rate * (self.warmup + self.measure).as_secs_f64()) as u64;
        let generator = Generator::new(GeneratorConfig { tweets: total, disorder_ms: 0, ..GeneratorConfig::default() })
            .map_err(|e| anyhow!("invalid generator settings: {e}"))?;
        let base_us = wall_clock_us();
        let start = Instant::now();
        let settings = self.clone();
        let guards = timely::execute(timely::Config::process(self.workers), move |worker| {
            let probe = ProbeHandle::new();
            let mut input = worker.dataflow(|scope| {
                let (input, contributions) = scope.new_collection::<Contribution, isize>();
                rankings(contributions, &settings.graph).publish(true, |_snapshot| {}).probe_with(&probe);
                input
            });
            let micros_per_tweet = 1e6 / settings.rate;
            // The moment tweet `index` is due, in µs since the Unix epoch.
            let scheduled = |index: u64| base_us + (index as f64 * micros_per_tweet) as u64;
            // The tweets due up to this moment have arrived by `now`.
            let arrived_by = |now: u64| match settings.arrive_every {
                Some(every) => now - (now - base_us) % (every.as_micros() as u64).max(1),
                None => now,
            };
            let mut newest = 0;
            let mut recorder = LatencyRecorder::new(settings.graph.clone(), settings.warmup.as_millis() as u64);
            let mut next = worker.index() as u64;
            let mut saturated = false;
            while next < total || recorder.oldest_waiting_us().is_some() {
                let now = base_us + start.elapsed().as_micros() as u64;
                while next < total && scheduled(next) <= arrived_by(now) {
                    let mut tweet = generator.tweet(next);
                    tweet.created_at = (scheduled(next) / 1_000) as EventTime;
                    newest = tweet.created_at;
                    recorder.fed_since(newest, scheduled(next), now);
                    input.update_at(Contribution::of(tweet), newest, 1);
                    next += worker.peers() as u64;
                }
                let frontier = match settings.arrive_every {
                    // No tweet follows the last one: its tick is complete.
                    Some(_) if next >= total => settings.graph.enters_at(newest),
                    Some(_) => newest,
                    None => now / 1_000,
                };
                if frontier > *input.time() {
                    input.advance_to(frontier);
                    recorder.input_advanced(frontier, now);
                }
                input.flush();
                worker.step();
                let now = base_us + start.elapsed().as_micros() as u64;
                recorder.emitted_before(probe.with_frontier(|frontier| frontier.first().copied()), now);
                let oldest = recorder.oldest_waiting_us().unwrap_or(now);
                if now.saturating_sub(oldest) > GIVE_UP.as_micros() as u64 {
                    saturated = true;
                    break;
                }
            }
            (recorder.latencies().clone(), saturated)
        })
        .map_err(|e| anyhow!("starting timely workers: {e}"))?;
        let mut merged = Latencies::new();
        let mut saturated = false;
        for result in guards.join() {
            let (latencies, worker_saturated) = result.map_err(|e| anyhow!("a timely worker failed: {e}"))?;
            merged.add(&latencies)?;
            saturated |= worker_saturated;
        }
        Ok(OpenLoopRun { latencies: merged, saturated })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tweets_arriving_in_batches_wait_for_their_batch_and_each_is_measured_once() {
        let graph = GraphConfig::new(vec!["1m".parse().expect("a spec")], 3, 10).expect("a graph");
        let every = Duration::from_millis(20);
        let run = OpenLoop {
            graph,
            workers: 1,
            rate: 2_000.0,
            measure: Duration::from_millis(500),
            warmup: Duration::ZERO,
            arrive_every: Some(every),
        }
        .run()
        .expect("the run");
        let latencies = &run.latencies;
        assert!(!run.saturated);
        assert_eq!(latencies.emitted.len(), 1_000);
        assert_eq!((latencies.consumed.len(), latencies.own.len(), latencies.closed.len()), (1_000, 1_000, 1_000));
        // A tweet waits for the end of its batch's 20 ms, 10 ms in the median; however slow the
        // machine, none arrives before its batch.
        let median = latencies.consumed.value_at_quantile(0.5);
        assert!(median >= 8_000, "median wait for a batch {median} µs");
    }
}
