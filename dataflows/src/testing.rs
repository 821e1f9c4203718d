//! Runs the graph over tweets as a stream feeds it, and keeps every ranking it publishes: how the
//! tests that check the graph (against the reference, and against the trendflow crate's
//! independent oracle) drive it.

use std::sync::{Arc, Mutex};

use proptest::prelude::*;

use crate::config::{GraphConfig, TrendConfig};
use crate::graph::rankings;
use crate::views::Snapshot;
use crate::window::WindowSpec;
use crate::{Contribution, Tweet};
use differential_dataflow::input::Input;

/// How the graph is fed: `tweets` in arrival order, cut into batches ending at `batch_ends`
/// (indices into `tweets`, the last one `tweets.len()`), spread over `workers` threads, publishing
/// live rankings when `live` is set.
pub struct Feed<'a> {
    /// The tweets, in arrival order.
    pub tweets: &'a [Tweet],
    /// Where each batch ends: indices into `tweets`, the last one `tweets.len()`.
    pub batch_ends: &'a [usize],
    /// The graph fed.
    pub config: &'a GraphConfig,
    /// How many timely workers share the tweets.
    pub workers: usize,
    /// Whether live rankings are published too.
    pub live: bool,
}

/// Every ranking the graph published, live and final, in no particular order.
///
/// Each worker feeds its share of every batch, then lets its input frontier advance to its
/// earliest tweet still to come and steps until the graph has caught up: the rankings before that
/// frontier are published, live ones among them, before the next batch arrives. The input closes
/// at the end, which publishes the remaining windows' final rankings.
pub fn published(feed: &Feed) -> Vec<Snapshot> {
    let snapshots = Arc::new(Mutex::new(Vec::new()));
    let sink = snapshots.clone();
    let tweets: Arc<Vec<Tweet>> = Arc::new(feed.tweets.to_vec());
    let batch_ends: Arc<Vec<usize>> = Arc::new(feed.batch_ends.to_vec());
    let (config, live) = (feed.config.clone(), feed.live);
    timely::execute(timely::Config::process(feed.workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let sink = sink.clone();
        let (mut input, probe) = worker.dataflow(|scope| {
            let (input, contributions) = scope.new_collection::<Contribution, isize>();
            let (probe, contributions) = contributions.probe();
            rankings(contributions, &config)
                .publish(live, move |snapshot| sink.lock().expect("no worker panicked").push(snapshot));
            (input, probe)
        });
        let mine: Vec<(usize, &Tweet)> = tweets.iter().enumerate().filter(|(i, _)| i % peers == index).collect();
        let mut start = 0;
        for &end in batch_ends.iter() {
            for (_, tweet) in mine.iter().filter(|(i, _)| (start..end).contains(i)) {
                input.update_at(Contribution::of((*tweet).clone()), tweet.created_at, 1);
            }
            let pending = mine.iter().filter(|(i, _)| *i >= end).map(|(_, tweet)| tweet.created_at).min();
            if let Some(frontier) = pending {
                input.advance_to(frontier.max(*input.time()));
            }
            input.flush();
            while probe.less_than(input.time()) {
                worker.step();
            }
            start = end;
        }
    })
    .expect("the timely workers ran");
    let snapshots = std::mem::take(&mut *snapshots.lock().expect("no worker panicked"));
    snapshots
}

/// A case's trending view: none, or `(baseline, minimum count, minimum score)`.
pub type TrendChoice = Option<(Option<u64>, u64, f64)>;

/// Trending settings for a property test's case: no trending view, or one with a baseline of
/// twelve lengths, 30 s, 1 m or 2 m, a small minimum count so that the few tweets of a case make
/// candidates, and a minimum score that takes every candidate, the default's, or between.
pub fn trend_strategy() -> impl Strategy<Value = TrendChoice> {
    prop::option::weighted(
        0.7,
        (
            prop::sample::select(vec![None, Some(30_000), Some(60_000), Some(120_000)]),
            1u64..4,
            prop::sample::select(vec![f64::MIN, 0.0, 1.5, TrendConfig::MIN_SCORE]),
        ),
    )
}

/// The graph of a property test's case: `windows` ranked to `k` at the tick `tick_choice` picks
/// (1 ms, 1 s, 10 s, the coarsest for all specs, or past those each length's coarsest), with the
/// trending view `trend`. A baseline that is no multiple of a fixed tick falls back to the
/// default; the trending settings returned are those taken.
pub fn case_graph(
    windows: Vec<WindowSpec>,
    k: usize,
    tick_choice: usize,
    trend: TrendChoice,
) -> (GraphConfig, TrendChoice) {
    let coarsest = GraphConfig::coarsest_tick(&windows);
    let config = match [1, 1_000, 10_000, coarsest].get(tick_choice) {
        Some(&tick) => GraphConfig::new(windows, k, if coarsest % tick == 0 { tick } else { 1 }),
        None => GraphConfig::coarsest(windows, k),
    }
    .expect("a valid config");
    let Some((baseline, min_count, min_score)) = trend else { return (config, None) };
    let trend = |baseline| {
        TrendConfig::new(baseline, min_count)
            .and_then(|trend| trend.with_min_score(min_score))
            .expect("valid trend settings")
    };
    match config.clone().with_trending(trend(baseline)) {
        Ok(config) => (config, Some((baseline, min_count, min_score))),
        Err(_) => {
            (config.with_trending(trend(None)).expect("ticks divide every length"), Some((None, min_count, min_score)))
        }
    }
}

/// `tweets` in a deterministic arrival order shuffled by `seed`, and where the batches it is fed
/// in end (indices into it, the last one its length).
pub fn arrival(tweets: Vec<Tweet>, seed: u64) -> (Vec<Tweet>, Vec<usize>) {
    let mut order: Vec<(u64, Tweet)> = tweets
        .into_iter()
        .enumerate()
        .map(|(i, t)| ((i as u64 + 1).wrapping_mul(seed | 1).rotate_left(17), t))
        .collect();
    order.sort_by_key(|(key, _)| *key);
    let tweets: Vec<Tweet> = order.into_iter().map(|(_, t)| t).collect();
    let batch_ends = (1..=tweets.len()).filter(|i| (seed >> (i % 64)) & 1 == 1 || *i == tweets.len()).collect();
    (tweets, batch_ends)
}
