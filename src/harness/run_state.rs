//! What a layer's workers and its calling thread share while it runs: how many tweets went in,
//! and the run's first failure, whose recording stops every worker of this process.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use anyhow::anyhow;

use crate::harness::layer::Stopped;

/// The counts of a run and its first failure — of a worker, or of the job's handling of its
/// output.
#[derive(Default)]
pub(crate) struct RunState {
    /// Tweets fed into the graph.
    pub fed: AtomicU64,
    /// Tweets behind the input frontier: counted, not fed.
    pub late: AtomicU64,
    /// The latest event time of the run's ordered sources, over all workers.
    pub newest: AtomicU64,
    stopping: AtomicBool,
    failure: Mutex<Option<anyhow::Error>>,
}

impl RunState {
    /// Keeps `error` unless an earlier one was kept ([`Stopped`] is a consequence, not a cause),
    /// and stops the run.
    pub fn record(&self, error: anyhow::Error) {
        if !error.is::<Stopped>() {
            if let Ok(mut first) = self.failure.lock() {
                first.get_or_insert(error);
            }
        }
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Whether the run is stopping because something failed.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// The first failure, if there was one.
    pub fn take_failure(&self) -> Option<anyhow::Error> {
        self.failure.lock().ok().and_then(|mut first| first.take())
    }
}

/// Fails the run if its worker panics (in a cluster, timely's workers panic when another process
/// is gone): the others would otherwise read on, their output unused. The panic's message is on
/// standard error already.
pub(crate) struct StopOnPanic<'a>(pub &'a RunState);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.record(anyhow!("a timely worker panicked (its message is above)"));
        }
    }
}
