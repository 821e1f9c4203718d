//! The ranking graph: from tweets timestamped by event time to windowed views.
//!
//! The graph lets the timestamp do the windowing. For each distinct window length L, a tweet at
//! time `t` enters at `a(t)`, the first *tick* boundary after `t`, and leaves again at `a(t) + L`.
//! At any tick boundary `E` the graph then holds exactly the tweets of `[E - L, E)`: the contents
//! of the window of length L ending at `E`. A window spec (L, S) takes its final views from the
//! states at the multiples of S; in between, the state is the ranking of the last L of event
//! time, which is what a live "trending now" view shows. Each tweet costs one record pair per
//! distinct length, not one per window holding it, and memory holds only the last L of tweets.
//!
//! The tick only decides how often rankings are recomputed: it divides every length and slide, so
//! the state at a window's end is the same whatever the tick. Stream and batch runs may use
//! different ticks and still agree window for window: a fine tick for fresh live rankings, a
//! coarse one for throughput, down to one per window length (the states of different lengths are
//! independent).
//!
//! The operators are in parts: [`sliding`] turns tweets into the records of each length's
//! state, [`tallies`] says what a state knows of each hashtag and tweet and which rows that makes,
//! and this module wires them into rankings with [`crate::top_k`] and publishes them. What the
//! graph computes is configured apart, in [`crate::config`].

mod sliding;
mod tallies;

use differential_dataflow::VecCollection as Collection;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Concat;
use timely::dataflow::StreamVec;

use crate::config::GraphConfig;
use crate::publish::{publish, publish_with_baselines, Baselines};
use crate::top_k::{by_key, count, fold_top_k, ranked, ranked_in_orders};
use crate::views::{HashtagCount, LanguageCount, Snapshot, TrendingHashtag, TweetScore};
use crate::window::WindowSpec;
use crate::{Contribution, EventTime};
use sliding::{earliest_event, sliding_states, window_states};
use tallies::{HashtagRow, HashtagTally, Occurrence, TweetTally};

/// The views the graph maintains, each keyed by window length: the best `top_k` hashtags and
/// tweets of the last `length` of event time, the tweet count per language over it, and when
/// configured the best `top_k` trending hashtags. Rows are unranked sets; their order is their rank.
pub struct Views<'scope> {
    /// The best `top_k` hashtags of each length's state.
    pub hashtags: Collection<'scope, EventTime, (u64, HashtagCount)>,
    /// The best `top_k` tweets of each length's state.
    pub tweets: Collection<'scope, EventTime, (u64, TweetScore)>,
    /// Every language's tweet count in each length's state.
    pub languages: Collection<'scope, EventTime, (u64, LanguageCount)>,
    /// The best `top_k` trending hashtags of each length's state against its baseline.
    pub trending: Option<Collection<'scope, EventTime, (u64, TrendingHashtag)>>,
    /// The earliest event time of each batch of tweets, a millisecond after it: publishing
    /// follows its frontier to know when the input has ended.
    batch_times: StreamVec<'scope, EventTime, EventTime>,
    /// With trending, what its publishing needs to mark partial baselines.
    baselines: Option<Baselines<'scope>>,
    windows: Vec<WindowSpec>,
}

/// Builds the ranking graph over what tweets contribute, timestamped by the tweets' event times.
///
/// ```
/// use differential_dataflow::input::Input;
/// use trendflow_dataflows::config::GraphConfig;
/// use trendflow_dataflows::graph::rankings;
/// use trendflow_dataflows::views::FinalViews;
/// use trendflow_dataflows::{Contribution, Tweet};
///
/// let config = GraphConfig::new(vec!["1m".parse().unwrap()], 3, 1_000).unwrap();
/// let views = std::sync::Arc::new(std::sync::Mutex::new(FinalViews::default()));
/// let sink = views.clone();
/// timely::execute_directly(move |worker| {
///     let mut input = worker.dataflow(|scope| {
///         let (input, contributions) = scope.new_collection::<Contribution, isize>();
///         let sink = sink.clone();
///         rankings(contributions, &config).publish(false, move |snapshot| sink.lock().unwrap().record(snapshot));
///         input
///     });
///     let tweet = |id, text: &str, at| Tweet {
///         id, text: text.into(), created_at: at, lang: "en".into(), user_id: None, retweet_of: None,
///     };
///     input.update_at(Contribution::of(tweet(1, "#rust is #fast", 5_000)), 5_000, 1);
///     input.update_at(Contribution::of(tweet(2, "#Rust again", 7_000)), 7_000, 1);
/// });
/// let views = views.lock().unwrap();
/// let top = &views.hashtags.values().next().unwrap()[0];
/// assert_eq!((top.hashtag.as_str(), top.count), ("rust", 2));
/// ```
pub fn rankings<'scope>(
    contributions: Collection<'scope, EventTime, Contribution>,
    config: &GraphConfig,
) -> Views<'scope> {
    let baselines = config.baselines();
    let states = sliding_states(contributions, config);
    let candidates = config.trending().map(|trend| (trend.min_count(), trend.min_score()));
    // Without trending an occurrence leaves the window; with it, it ages into the baseline.
    let ages = candidates.is_some();
    let occurrences = window_states(
        states.occurrences,
        config.ticks().to_vec(),
        "Windows: hashtag occurrences by length",
        move |_, diff| if ages { (Occurrence::Ages, diff) } else { (Occurrence::Enters, -diff) },
    );
    let (rows, leaving) = (baselines.clone(), baselines.clone());
    let ranked_hashtags = ranked_in_orders(
        occurrences,
        Pipeline,
        if ages { 2 } else { 1 },
        config.top_k(),
        "TopK: hashtags and trending hashtags by window length",
        move |length, tally: &mut HashtagTally, occurrence, diff| {
            tally.add(occurrence, diff);
            // An occurrence that ages into the baseline leaves it a baseline later.
            if *occurrence != Occurrence::Ages {
                return None;
            }
            leaving.get(length).map(|baseline| (*baseline, Occurrence::LeavesBaseline))
        },
        move |length, order, hashtag, tally, bound| match (order, candidates) {
            (0, _) => tally.count_row(hashtag, bound),
            (_, Some(candidates)) => tally.trend_row(hashtag, *length, rows[length], candidates, bound),
            (_, None) => None,
        },
    );
    let hashtags = ranked_hashtags.clone().flat_map(|((length, _), row)| match row {
        HashtagRow::Count(row) => Some((length, row)),
        HashtagRow::Trend(_) => None,
    });
    let trending = config.trending().map(|_| {
        ranked_hashtags.flat_map(|((length, _), row)| match row {
            HashtagRow::Trend(row) => Some((length, row)),
            HashtagRow::Count(_) => None,
        })
    });

    // A few dozen languages: every one is published, so one worker per window length counts
    // them whole, without a first level that spreads a top-K of many items over the workers.
    let languages = fold_top_k(
        states.languages,
        by_key(),
        1,
        usize::MAX,
        "Count: languages by window length",
        count,
        |_, _, lang, count, _| (*count > 0).then(|| LanguageCount { language: lang.clone(), count: *count as u64 }),
    )
    .map(|((length, _order), row)| (length, row));

    // Only the trending view reaches back before its windows: only it needs the earliest tweet.
    let batch_times = states.batch_times;
    let baselines = config.trending().map(|_| Baselines {
        earliest: earliest_event(batch_times.clone()).concat(batch_times.clone()),
        earlier_input: config.earlier_input(),
        lengths: baselines,
    });
    let tweets = window_states(
        states.tweets,
        config.ticks().to_vec(),
        "Windows: posts and retweets by length",
        |event, diff| (event.clone(), -diff),
    );
    let tweets =
        ranked(tweets, Pipeline, config.top_k(), "TopK: tweets by window length", TweetTally::add, TweetTally::score);

    Views { hashtags, tweets, languages, trending, batch_times, baselines, windows: config.windows().to_vec() }
}

impl<'scope> Views<'scope> {
    /// Publishes the views' rankings through `emit`: each window's final rankings once its end has
    /// passed, and with `changes` also the live rankings as they change. The returned stream
    /// carries no data; a probe on it tells when every ranking before a time has been emitted.
    pub fn publish(
        self,
        changes: bool,
        emit: impl FnMut(Snapshot) + Clone + 'static,
    ) -> StreamVec<'scope, EventTime, ()> {
        let input = &self.batch_times;
        let mut on_hashtags = emit.clone();
        let hashtags = publish(self.hashtags, &self.windows, "Publish: hashtags", changes, input, move |r| {
            on_hashtags(Snapshot::Hashtags(r))
        });
        let mut on_tweets = emit.clone();
        let tweets = publish(self.tweets, &self.windows, "Publish: tweets", changes, input, move |r| {
            on_tweets(Snapshot::Tweets(r))
        });
        let mut on_languages = emit.clone();
        let languages = publish(self.languages, &self.windows, "Publish: languages", changes, input, move |r| {
            on_languages(Snapshot::Languages(r))
        });
        let published = hashtags.concat(tweets).concat(languages);
        match self.trending.zip(self.baselines) {
            Some((trending, baselines)) => {
                let mut on_trending = emit;
                let trending = publish_with_baselines(
                    trending,
                    &self.windows,
                    "Publish: trending",
                    changes,
                    baselines,
                    move |r| on_trending(Snapshot::Trending(r)),
                );
                published.concat(trending)
            }
            None => published,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TrendConfig;
    use crate::Tweet;

    /// A window's final ranking needs every tweet before its end, not a tweet after it: the
    /// records of its last millisecond enter at its end, which the graph must know, on the
    /// trending view's path to the input's earliest time too.
    #[test]
    fn a_window_is_published_once_the_input_has_passed_its_last_millisecond() {
        use std::sync::{Arc, Mutex};

        use differential_dataflow::input::Input;
        use timely::dataflow::operators::Probe;

        let config =
            GraphConfig::new(vec!["1s".parse().unwrap()], 3, 1).unwrap().with_trending(TrendConfig::default()).unwrap();
        let published = Arc::new(Mutex::new(Vec::new()));
        let sink = published.clone();
        timely::execute_directly(move |worker| {
            let (mut input, probe) = worker.dataflow(|scope| {
                let (input, contributions) = scope.new_collection::<Contribution, isize>();
                let published = rankings(contributions, &config).publish(false, move |snapshot| {
                    if let Snapshot::Hashtags(ranking) = snapshot {
                        sink.lock().unwrap().push((ranking.window.end, ranking.rows));
                    }
                });
                (input, published.probe().0)
            });
            let tweet = Tweet {
                id: 1,
                text: "#rust".into(),
                created_at: 999,
                lang: "en".into(),
                user_id: None,
                retweet_of: None,
            };
            input.update_at(Contribution::of(tweet), 999, 1);
            input.advance_to(1_000);
            input.flush();
            // Steps, not time: the graph has a few dozen operators to pass the frontier through.
            for _ in 0..1_000 {
                if !probe.less_than(&1_001) {
                    break;
                }
                worker.step();
            }
            assert!(!probe.less_than(&1_001), "the window ending at 1000 is still open");
        });
        let published = published.lock().unwrap();
        let (end, rows) = published.first().expect("the window ending at 1000 was published");
        assert_eq!((*end, rows.len(), rows[0].hashtag.as_str(), rows[0].count), (1_000, 1, "rust", 1));
    }
}
