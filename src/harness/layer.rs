//! Running the graph over a source on timely workers: what the demo, batch and stream jobs share.
//!
//! Each worker ([`worker`](crate::harness::worker)) pushes its share of the source's tweets into
//! the graph at their event times. An ordered source (the generator, MySQL) leaves the input
//! frontier to the harness, which keeps it a fixed slack behind the latest event time seen
//! ([`pacing`](crate::harness::pacing)); a driven source (Kafka) advances it itself, from its
//! watermarks, and tells the other workers its watermark so that an idle one can follow theirs.
//! The published rankings come back to the calling thread
//! ([`collect`](crate::harness::collect)), which hands them to the job (to print, to write to
//! MySQL or Kafka) and shows progress. A driven source's checkpoints — whatever it needs to
//! resume, opaque here — come back the same way, in order with the rankings, so the job knows
//! which rankings a checkpoint covers. What the run does is set by its
//! [`LayerPlan`]; a job that measures latency gives the run a
//! [`LatencyObserver`] too.
//!
//! The first failure — of a sink on the calling thread, or of a worker (its source, a producer) —
//! stops the whole run promptly: every worker of this process stops taking input at its next
//! tweet or round, and the run returns that failure. A job never goes on reading while it can no
//! longer store what it computes.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use indicatif::ProgressBar;
use trendflow_dataflows::views::Snapshot;
use trendflow_dataflows::{EventTime, Tweet};

use crate::cluster::Layout;
use crate::harness::collect::{collect, Sent};
use crate::harness::latency::LatencyObserver;
use crate::harness::plan::LayerPlan;
use crate::harness::run_state::RunState;
use crate::harness::worker::{run_worker, Feed};

/// A source of tweets split over workers: called once per worker with `(worker, peers, push)`,
/// it pushes that worker's share of the tweets, as nearly in event-time order as it can. A push
/// fails with [`Stopped`] once the run is stopping; the source then returns that error at once.
pub type SharedSource = Arc<dyn Fn(usize, usize, &mut Push) -> Result<()> + Send + Sync>;

/// Takes one tweet of an ordered source into the graph.
pub type Push<'a> = dyn FnMut(Tweet) -> Result<(), Stopped> + 'a;

/// The run is stopping because something else failed (a sink, another worker): the source should
/// stop reading. The run reports that first failure, not this.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("stopped because another part of the run failed")]
pub struct Stopped;

/// A source that drives the input itself: called once per worker with `(worker, peers, feed)`, it
/// pushes that worker's share and advances the frontier as its watermarks allow, handing the job
/// checkpoints of type `C`.
pub type DrivenSource<C> = Arc<dyn Fn(usize, usize, &mut dyn Feed<C>) -> Result<()> + Send + Sync>;

/// Where a layer's tweets come from.
pub enum Source<C> {
    /// An ordered source, read on a thread of its own per worker, a bounded queue of batches
    /// ahead of it, where its tweets are reduced to their contributions too.
    Ordered(SharedSource),
    Driven(DrivenSource<C>),
}

/// What the graph's run hands the job, in the order this process's workers produced it.
pub enum Output<C> {
    Snapshot(Snapshot),
    Checkpoint(C),
    /// Nothing came for a while (a tenth of a second): a job that waits on something besides
    /// the workers (the broker's word on what it sent) gets to look again.
    Quiet,
}

/// What a layer's run measured.
pub struct LayerRun {
    pub elapsed: Duration,
    pub tweets: u64,
    pub late: u64,
    pub changes: u64,
    pub windows_closed: u64,
    /// The latest event time an ordered source delivered, if it delivered any tweet.
    pub newest: Option<EventTime>,
}

/// Runs the graph over an ordered `source` (one that takes no checkpoints) on the workers of
/// `config`, handing every published snapshot to `on_snapshot` on this thread; see [`run_layer`].
pub fn run_ordered(
    plan: &LayerPlan,
    layout: Layout,
    source: Source<Infallible>,
    mut on_snapshot: impl FnMut(Snapshot, &ProgressBar) -> Result<()>,
) -> Result<LayerRun> {
    run_layer(plan, layout, source, None, |output, progress| match output {
        Output::Snapshot(snapshot) => on_snapshot(snapshot, progress),
        Output::Checkpoint(never) => match never {},
        Output::Quiet => Ok(()),
    })
}

/// Runs the graph over `source` on the workers of `layout`, handing every published snapshot and
/// every checkpoint to `on_output` on this thread, and measuring latency with `latency` if given.
/// The first error of a worker or of `on_output` stops every worker of this process at its next
/// tweet (or round, for a driven source) and is the run's error, with how many tweets had gone in;
/// so does another process of a cluster falling silent ([`crate::cluster::peers`]).
pub fn run_layer<C: Send + 'static>(
    plan: &LayerPlan,
    layout: Layout,
    source: Source<C>,
    latency: Option<Arc<LatencyObserver>>,
    on_output: impl FnMut(Output<C>, &ProgressBar) -> Result<()>,
) -> Result<LayerRun> {
    let (sender, receiver) = crossbeam_channel::bounded::<Sent<C>>(SNAPSHOT_QUEUE);
    let state = Arc::new(RunState::default());
    let cluster = layout.peers.is_some();
    let started = Instant::now();
    let guards = {
        let (plan, source, state, latency) = (plan.clone(), Arc::new(source), state.clone(), latency.clone());
        timely::execute(layout.timely, move |worker| {
            run_worker(worker, &plan, &source, &sender, &state, latency.as_deref());
        })
        .map_err(|e| anyhow!("starting timely workers: {e}"))?
    };
    // Every process is connected once timely has started.
    let watch = match &layout.peers {
        Some(peers) => {
            let state = state.clone();
            Some(peers.watch(move |silent| state.record(silent))?)
        }
        None => None,
    };
    let collected = collect(plan, &receiver, &state, cluster, latency.as_deref(), on_output)?;
    drop(watch);
    match cluster && state.stopping() {
        true => std::mem::forget(guards),
        false => {
            for result in guards.join() {
                if let Err(panic) = result {
                    state.record(anyhow!("a timely worker failed: {panic}"));
                }
            }
        }
    }
    let fed = state.fed.load(Ordering::Relaxed);
    if let Some(error) = state.take_failure() {
        return Err(error.context(format!("{} stopped after {fed} tweets", plan.name)));
    }
    let newest = state.newest.load(Ordering::Relaxed);
    Ok(LayerRun {
        elapsed: started.elapsed(),
        tweets: fed,
        late: state.late.load(Ordering::Relaxed),
        changes: collected.changes,
        windows_closed: collected.windows_closed,
        newest: Some(newest).filter(|newest| *newest > 0),
    })
}

/// How many published snapshots may wait for the calling thread's sinks. When they fall behind
/// (a slow broker or database), publishing workers block, and that pushes back on the input:
/// memory stays bounded instead of queueing rankings without end.
const SNAPSHOT_QUEUE: usize = 4_096;

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use trendflow_dataflows::config::{GraphConfig, TrendConfig};
    use trendflow_dataflows::Contribution;

    #[test]
    fn a_driven_step_publishes_the_tick_the_input_frontier_has_just_closed() {
        let graph = GraphConfig::new(vec!["1s".parse().expect("a spec")], 3, 1)
            .and_then(|graph| graph.with_trending(TrendConfig::default()))
            .expect("a graph");
        let after_step = Arc::new(Mutex::new(None));
        let seen = after_step.clone();
        let source: DrivenSource<u32> = Arc::new(move |_, _, feed| {
            let tweet = Tweet {
                id: 1,
                text: "#rust".into(),
                created_at: 999,
                lang: "en".into(),
                user_id: None,
                retweet_of: None,
            };
            feed.push(999, Contribution::of(tweet)).map_err(|late| anyhow!("feeding a tweet: {late}"))?;
            feed.advance_to(1_000);
            let caught_up = feed.step();
            *seen.lock().expect("not poisoned") = Some((caught_up, feed.output_frontier()));
            Ok(())
        });
        let mut ends = Vec::new();
        let plan = LayerPlan::stream(graph);
        run_layer(&plan, Layout::process(1), Source::Driven(source), None, |output, _| {
            if let Output::Snapshot(Snapshot::Hashtags(ranking)) = output {
                ends.push(ranking.window.end);
            }
            Ok(())
        })
        .expect("the run");
        // Output frontier 1001: the window ending at 1000 is out before the source's next round.
        assert_eq!(*after_step.lock().expect("not poisoned"), Some((true, Some(1_001))));
        assert_eq!(ends.first(), Some(&1_000));
    }
}
