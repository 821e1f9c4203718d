//! How long a `stream` takes from its start to reading live input: the figures of a restart.
//!
//! A restarted stream reads each partition again from its stored position, to rebuild the windows
//! it had not published, before it reads anything new. How long that takes is what users of
//! streaming engines compare (Flink reports it for every checkpoint restore), so the stream
//! measures each step of its start and prints them once every worker has read its partitions to
//! their end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A step of a worker's start, reached once every local worker has reached it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerStep {
    /// The worker's consumer, producer and archive are connected, and its partitions assigned.
    Ready,
    /// The worker has read again every message the previous run had read (and wrote nothing for
    /// them a second time): the windows it had open are rebuilt.
    Replayed,
    /// The worker has read each of its partitions to the end the broker had.
    CaughtUp,
}

const WORKER_STEPS: usize = 3;

/// When each step of a stream's start ended, measured from the job's start.
pub struct StartClock {
    started: Instant,
    workers: usize,
    /// The job's own steps, in order: what it connected to, and when that was done.
    job_steps: Mutex<Vec<(&'static str, Duration)>>,
    /// For each [`WorkerStep`]: how many workers have reached it, and when the last one did.
    worker_steps: Mutex<[(usize, Option<Duration>); WORKER_STEPS]>,
    /// Messages read again that the previous run had read already.
    replayed: AtomicU64,
}

impl StartClock {
    /// A clock started now, for a job with `workers` local workers.
    pub fn start(workers: usize) -> Self {
        StartClock {
            started: Instant::now(),
            workers,
            job_steps: Mutex::new(Vec::new()),
            worker_steps: Mutex::new([(0, None); WORKER_STEPS]),
            replayed: Default::default(),
        }
    }

    /// Records that the job's step `name` has ended.
    pub fn job_step(&self, name: &'static str) {
        let at = self.started.elapsed();
        if let Ok(mut steps) = self.job_steps.lock() {
            steps.push((name, at));
        }
    }

    /// Records that one worker reached `step`; returns whether it was the last local worker to.
    pub fn worker_reached(&self, step: WorkerStep) -> bool {
        let at = self.started.elapsed();
        let Ok(mut steps) = self.worker_steps.lock() else { return false };
        let (reached, when) = &mut steps[step as usize];
        *reached += 1;
        if *reached == self.workers {
            *when = Some(at);
            return true;
        }
        false
    }

    /// Counts a message read again.
    pub fn replayed_one(&self) {
        self.replayed.fetch_add(1, Ordering::Relaxed);
    }

    /// When every local worker had reached `step`, if they all have.
    pub fn worker_step(&self, step: WorkerStep) -> Option<Duration> {
        self.worker_steps.lock().ok().and_then(|steps| steps[step as usize].1)
    }

    /// The steps so far, as one line: `MySQL 31 ms, broker 52 ms, workers 70 ms, ...`, each the
    /// time since the start at which it ended.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .job_steps
            .lock()
            .map(|steps| steps.iter().map(|(name, at)| format!("{name} {}", millis(*at))).collect())
            .unwrap_or_default();
        let replayed = self.replayed.load(Ordering::Relaxed);
        for (step, name) in [
            (WorkerStep::Ready, "workers reading".to_string()),
            (WorkerStep::Replayed, format!("{replayed} messages replayed")),
            (WorkerStep::CaughtUp, "caught up".to_string()),
        ] {
            if let Some(at) = self.worker_step(step) {
                parts.push(format!("{name} {}", millis(at)));
            }
        }
        parts.join(", ")
    }
}

fn millis(duration: Duration) -> String {
    format!("{} ms", duration.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_step_is_reached_when_the_last_worker_reaches_it() {
        let clock = StartClock::start(2);
        clock.job_step("MySQL");
        assert!(!clock.worker_reached(WorkerStep::Ready));
        assert_eq!(clock.worker_step(WorkerStep::Ready), None);
        assert!(clock.worker_reached(WorkerStep::Ready));
        assert!(clock.worker_step(WorkerStep::Ready).is_some());
        clock.replayed_one();
        let summary = clock.summary();
        assert!(summary.starts_with("MySQL ") && summary.contains(", workers reading "), "{summary}");
        assert!(!summary.contains("replayed") && !summary.contains("caught up"), "{summary}");
    }
}
