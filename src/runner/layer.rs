//! Running the graph over a source on timely workers: what the demo, batch and stream jobs share.
//!
//! Each worker pushes its share of the source's tweets into the graph at their event times,
//! keeping the input frontier a fixed slack behind the latest event time it has seen. The
//! published rankings come back to the calling thread, which hands them to the job (to print, to
//! write to MySQL) and shows progress.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use crossbeam_channel::RecvTimeoutError;
use differential_dataflow::input::{Input, InputSession};
use indicatif::{ProgressBar, ProgressStyle};
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::worker::Worker;
use trendflow_dataflows::graph::{rankings, GraphConfig};
use trendflow_dataflows::views::Snapshot;
use trendflow_dataflows::{EventTime, Tweet};

/// A source of tweets split over workers: called once per worker with `(worker, peers, push)`,
/// it pushes that worker's share of the tweets, as nearly in event-time order as it can.
pub type SharedSource = Arc<dyn Fn(usize, usize, &mut dyn FnMut(Tweet)) -> Result<()> + Send + Sync>;

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
    /// How many tweets to expect, for the progress bar, when known.
    pub expected_tweets: Option<u64>,
}

/// What a layer's run measured.
pub struct LayerRun {
    pub elapsed: Duration,
    pub tweets: u64,
    pub late: u64,
    pub changes: u64,
    pub windows_closed: u64,
}

/// Runs the graph over `source` on the workers of `config`, handing every published snapshot to
/// `on_snapshot` on this thread. The first error of a worker or of `on_snapshot` ends the run.
pub fn run_layer(
    plan: &LayerPlan,
    config: timely::Config,
    source: SharedSource,
    mut on_snapshot: impl FnMut(&Snapshot, &ProgressBar) -> Result<()>,
) -> Result<LayerRun> {
    let (sender, receiver) = crossbeam_channel::unbounded::<Snapshot>();
    let fed = Arc::new(AtomicU64::new(0));
    let late = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let guards = {
        let (plan, fed, late) = (plan.clone(), fed.clone(), late.clone());
        timely::execute(config, move |worker| {
            let sender = sender.clone();
            let (mut input, probe) = worker.dataflow(|scope| {
                let (input, tweets) = scope.new_collection::<Tweet, isize>();
                let (probe, tweets) = tweets.probe();
                // A send fails only once the collecting thread is gone, when nobody needs rankings.
                rankings(tweets, &plan.graph).publish(plan.changes, move |snapshot| {
                    let _ = sender.send(snapshot);
                });
                (input, probe)
            });
            let (index, peers) = (worker.index(), worker.peers());
            let mut feeder = Feeder {
                worker,
                input: &mut input,
                probe: &probe,
                slack_ms: plan.slack_ms,
                latest: 0,
                batch: 0,
                fed: &fed,
                late: &late,
            };
            let result = source(index, peers, &mut |tweet| feeder.push(tweet));
            feeder.finish();
            result
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
    let mut failure: Option<anyhow::Error> = None;
    let (mut changes, mut windows_closed) = (0, 0);
    loop {
        match receiver.recv_timeout(Duration::from_millis(100)) {
            Ok(snapshot) => {
                if !snapshot.is_final() {
                    changes += 1;
                } else if matches!(snapshot, Snapshot::Hashtags(_)) {
                    windows_closed += 1;
                    progress.set_message(format!("{windows_closed} windows closed"));
                }
                if failure.is_none() {
                    failure = on_snapshot(&snapshot, &progress).err();
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        progress.set_position(fed.load(Ordering::Relaxed));
    }
    progress.finish_and_clear();
    for result in guards.join() {
        result.map_err(|e| anyhow!("a timely worker failed: {e}"))??;
    }
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(LayerRun {
        elapsed: started.elapsed(),
        tweets: fed.load(Ordering::Relaxed),
        late: late.load(Ordering::Relaxed),
        changes,
        windows_closed,
    })
}

/// Prints a line above the progress bar, or plainly when the bar is hidden (output is not a
/// terminal), where indicatif would drop it.
pub fn print_line(progress: &ProgressBar, line: String) {
    match progress.is_hidden() {
        true => println!("{line}"),
        false => progress.println(line),
    }
}

/// How many tweets go in between two advances of the input frontier.
const BATCH: u64 = 4_096;

/// One worker's end of the input: feeds tweets at their event times and advances the frontier.
struct Feeder<'a> {
    worker: &'a mut Worker,
    input: &'a mut InputSession<EventTime, Tweet, isize>,
    probe: &'a ProbeHandle<EventTime>,
    slack_ms: u64,
    latest: EventTime,
    batch: u64,
    fed: &'a AtomicU64,
    late: &'a AtomicU64,
}

impl Feeder<'_> {
    /// Feeds one tweet; a tweet already behind the input frontier is late: counted, not fed.
    fn push(&mut self, tweet: Tweet) {
        if tweet.created_at < *self.input.time() {
            self.late.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.latest = self.latest.max(tweet.created_at);
        let at = tweet.created_at;
        self.input.update_at(tweet, at, 1);
        self.batch += 1;
        if self.batch == BATCH {
            self.fed.fetch_add(self.batch, Ordering::Relaxed);
            self.batch = 0;
            let watermark = self.latest.saturating_sub(self.slack_ms);
            if watermark > *self.input.time() {
                self.input.advance_to(watermark);
            }
            self.input.flush();
            let (input, probe) = (&self.input, self.probe);
            self.worker.step_while(|| probe.less_than(input.time()));
        }
    }

    fn finish(&mut self) {
        self.fed.fetch_add(self.batch, Ordering::Relaxed);
        self.batch = 0;
    }
}
