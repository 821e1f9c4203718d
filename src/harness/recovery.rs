//! How long a `stream` takes from its start to reading live input: the figures of a restart.
//!
//! A restarted stream reads each partition again from its stored position, to rebuild the windows
//! it had not published, before it reads anything new. How long that takes is what users of
//! streaming engines compare (Flink reports it for every checkpoint restore), so the stream
//! measures each step of its start and, once every worker has read its partitions to their end,
//! reports them ([`StartReport`]) to whoever started the clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::time::wall_clock_us;
use crate::vocabulary::report::stream::StartReport;

/// A step of the job's own start, on its main thread, in the order they come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStep {
    /// MySQL connected, the schema checked, the stored positions loaded.
    Mysql,
    /// The topic's metadata read, the stored positions found on the broker.
    Broker,
    /// The view writer and the rankings' producer ready.
    Sinks,
}

const JOB_STEPS: usize = 3;

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

/// What the clock does with the start's report, once the start is over.
type OnCaughtUp = Box<dyn Fn(&StartReport) + Send + Sync>;

/// When each step of a stream's start ended, measured from the job's start.
pub struct StartClock {
    started: Instant,
    started_at_us: u64,
    workers: usize,
    /// When each [`JobStep`] ended.
    job_steps: Mutex<[Option<Duration>; JOB_STEPS]>,
    /// For each [`WorkerStep`]: how many workers have reached it, and when the last one did.
    worker_steps: Mutex<[(usize, Option<Duration>); WORKER_STEPS]>,
    /// Messages read again that the previous run had read already.
    replayed: AtomicU64,
    on_caught_up: OnCaughtUp,
}

impl StartClock {
    /// A clock started now, for a job with `workers` local workers, that hands `on_caught_up` the
    /// start's report once the last of them has caught up.
    pub fn start(workers: usize, on_caught_up: impl Fn(&StartReport) + Send + Sync + 'static) -> Self {
        StartClock {
            started: Instant::now(),
            started_at_us: wall_clock_us(),
            workers,
            job_steps: Mutex::new([None; JOB_STEPS]),
            worker_steps: Mutex::new([(0, None); WORKER_STEPS]),
            replayed: Default::default(),
            on_caught_up: Box::new(on_caught_up),
        }
    }

    /// Records that the job's `step` has ended.
    pub fn job_step(&self, step: JobStep) {
        let at = self.started.elapsed();
        if let Ok(mut steps) = self.job_steps.lock() {
            steps[step as usize] = Some(at);
        }
    }

    /// Records that one worker reached `step`; the last local worker to catch up has the start
    /// reported.
    pub fn worker_reached(&self, step: WorkerStep) {
        let at = self.started.elapsed();
        let all_reached = match self.worker_steps.lock() {
            Ok(mut steps) => {
                let (reached, when) = &mut steps[step as usize];
                *reached += 1;
                if *reached == self.workers {
                    *when = Some(at);
                }
                *reached == self.workers
            }
            Err(_) => false,
        };
        if all_reached && step == WorkerStep::CaughtUp {
            if let Some(report) = self.report() {
                (self.on_caught_up)(&report);
            }
        }
    }

    /// Counts a message read again.
    pub fn replayed_one(&self) {
        self.replayed.fetch_add(1, Ordering::Relaxed);
    }

    /// The start's report, once every step has ended.
    pub fn report(&self) -> Option<StartReport> {
        let job = *self.job_steps.lock().ok()?;
        let workers = self.worker_steps.lock().ok()?.map(|(_, when)| when);
        let ms = |at: Option<Duration>| at.map(|at| at.as_millis() as u64);
        let job_ms = |step: JobStep| ms(job[step as usize]);
        let worker_ms = |step: WorkerStep| ms(workers[step as usize]);
        Some(StartReport {
            job_started_at_us: self.started_at_us,
            mysql_ms: job_ms(JobStep::Mysql)?,
            broker_ms: job_ms(JobStep::Broker)?,
            sinks_ms: job_ms(JobStep::Sinks)?,
            workers_ms: worker_ms(WorkerStep::Ready)?,
            replayed_ms: worker_ms(WorkerStep::Replayed)?,
            replayed_messages: self.replayed.load(Ordering::Relaxed),
            caught_up_ms: worker_ms(WorkerStep::CaughtUp)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn the_start_is_reported_once_the_last_worker_catches_up() {
        let reported = Arc::new(Mutex::new(Vec::new()));
        let told = reported.clone();
        let clock = StartClock::start(2, move |report| told.lock().unwrap().push(report.clone()));
        [JobStep::Mysql, JobStep::Broker, JobStep::Sinks].into_iter().for_each(|step| clock.job_step(step));
        clock.worker_reached(WorkerStep::Ready);
        assert_eq!(clock.report(), None, "one worker of two is ready");
        clock.worker_reached(WorkerStep::Ready);
        clock.replayed_one();
        for step in [WorkerStep::Replayed, WorkerStep::CaughtUp] {
            clock.worker_reached(step);
            clock.worker_reached(step);
        }
        let reported = reported.lock().unwrap();
        assert_eq!(reported.len(), 1, "reported once");
        let report = &reported[0];
        assert_eq!(report.replayed_messages, 1);
        assert!(report.mysql_ms <= report.workers_ms && report.workers_ms <= report.caught_up_ms, "{report:?}");
        assert!(report.job_started_at_us > 1_600_000_000_000_000, "a wall-clock time");
        assert_eq!(clock.report().as_ref(), Some(report));
    }
}
