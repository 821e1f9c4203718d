//! The COST baseline: the graph's final views computed by one thread with hash maps and sorting.
//!
//! "Scalability! But at what COST?" (McSherry, Isard, Murray, 2015) asks how many cores a system
//! needs to beat a competent single-threaded program. This is that program for trendflow's views:
//! it knows the input arrives nearly in event-time order and only final views are wanted, so it
//! needs none of the graph's generality (retractions, live rankings, exchange between workers).
//!
//! Event time is cut into panes of `gcd(length, slide)`. Each tweet lands in one pane per window
//! spec; a window is the sum of the panes it spans, kept as a running sum that adds the panes
//! entering and subtracts the panes leaving as the window slides. A window is ranked once the
//! watermark (the latest event time minus the allowed disorder) passes its end, by one pass over
//! its counts that keeps the best K. Hashtags and languages are interned to integers, so the maps
//! hash and compare integers, not strings.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::Hash;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use trendflow_dataflows::config::GraphConfig;
use trendflow_dataflows::hashtags::extract_hashtags;
use trendflow_dataflows::symbol::Symbol;
use trendflow_dataflows::views::{FinalViews, HashtagCount, LanguageCount, TweetScore};
use trendflow_dataflows::window::{gcd, Window, WindowSpec};
use trendflow_dataflows::{EventTime, Tweet};

/// Computes final views from tweets pushed in event-time order, up to `slack_ms` of disorder.
pub struct Baseline {
    k: usize,
    slack_ms: u64,
    specs: Vec<SpecWindows>,
    tags: Interner,
    langs: Interner,
    latest: EventTime,
    views: FinalViews,
    late: u64,
    occurrences: u64,
}

impl Baseline {
    /// A baseline for the views of `config` (its tick plays no part), for input whose event times
    /// run back at most `slack_ms` behind the latest seen.
    pub fn new(config: &GraphConfig, slack_ms: u64) -> Self {
        Baseline {
            k: config.top_k(),
            slack_ms,
            specs: config.windows().iter().map(|spec| SpecWindows::new(*spec)).collect(),
            tags: Interner::default(),
            langs: Interner::default(),
            latest: 0,
            views: FinalViews::default(),
            late: 0,
            occurrences: 0,
        }
    }

    /// Adds a tweet, and ranks every window the watermark has passed. A tweet behind the watermark
    /// is late: counted, and left out, as the graph leaves it out.
    pub fn push(&mut self, tweet: Tweet) {
        let watermark = self.latest.saturating_sub(self.slack_ms);
        if tweet.created_at < watermark {
            self.late += 1;
            return;
        }
        let tags: Vec<u32> = extract_hashtags(&tweet.text).iter().map(|tag| self.tags.intern(tag)).collect();
        self.occurrences += tags.len() as u64;
        let lang = self.langs.intern(&tweet.lang);
        for spec in &mut self.specs {
            spec.add(&tweet, &tags, lang, watermark.max(tweet.created_at.saturating_sub(self.slack_ms)));
        }
        if tweet.created_at > self.latest {
            self.latest = tweet.created_at;
            let watermark = self.latest.saturating_sub(self.slack_ms);
            self.close_until(watermark);
        }
    }

    /// How many tweets arrived behind the watermark.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// How many hashtag occurrences the tweets taken in held: the events of the hashtag ranking.
    pub fn occurrences(&self) -> u64 {
        self.occurrences
    }

    /// Ranks the windows still open and returns every window's final views.
    pub fn finish(mut self) -> FinalViews {
        self.close_until(EventTime::MAX);
        self.views
    }

    fn close_until(&mut self, watermark: EventTime) {
        let Baseline { k, specs, tags, langs, views, .. } = self;
        for spec in specs {
            while let Some(window) = spec.close_next(watermark) {
                let end = Window { spec: spec.spec, end: window };
                let hashtags = best(spec.hashtags.iter().map(|(tag, count)| (*count, *tag)), *k, |tag| tags.name(tag));
                let hashtags = hashtags
                    .into_iter()
                    .map(|(count, tag)| HashtagCount { hashtag: Symbol::new(tags.name(tag)), count: count as u64 })
                    .collect::<Vec<_>>();
                if !hashtags.is_empty() {
                    views.hashtags.insert(end, hashtags);
                }
                let mut languages: Vec<LanguageCount> = spec
                    .languages
                    .iter()
                    .map(|(lang, count)| LanguageCount {
                        language: Symbol::new(langs.name(*lang)),
                        count: *count as u64,
                    })
                    .collect();
                if !languages.is_empty() {
                    languages.sort();
                    views.languages.insert(end, languages);
                }
                let tweets = spec.top_tweets(*k);
                if !tweets.is_empty() {
                    views.tweets.insert(end, tweets);
                }
                spec.slide();
            }
        }
    }
}

/// The best `k` of `(count, item)` pairs: most first, ties by the item's name in byte order.
/// One pass that keeps a sorted short list; most items lose on their count alone.
fn best<'a>(items: impl Iterator<Item = (u32, u32)>, k: usize, name: impl Fn(u32) -> &'a str) -> Vec<(u32, u32)> {
    let mut kept: Vec<(u32, u32)> = Vec::with_capacity(k + 1);
    let beats = |a: &(u32, u32), b: &(u32, u32)| a.0 > b.0 || (a.0 == b.0 && name(a.1) < name(b.1));
    for item in items {
        if kept.len() == k && !beats(&item, &kept[k - 1]) {
            continue;
        }
        let at = kept.iter().position(|other| beats(&item, other)).unwrap_or(kept.len());
        kept.insert(at, item);
        kept.truncate(k);
    }
    kept
}

/// One window spec's panes and the running sums of the window that closes next.
struct SpecWindows {
    spec: WindowSpec,
    /// Pane length: the greatest common divisor of the window's length and slide.
    pane_ms: u64,
    panes: BTreeMap<u64, Pane>,
    /// The running sums cover panes `low..high`.
    low: u64,
    high: u64,
    /// The end of the next window to rank; `None` before the first tweet.
    next_end: Option<EventTime>,
    hashtags: FxHashMap<u32, u32>,
    languages: FxHashMap<u32, u32>,
    retweets: FxHashMap<u64, u32>,
    /// The tweets posted in the window, with their hashtag counts.
    posted: FxHashMap<u64, u32>,
}

/// What one pane of event time holds.
#[derive(Default)]
struct Pane {
    hashtags: FxHashMap<u32, u32>,
    languages: FxHashMap<u32, u32>,
    retweets: FxHashMap<u64, u32>,
    posted: Vec<(u64, u32)>,
}

impl SpecWindows {
    fn new(spec: WindowSpec) -> Self {
        SpecWindows {
            spec,
            pane_ms: gcd(spec.length_ms(), spec.slide_ms()),
            panes: BTreeMap::new(),
            low: 0,
            high: 0,
            next_end: None,
            hashtags: FxHashMap::default(),
            languages: FxHashMap::default(),
            retweets: FxHashMap::default(),
            posted: FxHashMap::default(),
        }
    }

    /// Adds a tweet to its pane. `earliest` is the oldest event time any tweet may still have:
    /// the first tweet starts the windows there, so that one arriving later but older still fits.
    fn add(&mut self, tweet: &Tweet, tags: &[u32], lang: u32, earliest: EventTime) {
        if self.next_end.is_none() {
            let first_end = (earliest / self.spec.slide_ms() + 1) * self.spec.slide_ms();
            self.next_end = Some(first_end);
            self.low = first_end.saturating_sub(self.spec.length_ms()) / self.pane_ms;
            self.high = self.low;
        }
        let pane = self.panes.entry(tweet.created_at / self.pane_ms).or_default();
        for tag in tags {
            *pane.hashtags.entry(*tag).or_default() += 1;
        }
        *pane.languages.entry(lang).or_default() += 1;
        match tweet.retweet_of {
            Some(original) => *pane.retweets.entry(original).or_default() += 1,
            None => pane.posted.push((tweet.id, tags.len() as u32)),
        }
    }

    /// Brings the running sums to the next window if the watermark has passed its end, and
    /// returns that end; `None` when the next window is still open or nothing is left.
    fn close_next(&mut self, watermark: EventTime) -> Option<EventTime> {
        let end = self.next_end?;
        // Every tweet counts in `languages`: with it and the panes empty, no window has anything.
        if end > watermark || (self.panes.is_empty() && self.languages.is_empty()) {
            return None;
        }
        let start_pane = end.saturating_sub(self.spec.length_ms()) / self.pane_ms;
        let end_pane = end / self.pane_ms;
        while self.high < end_pane {
            if let Some(pane) = self.panes.get(&self.high) {
                add_counts(&mut self.hashtags, &pane.hashtags, 1);
                add_counts(&mut self.languages, &pane.languages, 1);
                add_counts(&mut self.retweets, &pane.retweets, 1);
                self.posted.extend(pane.posted.iter().copied());
            }
            self.high += 1;
        }
        while self.low < start_pane {
            if let Some(pane) = self.panes.remove(&self.low) {
                add_counts(&mut self.hashtags, &pane.hashtags, -1);
                add_counts(&mut self.languages, &pane.languages, -1);
                add_counts(&mut self.retweets, &pane.retweets, -1);
                for (id, _) in &pane.posted {
                    self.posted.remove(id);
                }
            }
            self.low += 1;
        }
        Some(end)
    }

    /// Moves on to the next window once the current one is ranked.
    fn slide(&mut self) {
        self.next_end = self.next_end.map(|end| end + self.spec.slide_ms());
    }

    /// The window's best tweets: by retweets received, then own hashtag count, then smallest id.
    /// Any retweeted tweet beats every tweet with no retweets, so the tweets posted in the window
    /// are only scanned when fewer than `k` tweets were retweeted.
    fn top_tweets(&self, k: usize) -> Vec<TweetScore> {
        let score = |tweet_id: u64, retweets: u32| TweetScore {
            tweet_id,
            retweets: retweets as u64,
            hashtags: self.posted.get(&tweet_id).copied().unwrap_or(0) as u64,
        };
        let mut rows: Vec<TweetScore> =
            self.retweets.iter().map(|(tweet_id, retweets)| score(*tweet_id, *retweets)).collect();
        if rows.len() < k {
            rows.extend(
                self.posted
                    .keys()
                    .filter(|tweet_id| !self.retweets.contains_key(tweet_id))
                    .map(|tweet_id| score(*tweet_id, 0)),
            );
        }
        if rows.len() > k {
            rows.select_nth_unstable(k - 1);
            rows.truncate(k);
        }
        rows.sort();
        rows
    }
}

/// Adds (`sign` 1) or subtracts (`sign` -1) one pane's counts; a count back at zero is removed,
/// so the running sums hold only what the window holds.
fn add_counts<K: Copy + Eq + Hash>(sums: &mut FxHashMap<K, u32>, pane: &FxHashMap<K, u32>, sign: i32) {
    for (key, count) in pane {
        if sign > 0 {
            *sums.entry(*key).or_default() += count;
        } else if let Some(sum) = sums.get_mut(key) {
            *sum -= count;
            if *sum == 0 {
                sums.remove(key);
            }
        }
    }
}

/// Strings to dense integers and back.
#[derive(Default)]
struct Interner {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// What the `cost` program reports (`--report PATH`): its run over the generated tweets, as
/// `trendflow demo` reports the graph's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    pub tweets: u64,
    pub seconds: f64,
    pub tweets_per_second: f64,
    /// Windows with final views.
    pub windows: usize,
    /// Tweets behind the watermark.
    pub late: u64,
    /// Hashtag occurrences counted: the events of a sliding-window top-K.
    pub hashtag_occurrences: u64,
    pub peak_memory_bytes: Option<u64>,
}

impl fmt::Display for CostReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cost: {} tweets in {:.2} s ({:.0} tweets/s), {} windows, {} late, {} hashtag occurrences",
            self.tweets, self.seconds, self.tweets_per_second, self.windows, self.late, self.hashtag_occurrences
        )?;
        if let Some(bytes) = self.peak_memory_bytes {
            write!(f, "\npeak memory: {} MiB", bytes / (1024 * 1024))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use trendflow::source::generator::{Generator, GeneratorConfig};
    use trendflow_dataflows::reference;

    fn baseline_views(tweets: &[Tweet], config: &GraphConfig, slack_ms: u64) -> FinalViews {
        let mut baseline = Baseline::new(config, slack_ms);
        for tweet in tweets {
            baseline.push(tweet.clone());
        }
        assert_eq!(baseline.late(), 0);
        baseline.finish()
    }

    #[test]
    fn the_baseline_matches_the_reference_on_generated_tweets() {
        let generator = Generator::new(GeneratorConfig {
            tweets: 30_000,
            seed: 7,
            rate_per_sec: 10.0,
            ..GeneratorConfig::default()
        })
        .expect("valid generator settings");
        let tweets: Vec<Tweet> = generator.share(0, 1).collect();
        for specs in [vec!["5m/1m", "1h/5m"], vec!["1m"], vec!["150s/1m"]] {
            let specs = specs.into_iter().map(|spec| spec.parse().unwrap()).collect();
            let config = GraphConfig::new(specs, 10, 30_000).unwrap();
            let expected = reference::final_views(&tweets, &config);
            let actual = baseline_views(&tweets, &config, generator.max_disorder_ms());
            assert_eq!(actual.first_difference(&expected), None);
            assert!(actual.window_count() > 10);
        }
    }

    fn tweet(id: u64, text: String, created_at: u64, lang: u8, retweet_of: Option<u64>) -> Tweet {
        Tweet { id, text, created_at, lang: format!("l{lang}"), user_id: None, retweet_of }
    }

    proptest! {
        /// Small vocabularies force ties, empty windows and tweets retweeted in other windows.
        #[test]
        fn the_baseline_matches_the_reference(
            events in proptest::collection::vec((0u64..600_000, 0u8..4, 0u8..6, 0u8..6, any::<bool>()), 1..120),
            k in 1usize..4,
        ) {
            let mut events = events;
            events.sort_by_key(|event| event.0);
            let tweets: Vec<Tweet> = events
                .iter()
                .enumerate()
                .map(|(index, (at, lang, first, second, retweet))| {
                    let text = format!("#t{first} #t{second} x");
                    let retweet_of = (*retweet && index > 0).then(|| (index as u64 - 1) / 2);
                    tweet(index as u64, text, *at, *lang, retweet_of)
                })
                .collect();
            let specs = vec!["1m".parse().unwrap(), "3m/1m".parse().unwrap()];
            let config = GraphConfig::new(specs, k, 60_000).unwrap();
            let expected = reference::final_views(&tweets, &config);
            prop_assert_eq!(baseline_views(&tweets, &config, 0).first_difference(&expected), None);
        }
    }
}
