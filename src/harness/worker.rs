//! One worker of a layer's run: the graph built on it, and its end of the graph's input, which
//! the source feeds — an ordered source through a thread that reads ahead of it, a driven one
//! through [`Feed`].

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use crossbeam_channel::Sender;
use differential_dataflow::input::{Input, InputSession};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::vec::broadcast::Broadcast;
use timely::dataflow::operators::vec::input::{Handle as VecInputHandle, Input as VecInput};
use timely::dataflow::operators::Probe;
use timely::worker::Worker;
use trendflow_dataflows::graph::rankings;
use trendflow_dataflows::{Contribution, EventTime};

use crate::harness::collect::Sent;
use crate::harness::latency::{LatencyObserver, WorkerLatency};
use crate::harness::layer::{Output, SharedSource, Source, Stopped};
use crate::harness::pacing::{Pacing, BATCH};
use crate::harness::plan::LayerPlan;
use crate::harness::run_state::{RunState, StopOnPanic};

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

/// A tweet behind the input frontier: late, not fed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("behind the input frontier")]
pub struct Late;

/// Runs `source` on `worker`: builds the graph there and feeds it the worker's share of the
/// tweets. A failure, of the source or of the worker, is recorded in `state`, which stops the run.
pub(crate) fn run_worker<C: Send + 'static>(
    worker: &mut Worker,
    plan: &LayerPlan,
    source: &Source<C>,
    sender: &Sender<Sent<C>>,
    state: &RunState,
    latency: Option<&LatencyObserver>,
) {
    let _stop_on_panic = StopOnPanic(state);
    let (index, peers) = (worker.index(), worker.peers());
    let driven = matches!(source, Source::Driven(_));
    let dataflow = WorkerDataflow::build(worker, plan, sender.clone(), driven);
    let mut feeder = Feeder {
        worker,
        dataflow,
        outputs: sender,
        ranked_before: Some(0),
        slack_ms: plan.slack_ms,
        latest: 0,
        batch: 0,
        pacing: Pacing::default(),
        state,
        latency: latency.map(|latency| latency.worker(index)),
    };
    let result = match source {
        Source::Ordered(source) => {
            read_ahead(source, index, peers, &mut |time, contribution| feeder.push_in_order(time, contribution))
        }
        Source::Driven(source) => source(index, peers, &mut feeder),
    };
    let finished = feeder.finish();
    if let Err(error) = result.and(finished) {
        state.record(error);
    }
}

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

/// A worker's handles on the graph built on it.
struct WorkerDataflow {
    input: InputSession<EventTime, Contribution, isize>,
    /// Where a driven source's watermark reports go; `None` for an ordered source.
    beats: Option<VecInputHandle<EventTime, (usize, Option<EventTime>)>>,
    /// The watermark each worker reported last.
    watermarks: Rc<RefCell<Vec<Option<EventTime>>>>,
    /// Watches the published rankings.
    probe: ProbeHandle<EventTime>,
}

impl WorkerDataflow {
    /// Builds the graph of `plan` on `worker`, its published rankings sent to `sender`.
    fn build<C: Send + 'static>(worker: &mut Worker, plan: &LayerPlan, sender: Sender<Sent<C>>, driven: bool) -> Self {
        let watermarks = Rc::new(RefCell::new(vec![None; worker.peers()]));
        let table = watermarks.clone();
        let live = plan.publishing.live();
        let (input, beats, probe) = worker.dataflow(|scope| {
            let (input, contributions) = scope.new_collection::<Contribution, isize>();
            // The probe watches the published rankings, not the input: a worker has caught up
            // only once every ranking up to its input frontier is out, so input cannot run
            // ahead of the graph and pile up inside it.
            let probe = ProbeHandle::new();
            // A send waits while the queue is full, and fails only once the collecting thread
            // is gone, when nobody needs rankings.
            rankings(contributions, &plan.graph)
                .publish(live, move |snapshot| {
                    let _ = sender.send(Sent::Output(Output::Snapshot(snapshot)));
                })
                .probe_with(&probe);
            // A driven source's watermark reports travel as plain data at time 0, outside
            // progress tracking: they are advice for idle workers, not promises.
            let beats = driven.then(|| {
                let (beats, reports) = VecInput::new_input::<(usize, Option<EventTime>)>(&scope);
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
        WorkerDataflow { input, beats, watermarks, probe }
    }
}

/// One worker's end of the input: feeds tweets at their event times and advances the frontier.
struct Feeder<'a, C> {
    worker: &'a mut Worker,
    dataflow: WorkerDataflow,
    /// Where checkpoints and output frontiers go, behind the rankings.
    outputs: &'a Sender<Sent<C>>,
    /// While latency is measured: the output frontier the job was last told of.
    ranked_before: Option<EventTime>,
    slack_ms: u64,
    latest: EventTime,
    batch: u64,
    pacing: Pacing,
    state: &'a RunState,
    latency: Option<WorkerLatency<'a>>,
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
            let dataflow = &mut self.dataflow;
            self.pacing.advance(self.worker, &mut dataflow.input, &dataflow.probe, frontier);
        }
        Ok(())
    }

    /// Counts the tweets fed since the last call.
    fn count_fed(&mut self) {
        self.state.fed.fetch_add(self.batch, Ordering::Relaxed);
        self.batch = 0;
    }

    /// Hands the tweets fed since the last call to the dataflow.
    fn flush(&mut self) {
        self.count_fed();
        self.dataflow.input.flush();
    }

    /// While latency is measured: tells it where the output frontier is, and the job when it has
    /// moved, behind the rankings before it ([`Sent::Ranked`]).
    fn tell_ranked(&mut self) {
        let Some(latency) = self.latency.as_mut() else { return };
        let before = self.dataflow.probe.with_frontier(|frontier| frontier.first().copied());
        latency.output_at(before);
        if before != self.ranked_before {
            self.ranked_before = before;
            let _ = self.outputs.send(Sent::Ranked { worker: self.worker.index(), before });
        }
    }

    /// Hands over what was fed last, and the worker's measurements.
    fn finish(&mut self) -> Result<()> {
        self.flush();
        self.state.newest.fetch_max(self.latest, Ordering::Relaxed);
        self.latency.take().map_or(Ok(()), WorkerLatency::finish)
    }
}

impl<C> Feed<C> for Feeder<'_, C> {
    fn push(&mut self, time: EventTime, contribution: Contribution) -> Result<(), Late> {
        if time < *self.dataflow.input.time() {
            self.state.late.fetch_add(1, Ordering::Relaxed);
            return Err(Late);
        }
        self.dataflow.input.update_at(contribution, time, 1);
        self.batch += 1;
        if let Some(latency) = self.latency.as_mut() {
            latency.fed(time);
        }
        Ok(())
    }

    fn advance_to(&mut self, time: EventTime) {
        if time > *self.dataflow.input.time() {
            self.dataflow.input.advance_to(time);
            if let Some(latency) = self.latency.as_mut() {
                latency.input_advanced(time);
            }
        }
    }

    fn frontier(&self) -> EventTime {
        *self.dataflow.input.time()
    }

    fn output_frontier(&self) -> Option<EventTime> {
        self.dataflow.probe.with_frontier(|frontier| frontier.first().copied())
    }

    fn step(&mut self) -> bool {
        self.flush();
        // The graph puts each tweet's records at least a millisecond after it, so rankings at the
        // input frontier's own time are complete too: stepping until they are out publishes the
        // tick the frontier has just closed now, not in the source's next round.
        let closed = self.dataflow.input.time().saturating_add(1);
        // Bounded: the probe also waits for the other workers' inputs, and a driven source must
        // get back to its own input (and its stop flag) while they catch up.
        let deadline = Instant::now() + MAX_STEP;
        while self.dataflow.probe.less_than(&closed) && Instant::now() < deadline {
            self.worker.step();
        }
        self.tell_ranked();
        !self.dataflow.probe.less_than(&closed)
    }

    fn park(&mut self, timeout: Duration) {
        self.worker.step_or_park(Some(timeout));
        self.tell_ranked();
    }

    fn stopping(&self) -> bool {
        self.state.stopping()
    }

    fn checkpoint(&mut self, checkpoint: C) {
        let _ = self.outputs.send(Sent::Output(Output::Checkpoint(checkpoint)));
    }

    fn report_watermark(&mut self, watermark: Option<EventTime>) {
        if let Some(beats) = self.dataflow.beats.as_mut() {
            beats.send((self.worker.index(), watermark));
            beats.flush();
        }
    }

    fn cluster_watermark(&self) -> Option<EventTime> {
        self.dataflow.watermarks.borrow().iter().flatten().min().copied()
    }
}

/// The longest [`Feed::step`] runs the dataflow before it returns to its source.
pub const MAX_STEP: Duration = Duration::from_millis(100);
