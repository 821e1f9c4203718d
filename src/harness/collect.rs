//! The calling thread's side of a layer's run: it takes what the workers publish, in the order
//! they published it, hands it to the job, and shows progress.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use indicatif::{ProgressBar, ProgressStyle};
use trendflow_dataflows::views::Snapshot;
use trendflow_dataflows::EventTime;

use crate::harness::latency::LatencyObserver;
use crate::harness::layer::Output;
use crate::harness::plan::{LayerPlan, Publishing};
use crate::harness::run_state::RunState;

/// What a worker sends the calling thread.
pub(crate) enum Sent<C> {
    /// For the job.
    Output(Output<C>),
    /// Every ranking of `worker` before `before` (every one, if `None`) is ahead of this: once the
    /// job has handled what came before, they are published. Sent only while latency is measured.
    Ranked { worker: usize, before: Option<EventTime> },
}

/// What the calling thread counted of the rankings.
pub(crate) struct Collected {
    /// Live rankings published.
    pub changes: u64,
    /// Windows whose final hashtag ranking was published.
    pub windows_closed: u64,
}

/// Hands what the workers send to `on_output` until they are all done, or, in a `cluster`, until
/// the run is stopping: a process of a cluster cannot wait for its graph to finish, as the other
/// processes go on feeding it. It leaves its workers behind; its exit closes their connections.
/// A failure of `on_output` is recorded in `state`, and stops the run.
pub(crate) fn collect<C>(
    plan: &LayerPlan,
    receiver: &Receiver<Sent<C>>,
    state: &RunState,
    cluster: bool,
    latency: Option<&LatencyObserver>,
    mut on_output: impl FnMut(Output<C>, &ProgressBar) -> Result<()>,
) -> Result<Collected> {
    let progress = progress_bar(plan)?;
    let mut collected = Collected { changes: 0, windows_closed: 0 };
    while !(cluster && state.stopping()) {
        let sent = match receiver.recv_timeout(Duration::from_millis(100)) {
            Ok(sent) => {
                let mut all = vec![sent];
                all.extend(receiver.try_iter());
                all
            }
            // Nothing came for a while: a job that waits on something besides the workers (the
            // broker's word on what it sent) gets to look again.
            Err(RecvTimeoutError::Timeout) => vec![Sent::Output(Output::Quiet)],
            Err(RecvTimeoutError::Disconnected) => break,
        };
        for sent in &sent {
            if let Sent::Output(Output::Snapshot(snapshot)) = sent {
                collected.count(snapshot, &progress);
            }
        }
        let sent = match plan.publishing {
            Publishing::LatestLive => latest_of_each_window(sent),
            Publishing::FinalOnly | Publishing::EveryChange => sent,
        };
        for sent in sent {
            // Once stopping, the workers have closed their inputs and the graph closes every
            // window early: those rankings are incomplete and go nowhere.
            if state.stopping() {
                break;
            }
            match sent {
                Sent::Output(output) => {
                    if let Err(error) = on_output(output, &progress) {
                        state.record(error);
                    }
                }
                Sent::Ranked { worker, before } => {
                    if let Some(latency) = latency {
                        latency.published(worker, before);
                    }
                }
            }
        }
        progress.set_position(state.fed.load(Ordering::Relaxed));
    }
    progress.finish_and_clear();
    Ok(collected)
}

impl Collected {
    fn count(&mut self, snapshot: &Snapshot, progress: &ProgressBar) {
        if !snapshot.is_final() {
            self.changes += 1;
        } else if matches!(snapshot, Snapshot::Hashtags(_)) {
            self.windows_closed += 1;
            progress.set_message(format!("{} windows closed", self.windows_closed));
        }
    }
}

/// The progress line of `plan`'s run: tweets fed, out of those expected when known.
fn progress_bar(plan: &LayerPlan) -> Result<ProgressBar> {
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
    Ok(progress)
}

/// Prints a line above the progress bar, or plainly when the bar is hidden (output is not a
/// terminal), where indicatif would drop it.
pub fn print_line(progress: &ProgressBar, line: String) {
    match progress.is_hidden() {
        true => println!("{line}"),
        false => progress.println(line),
    }
}

/// The outputs, less each live ranking that a later ranking of the same view and window among
/// them replaces. The rankings of a view and window length come from one worker, in the order of
/// their times, so the later one is the newer. With a fine tick a batch of tweets from the broker
/// completes several ticks at once, and each window's live ranking of every tick but the last is
/// out of date before it could be sent: leaving those out spares the broker thousands of
/// records a second and delays no ranking. Final rankings and checkpoints all stay, in order.
fn latest_of_each_window<C>(outputs: Vec<Sent<C>>) -> Vec<Sent<C>> {
    let view_and_window = |snapshot: &Snapshot| (std::mem::discriminant(snapshot), snapshot.window());
    let mut latest = HashMap::new();
    for (index, output) in outputs.iter().enumerate() {
        if let Sent::Output(Output::Snapshot(snapshot)) = output {
            latest.insert(view_and_window(snapshot), index);
        }
    }
    outputs
        .into_iter()
        .enumerate()
        .filter(|(index, output)| match output {
            Sent::Output(Output::Snapshot(snapshot)) if !snapshot.is_final() => {
                latest.get(&view_and_window(snapshot)) == Some(index)
            }
            _ => true,
        })
        .map(|(_, output)| output)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use trendflow_dataflows::symbol::Symbol;
    use trendflow_dataflows::views::{HashtagCount, Ranking, TweetScore};
    use trendflow_dataflows::window::Window;

    fn hashtags(end: EventTime, count: u64, is_final: bool) -> Sent<u32> {
        let window = Window { spec: "1m".parse().expect("a spec"), end };
        let rows = vec![HashtagCount { hashtag: Symbol::new("rust"), count }];
        let ranking = Ranking { window, rows, is_final, as_of: end, partial_baseline: false };
        Sent::Output(Output::Snapshot(Snapshot::Hashtags(ranking)))
    }

    fn tweets(end: EventTime) -> Sent<u32> {
        let window = Window { spec: "1m".parse().expect("a spec"), end };
        let rows = vec![TweetScore { tweet_id: 7, retweets: 1, hashtags: 0 }];
        let ranking = Ranking { window, rows, is_final: false, as_of: end - 1, partial_baseline: false };
        Sent::Output(Output::Snapshot(Snapshot::Tweets(ranking)))
    }

    /// What each message is, to compare: a snapshot's view, window end, first count and finality.
    fn described(sent: Vec<Sent<u32>>) -> Vec<String> {
        let describe = |sent: Sent<u32>| match sent {
            Sent::Ranked { worker, before } => format!("ranked {worker} {before:?}"),
            Sent::Output(Output::Checkpoint(number)) => format!("checkpoint {number}"),
            Sent::Output(Output::Quiet) => "quiet".into(),
            Sent::Output(Output::Snapshot(Snapshot::Hashtags(r))) => {
                format!("hashtags {} {} {}", r.window.end, r.rows[0].count, r.is_final)
            }
            Sent::Output(Output::Snapshot(Snapshot::Tweets(r))) => format!("tweets {} {}", r.window.end, r.is_final),
            Sent::Output(Output::Snapshot(_)) => "another view".into(),
        };
        sent.into_iter().map(describe).collect()
    }

    #[test]
    fn a_live_ranking_replaced_by_a_later_one_of_its_view_and_window_is_left_out() {
        let sent = vec![
            hashtags(60_000, 1, false),
            tweets(60_000),
            hashtags(120_000, 1, false),
            Sent::Output(Output::Checkpoint(1)),
            hashtags(60_000, 2, false),
            Sent::Ranked { worker: 0, before: Some(60_000) },
            hashtags(60_000, 3, true),
            hashtags(120_000, 2, false),
            hashtags(120_000, 3, false),
        ];
        assert_eq!(
            described(latest_of_each_window(sent)),
            [
                "tweets 60000 false",
                "checkpoint 1",
                "ranked 0 Some(60000)",
                "hashtags 60000 3 true",
                "hashtags 120000 3 false"
            ]
        );
    }
}
