//! How an ordered source paces the graph: the tweets go in by batches, and the graph runs behind
//! them by a fixed number of advances of the input frontier. The jobs' harness and the benchmarks
//! that drive the graph by hand pace it the same way.

use std::time::Duration;

use differential_dataflow::input::InputSession;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::worker::Worker;
use trendflow_dataflows::{Contribution, EventTime};

/// The longest a waiting worker parks before it looks again; another worker's data wakes it at
/// once.
const PARK: Duration = Duration::from_millis(1);

/// How many tweets an ordered source feeds between two advances of the input frontier.
pub const BATCH: u64 = 4_096;

/// How an ordered source paces the graph: after each advance of the input frontier the worker
/// runs the graph until it has passed the frontier of two advances back, so that up to two
/// batches are in flight while the next goes in. Waiting for each advance's own frontier emptied
/// the pipeline at every batch, and with two workers each then waited, with nothing to do, for
/// the serial end of the batch (each length's final ranking and publishing, on one worker).
///
/// A worker with nothing to do while it waits (for another worker's part) parks until data
/// arrives rather than spinning: beside the sources' reading threads and a database on the same
/// cores, a spinning worker took the cores the worker it waited for needed.
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
        while probe.less_than(&before_last) {
            worker.step_or_park(Some(PARK));
        }
    }
}
