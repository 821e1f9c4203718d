//! Running the graph over a source on timely workers: what the demo, batch and stream jobs share.
//!
//! Each worker pushes its share of the source's tweets into the graph at their event times. An
//! ordered source (the generator, MySQL) leaves the input frontier to the harness, which keeps it a
//! fixed slack behind the latest event time seen; a driven source (Kafka) advances it itself, from
//! its watermarks, and tells the other workers its watermark so that an idle one can follow
//! theirs. The published rankings come back to the calling thread, which hands them to the job
//! (to print, to write to MySQL or Kafka) and shows progress. A driven source's checkpoints —
//! whatever it needs to resume, opaque here — come back the same way, in order with the
//! rankings, so the job knows which rankings a checkpoint covers; and so do its workers' output
//! frontiers, so that the job can tell when it has published every ranking before one.
//!
//! The first failure — of a sink on the calling thread, or of a worker (its source, a producer) —
//! stops the whole run promptly: every worker of this process stops taking input at its next
//! tweet or round, and the run returns that failure. A job never goes on reading while it can no
//! longer store what it computes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use crossbeam_channel::RecvTimeoutError;
use differential_dataflow::input::{Input, InputSession};
use indicatif::{ProgressBar, ProgressStyle};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::vec::broadcast::Broadcast;
use timely::dataflow::operators::vec::input::{Handle as VecInputHandle, Input as VecInput};
use timely::dataflow::operators::Probe;
use timely::worker::Worker;
use trendflow_dataflows::graph::{rankings, GraphConfig};
use trendflow_dataflows::views::Snapshot;
use trendflow_dataflows::{Contribution, EventTime, Tweet};

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

/// Runs an ordered source for one worker on a thread of its own, a bounded queue of batches ahead
/// of the worker, and reduces its tweets to their contributions there too. Reading a source costs
/// work of its own (decoding MySQL's rows, generating text, extracting hashtags); on the worker's
/// thread it alternates with the graph's work, here the two overlap.
fn read_ahead(
    source: &SharedSource,
    worker: usize,
    peers: usize,
    push: &mut dyn FnMut(EventTime, Contribution) -> Result<(), Stopped>,
) -> Result<()> {
    let (sender, batches) = crossbeam_channel::bounded::<Vec<(EventTime, Contribution)>>(READ_AHEAD_BATCHES);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Vec::with_capacity(READ_AHEAD_BATCH);
            // A send fails only once the worker has stopped taking tweets: reading ends too.
            let result = source(worker, peers, &mut |tweet| {
                batch.push((tweet.created_at, Contribution::of(tweet)));
                if batch.len() == READ_AHEAD_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(READ_AHEAD_BATCH));
                    sender.send(full).map_err(|_| Stopped)?;
                }
                Ok(())
            });
            let _ = sender.send(batch);
            result
        });
        let fed = batches.iter().flatten().try_for_each(|(time, contribution)| push(time, contribution));
        drop(batches);
        let read = reader.join().map_err(|_| anyhow!("the reading thread of worker {worker} panicked"))?;
        fed?;
        read
    })
}

/// How many tweets [`read_ahead`] hands over at once, and how many such batches may wait.
const READ_AHEAD_BATCH: usize = 1_024;
const READ_AHEAD_BATCHES: usize = 16;

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

/// One worker's end of the graph's input, for a source that knows itself how complete its input
/// is (watermarks), and takes checkpoints of type `C`.
pub trait Feed<C> {
    /// Feeds what a tweet of event time `time` contributes, unless that is behind the input
    /// frontier.
    fn push(&mut self, time: EventTime, contribution: Contribution) -> Result<(), Late>;
    /// Promises that no tweet older than `time` follows; a time behind the frontier is ignored.
    fn advance_to(&mut self, time: EventTime);
    /// The input frontier: tweets older than this are late.
    fn frontier(&self) -> EventTime;
    /// Rankings at times before this have all been computed and published (on every worker);
    /// `None` once the graph is done.
    fn output_frontier(&self) -> Option<EventTime>;
    /// Runs the dataflow until it has processed all input fed so far and published every ranking
    /// up to the input frontier, or for at most [`MAX_STEP`]; says whether it caught up. A source
    /// should not feed more while it has not: the input would queue inside the dataflow without
    /// bound.
    fn step(&mut self) -> bool;
    /// Runs whatever work the dataflow has left (such as publishing closed windows), then sleeps
    /// up to `timeout` unless other workers wake it.
    fn park(&mut self, timeout: Duration);
    /// Whether the run is stopping because something else failed (a sink, another worker): the
    /// source should return at once, without a last checkpoint.
    fn stopping(&self) -> bool;
    /// Hands `checkpoint` to the job behind every ranking this process has published so far.
    fn checkpoint(&mut self, checkpoint: C);
    /// Tells every worker this worker's watermark, or `None` while all its input is idle.
    fn report_watermark(&mut self, watermark: Option<EventTime>);
    /// The least watermark reported by the workers that are not idle; `None` when all are idle.
    /// An idle worker follows it, so that it does not hold back the windows of the others.
    fn cluster_watermark(&self) -> Option<EventTime>;
}

/// What the graph's run hands the job, in the order this process's workers produced it.
pub enum Output<C> {
    Snapshot(Snapshot),
    Checkpoint(C),
    /// Every ranking of `worker` before `before` (every one, if `None`) is ahead of this: once the
    /// job has handled what came before, they are published. A driven source's workers say so
    /// each time their output frontier moves, when the plan asks ([`LayerPlan::tell_ranked`]).
    Ranked {
        worker: usize,
        before: Option<EventTime>,
    },
    /// Nothing came for a while (a tenth of a second): a job that waits on something besides
    /// the workers (the broker's word on what it sent) gets to look again.
    Quiet,
}

/// The outputs, less each live ranking that a later ranking of the same view and window among
/// them replaces. The rankings of a view and window length come from one worker, in the order of
/// their times, so the later one is the newer. With a fine tick a batch of tweets from the broker
/// completes several ticks at once, and each window's live ranking of every tick but the last is
/// out of date before it could be sent: leaving those out spares the broker thousands of
/// records a second and delays no ranking. Final rankings and checkpoints all stay, in order.
fn latest_of_each_window<C>(outputs: Vec<Output<C>>) -> Vec<Output<C>> {
    let view_and_window = |snapshot: &Snapshot| (std::mem::discriminant(snapshot), snapshot.window());
    let mut latest = HashMap::new();
    for (index, output) in outputs.iter().enumerate() {
        if let Output::Snapshot(snapshot) = output {
            latest.insert(view_and_window(snapshot), index);
        }
    }
    outputs
        .into_iter()
        .enumerate()
        .filter(|(index, output)| match output {
            Output::Snapshot(snapshot) if !snapshot.is_final() => latest.get(&view_and_window(snapshot)) == Some(index),
            _ => true,
        })
        .map(|(_, output)| output)
        .collect()
}

/// How one layer feeds the graph.
#[derive(Clone)]
pub struct LayerPlan {
    /// Shown in the progress line.
    pub name: &'static str,
    pub graph: GraphConfig,
    /// How far the input frontier trails the latest event time seen.
    pub slack_ms: u64,
    /// Whether live rankings are published too, not only final ones.
    pub changes: bool,
    /// Whether a live ranking is left out when a later ranking of the same view and window is
    /// already waiting beside it (see [`latest_of_each_window`]): what a sink that only keeps
    /// each window's latest ranking needs.
    pub latest_live_only: bool,
    /// How many tweets to expect, for the progress bar, when known.
    pub expected_tweets: Option<u64>,
    /// Whether a driven source's workers tell the job each time their output frontier moves
    /// ([`Output::Ranked`]): a job that measures how long publishing takes needs it; others are
    /// spared a message and a wake-up per round.
    pub tell_ranked: bool,
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

/// A tweet behind the input frontier: late, not fed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("behind the input frontier")]
pub struct Late;

/// Runs the graph over an ordered `source` (one that takes no checkpoints) on the workers of
/// `config`, handing every published snapshot to `on_snapshot` on this thread; see [`run_layer`].
pub fn run_ordered(
    plan: &LayerPlan,
    config: timely::Config,
    source: Source<Infallible>,
    mut on_snapshot: impl FnMut(Snapshot, &ProgressBar) -> Result<()>,
) -> Result<LayerRun> {
    run_layer(plan, config, source, |output, progress| match output {
        Output::Snapshot(snapshot) => on_snapshot(snapshot, progress),
        Output::Checkpoint(never) => match never {},
        Output::Ranked { .. } | Output::Quiet => Ok(()),
    })
}

/// Runs the graph over `source` on the workers of `config`, handing every published snapshot and
/// every checkpoint to `on_output` on this thread. The first error of a worker or of `on_output`
/// stops every worker of this process at its next tweet (or round, for a driven source) and is
/// the run's error, with how many tweets had gone in.
pub fn run_layer<C: Send + 'static>(
    plan: &LayerPlan,
    config: timely::Config,
    source: Source<C>,
    mut on_output: impl FnMut(Output<C>, &ProgressBar) -> Result<()>,
) -> Result<LayerRun> {
    let (sender, receiver) = crossbeam_channel::bounded::<Output<C>>(SNAPSHOT_QUEUE);
    let fed = Arc::new(AtomicU64::new(0));
    let late = Arc::new(AtomicU64::new(0));
    let newest = Arc::new(AtomicU64::new(0));
    let failure = Arc::new(FirstFailure::default());
    let cluster = matches!(config.communication, timely::CommunicationConfig::Cluster { .. });
    let started = Instant::now();
    let driven = matches!(source, Source::Driven(_));
    let source = Arc::new(source);
    let guards = {
        let (plan, fed, late, failure) = (plan.clone(), fed.clone(), late.clone(), failure.clone());
        let newest = newest.clone();
        timely::execute(config, move |worker| {
            let _stop_on_panic = StopOnPanic(&failure);
            let (sender, outputs) = (sender.clone(), sender.clone());
            let (index, peers) = (worker.index(), worker.peers());
            let watermarks = Rc::new(RefCell::new(vec![None; peers]));
            let (mut input, mut beats, probe) = worker.dataflow(|scope| {
                let (input, contributions) = scope.new_collection::<Contribution, isize>();
                // The probe watches the published rankings, not the input: a worker has caught up
                // only once every ranking up to its input frontier is out, so input cannot run
                // ahead of the graph and pile up inside it.
                let probe = ProbeHandle::new();
                // A send waits while the queue is full, and fails only once the collecting thread
                // is gone, when nobody needs rankings.
                rankings(contributions, &plan.graph)
                    .publish(plan.changes, move |snapshot| {
                        let _ = sender.send(Output::Snapshot(snapshot));
                    })
                    .probe_with(&probe);
                // A driven source's watermark reports travel as plain data at time 0, outside
                // progress tracking: they are advice for idle workers, not promises.
                let beats = driven.then(|| {
                    let (beats, reports) = VecInput::new_input::<(usize, Option<EventTime>)>(&scope);
                    let table = watermarks.clone();
                    reports.broadcast().sink(Pipeline, "Watermarks", move |(input, _)| {
                        input.for_each(|_, reports| {
                            for (worker, watermark) in reports.drain(..) {
                                table.borrow_mut()[worker] = watermark;
                            }
                        })
                    });
                    beats
                });
                (input, beats, probe)
            });
            let mut feeder = Feeder {
                worker,
                input: &mut input,
                beats: beats.as_mut(),
                watermarks: &watermarks,
                probe: &probe,
                outputs: &outputs,
                ranked_before: (driven && plan.tell_ranked).then_some(Some(0)),
                slack_ms: plan.slack_ms,
                latest: 0,
                batch: 0,
                pacing: Pacing::default(),
                fed: &fed,
                late: &late,
                newest: &newest,
                failure: &failure,
            };
            let result = match source.as_ref() {
                Source::Ordered(source) => {
                    read_ahead(source, index, peers, &mut |time, contribution| feeder.push_in_order(time, contribution))
                }
                Source::Driven(source) => source(index, peers, &mut feeder),
            };
            feeder.finish();
            if let Err(error) = result {
                failure.record(error);
            }
        })
        .map_err(|e| anyhow!("starting timely workers: {e}"))?
    };

    let progress = match plan.expected_tweets {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::no_length(),
    };
    progress.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} tweets, {per_sec}, {msg}")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    progress.set_prefix(plan.name);
    let (mut changes, mut windows_closed) = (0, 0);
    loop {
        // A process of a cluster cannot wait for its graph to finish: the other processes go on
        // feeding it. It leaves its workers behind; its exit closes their connections.
        if cluster && failure.stopping() {
            break;
        }
        match receiver.recv_timeout(Duration::from_millis(100)) {
            Ok(output) => {
                let mut outputs = vec![output];
                outputs.extend(receiver.try_iter());
                for output in &outputs {
                    if let Output::Snapshot(snapshot) = output {
                        if !snapshot.is_final() {
                            changes += 1;
                        } else if matches!(snapshot, Snapshot::Hashtags(_)) {
                            windows_closed += 1;
                            progress.set_message(format!("{windows_closed} windows closed"));
                        }
                    }
                }
                if plan.latest_live_only {
                    outputs = latest_of_each_window(outputs);
                }
                for output in outputs {
                    // Once stopping, the workers have closed their inputs and the graph closes
                    // every window early: those rankings are incomplete and go nowhere.
                    if failure.stopping() {
                        break;
                    }
                    if let Err(error) = on_output(output, &progress) {
                        failure.record(error);
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if !failure.stopping() {
                    if let Err(error) = on_output(Output::Quiet, &progress) {
                        failure.record(error);
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        progress.set_position(fed.load(Ordering::Relaxed));
    }
    progress.finish_and_clear();
    match cluster && failure.stopping() {
        true => std::mem::forget(guards),
        false => {
            for result in guards.join() {
                if let Err(panic) = result {
                    failure.record(anyhow!("a timely worker failed: {panic}"));
                }
            }
        }
    }
    if let Some(error) = failure.take() {
        let fed = fed.load(Ordering::Relaxed);
        return Err(error.context(format!("{} stopped after {fed} tweets", plan.name)));
    }
    Ok(LayerRun {
        elapsed: started.elapsed(),
        tweets: fed.load(Ordering::Relaxed),
        late: late.load(Ordering::Relaxed),
        changes,
        windows_closed,
        newest: Some(newest.load(Ordering::Relaxed)).filter(|newest| *newest > 0),
    })
}

/// The first failure of a run — of a worker, or of the job's handling of its output — shared by
/// the workers and the collecting thread. Recording one stops every worker of this process.
#[derive(Default)]
struct FirstFailure {
    stopping: AtomicBool,
    error: Mutex<Option<anyhow::Error>>,
}

impl FirstFailure {
    /// Keeps `error` unless an earlier one was kept ([`Stopped`] is a consequence, not a cause),
    /// and stops the run.
    fn record(&self, error: anyhow::Error) {
        if !error.is::<Stopped>() {
            if let Ok(mut first) = self.error.lock() {
                first.get_or_insert(error);
            }
        }
        self.stopping.store(true, Ordering::Relaxed);
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    fn take(&self) -> Option<anyhow::Error> {
        self.error.lock().ok().and_then(|mut first| first.take())
    }
}

/// Fails the run if its worker panics (in a cluster, timely's workers panic when another process
/// is gone): the others would otherwise read on, their output unused. The panic's message is on
/// standard error already.
struct StopOnPanic<'a>(&'a FirstFailure);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.record(anyhow!("a timely worker panicked (its message is above)"));
        }
    }
}

/// Prints a line above the progress bar, or plainly when the bar is hidden (output is not a
/// terminal), where indicatif would drop it.
pub fn print_line(progress: &ProgressBar, line: String) {
    match progress.is_hidden() {
        true => println!("{line}"),
        false => progress.println(line),
    }
}

/// How many published snapshots may wait for the calling thread's sinks. When they fall behind
/// (a slow broker or database), publishing workers block, and that pushes back on the input:
/// memory stays bounded instead of queueing rankings without end.
const SNAPSHOT_QUEUE: usize = 4_096;

/// The longest [`Feed::step`] runs the dataflow before it returns to its source.
pub const MAX_STEP: Duration = Duration::from_millis(100);

/// How many tweets an ordered source feeds between two advances of the input frontier.
pub const BATCH: u64 = 4_096;

/// How an ordered source paces the graph: after each advance of the input frontier the worker
/// runs the graph until it has passed the frontier of two advances back, so that up to two
/// batches are in flight while the next goes in. Waiting for each advance's own frontier emptied
/// the pipeline at every batch, and with two workers each then waited, with nothing to do, for
/// the serial end of the batch (each length's final ranking and publishing, on one worker).
#[derive(Default)]
pub struct Pacing {
    /// The frontier of the last advance, and of the one before it.
    frontiers: [EventTime; 2],
}

impl Pacing {
    /// Moves the input frontier to `time` (if that is later), hands the input to the dataflow,
    /// and runs the graph until it has passed the frontier two advances back.
    pub fn advance(
        &mut self,
        worker: &mut Worker,
        input: &mut InputSession<EventTime, Contribution, isize>,
        probe: &ProbeHandle<EventTime>,
        time: EventTime,
    ) {
        if time > *input.time() {
            input.advance_to(time);
        }
        input.flush();
        let [before_last, last] = self.frontiers;
        self.frontiers = [last, *input.time()];
        worker.step();
        worker.step_while(|| probe.less_than(&before_last));
    }
}

/// One worker's end of the input: feeds tweets at their event times and advances the frontier.
struct Feeder<'a, C> {
    worker: &'a mut Worker,
    input: &'a mut InputSession<EventTime, Contribution, isize>,
    /// Where a driven source's watermark reports go; `None` for an ordered source.
    beats: Option<&'a mut VecInputHandle<EventTime, (usize, Option<EventTime>)>>,
    watermarks: &'a RefCell<Vec<Option<EventTime>>>,
    probe: &'a ProbeHandle<EventTime>,
    /// Where checkpoints and output frontiers go, behind the rankings.
    outputs: &'a crossbeam_channel::Sender<Output<C>>,
    /// For a driven source: the output frontier the job was last told of.
    ranked_before: Option<Option<EventTime>>,
    slack_ms: u64,
    latest: EventTime,
    batch: u64,
    pacing: Pacing,
    fed: &'a AtomicU64,
    late: &'a AtomicU64,
    /// The latest event time of the run's ordered sources, over all workers.
    newest: &'a AtomicU64,
    failure: &'a FirstFailure,
}

impl<C> Feeder<'_, C> {
    /// Feeds one tweet of an ordered source, and every [`BATCH`] tweets moves the frontier to the
    /// slack behind the latest event time and lets the graph catch up ([`Pacing`]). A late tweet
    /// is counted, not fed.
    fn push_in_order(&mut self, time: EventTime, contribution: Contribution) -> Result<(), Stopped> {
        if self.stopping() {
            return Err(Stopped);
        }
        self.latest = self.latest.max(time);
        if self.push(time, contribution).is_err() {
            return Ok(());
        }
        if self.batch == BATCH {
            self.count_fed();
            let frontier = self.latest.saturating_sub(self.slack_ms);
            self.pacing.advance(self.worker, self.input, self.probe, frontier);
        }
        Ok(())
    }

    /// Counts the tweets fed since the last call.
    fn count_fed(&mut self) {
        self.fed.fetch_add(self.batch, Ordering::Relaxed);
        self.batch = 0;
    }

    /// Hands the tweets fed since the last call to the dataflow.
    fn flush(&mut self) {
        self.count_fed();
        self.input.flush();
    }

    /// For a driven source: tells the job when the output frontier has moved, behind the rankings
    /// before it ([`Output::Ranked`]).
    fn tell_ranked(&mut self) {
        if let Some(told) = self.ranked_before.as_mut() {
            let before = self.probe.with_frontier(|frontier| frontier.first().copied());
            if before != *told {
                *told = before;
                let _ = self.outputs.send(Output::Ranked { worker: self.worker.index(), before });
            }
        }
    }

    fn finish(&mut self) {
        self.flush();
        self.newest.fetch_max(self.latest, Ordering::Relaxed);
    }
}

impl<C> Feed<C> for Feeder<'_, C> {
    fn push(&mut self, time: EventTime, contribution: Contribution) -> Result<(), Late> {
        if time < *self.input.time() {
            self.late.fetch_add(1, Ordering::Relaxed);
            return Err(Late);
        }
        self.input.update_at(contribution, time, 1);
        self.batch += 1;
        Ok(())
    }

    fn advance_to(&mut self, time: EventTime) {
        if time > *self.input.time() {
            self.input.advance_to(time);
        }
    }

    fn frontier(&self) -> EventTime {
        *self.input.time()
    }

    fn output_frontier(&self) -> Option<EventTime> {
        self.probe.with_frontier(|frontier| frontier.first().copied())
    }

    fn step(&mut self) -> bool {
        self.flush();
        // The graph puts each tweet's records at least a millisecond after it, so rankings at the
        // input frontier's own time are complete too: stepping until they are out publishes the
        // tick the frontier has just closed now, not in the source's next round.
        let closed = self.input.time().saturating_add(1);
        // Bounded: the probe also waits for the other workers' inputs, and a driven source must
        // get back to its own input (and its stop flag) while they catch up.
        let deadline = Instant::now() + MAX_STEP;
        while self.probe.less_than(&closed) && Instant::now() < deadline {
            self.worker.step();
        }
        self.tell_ranked();
        !self.probe.less_than(&closed)
    }

    fn park(&mut self, timeout: Duration) {
        self.worker.step_or_park(Some(timeout));
        self.tell_ranked();
    }

    fn stopping(&self) -> bool {
        self.failure.stopping()
    }

    fn checkpoint(&mut self, checkpoint: C) {
        let _ = self.outputs.send(Output::Checkpoint(checkpoint));
    }

    fn report_watermark(&mut self, watermark: Option<EventTime>) {
        if let Some(beats) = self.beats.as_mut() {
            beats.send((self.worker.index(), watermark));
            beats.flush();
        }
    }

    fn cluster_watermark(&self) -> Option<EventTime> {
        self.watermarks.borrow().iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trendflow_dataflows::graph::TrendConfig;
    use trendflow_dataflows::symbol::Symbol;
    use trendflow_dataflows::views::{HashtagCount, Ranking, TweetScore};
    use trendflow_dataflows::window::Window;

    fn hashtags(end: EventTime, count: u64, is_final: bool) -> Output<u32> {
        let window = Window { spec: "1m".parse().expect("a spec"), end };
        let rows = vec![HashtagCount { hashtag: Symbol::new("rust"), count }];
        Output::Snapshot(Snapshot::Hashtags(Ranking { window, rows, is_final, as_of: end, partial_baseline: false }))
    }

    fn tweets(end: EventTime) -> Output<u32> {
        let window = Window { spec: "1m".parse().expect("a spec"), end };
        let rows = vec![TweetScore { tweet_id: 7, retweets: 1, hashtags: 0 }];
        Output::Snapshot(Snapshot::Tweets(Ranking {
            window,
            rows,
            is_final: false,
            as_of: end - 1,
            partial_baseline: false,
        }))
    }

    /// What each output is, to compare: a snapshot's view, window end, first count and finality.
    fn described(outputs: Vec<Output<u32>>) -> Vec<String> {
        let describe = |output: Output<u32>| match output {
            Output::Checkpoint(number) => format!("checkpoint {number}"),
            Output::Ranked { worker, before } => format!("ranked {worker} {before:?}"),
            Output::Quiet => "quiet".into(),
            Output::Snapshot(Snapshot::Hashtags(r)) => {
                format!("hashtags {} {} {}", r.window.end, r.rows[0].count, r.is_final)
            }
            Output::Snapshot(Snapshot::Tweets(r)) => format!("tweets {} {}", r.window.end, r.is_final),
            Output::Snapshot(_) => "another view".into(),
        };
        outputs.into_iter().map(describe).collect()
    }

    #[test]
    fn a_driven_step_publishes_the_tick_the_input_frontier_has_just_closed() {
        let graph = GraphConfig::new(vec!["1s".parse().expect("a spec")], 3, 1)
            .and_then(|graph| graph.with_trending(TrendConfig::default()))
            .expect("a graph");
        let plan = LayerPlan {
            name: "test",
            graph,
            slack_ms: 0,
            changes: true,
            latest_live_only: false,
            expected_tweets: None,
            tell_ranked: false,
        };
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
        run_layer(&plan, timely::Config::thread(), Source::Driven(source), |output, _| {
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

    #[test]
    fn a_live_ranking_replaced_by_a_later_one_of_its_view_and_window_is_left_out() {
        let outputs = vec![
            hashtags(60_000, 1, false),
            tweets(60_000),
            hashtags(120_000, 1, false),
            Output::Checkpoint(1),
            hashtags(60_000, 2, false),
            hashtags(60_000, 3, true),
            hashtags(120_000, 2, false),
            hashtags(120_000, 3, false),
        ];
        assert_eq!(
            described(latest_of_each_window(outputs)),
            ["tweets 60000 false", "checkpoint 1", "hashtags 60000 3 true", "hashtags 120000 3 false"]
        );
    }
}
