//! Runs the graph over tweets as a stream feeds it, and keeps every ranking it publishes: how the
//! tests that check the graph (against the reference, and against the trendflow crate's
//! independent oracle) drive it.

use std::sync::{Arc, Mutex};

use crate::config::GraphConfig;
use crate::graph::rankings;
use crate::views::Snapshot;
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
