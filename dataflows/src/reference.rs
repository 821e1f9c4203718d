//! A plain-Rust statement of the view semantics over a `Vec<Tweet>`, for tests to check the graph.
//!
//! It follows DESIGN.md's definitions as literally as possible — the tweets inside a span of
//! event time, counted with hash maps and ranked by a full sort — and knows nothing of ticks,
//! retractions or hierarchical top-K, so a bug in the graph's machinery cannot hide in it too.
//! A window is one span, `[E - L, E)`; a live ranking another, the last window length up to its
//! `as_of` (see [`Ranking::span`](crate::views::Ranking::span)): both are [`views_over`] a span.

use std::collections::{BTreeSet, HashMap};

use crate::config::{GraphConfig, TrendConfig};
use crate::hashtags::extract_hashtags;
use crate::symbol::Symbol;
use crate::views::{FinalViews, HashtagCount, LanguageCount, TrendingHashtag, TrendingWindow, TweetScore};
use crate::window::Window;
use crate::{EventTime, Tweet};

/// The four views over one span of event time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanViews {
    /// The best `top_k` hashtags.
    pub hashtags: Vec<HashtagCount>,
    /// The best `top_k` tweets.
    pub tweets: Vec<TweetScore>,
    /// Every language's tweet count.
    pub languages: Vec<LanguageCount>,
    /// The trending hashtags, when the configuration has the view and the span has a candidate.
    pub trending: Option<TrendingWindow>,
}

/// Tweets with their hashtags extracted once, for the many spans a test asks about.
pub struct Tweets<'a> {
    tweets: &'a [Tweet],
    tags: Vec<Vec<String>>,
    first: Option<EventTime>,
}

impl<'a> Tweets<'a> {
    /// Extracts every tweet's hashtags.
    pub fn new(tweets: &'a [Tweet]) -> Self {
        let tags = tweets.iter().map(|tweet| extract_hashtags(&tweet.text)).collect();
        Tweets { tweets, tags, first: tweets.iter().map(|tweet| tweet.created_at).min() }
    }

    /// The tweets of `[start, end)`, with their hashtags.
    fn inside(&self, start: i128, end: i128) -> impl Iterator<Item = (&Tweet, &Vec<String>)> {
        self.tweets.iter().zip(&self.tags).filter(move |(tweet, _)| {
            let at = tweet.created_at as i128;
            start <= at && at < end
        })
    }

    /// The views over `[end - length, end)` under `config`: hashtags, tweets and languages of the
    /// tweets inside it; trending against the baseline `[start - B, start)` of that length.
    pub fn views_over(&self, config: &GraphConfig, length: u64, end: EventTime) -> SpanViews {
        let (start, end) = (end as i128 - length as i128, end as i128);
        let mut hashtags: HashMap<&str, u64> = HashMap::new();
        let mut languages: HashMap<&str, u64> = HashMap::new();
        // Per candidate tweet: retweets received in the span, and its hashtag count if posted there.
        let mut candidates: HashMap<u64, (u64, u64)> = HashMap::new();
        for (tweet, tags) in self.inside(start, end) {
            for tag in tags {
                *hashtags.entry(tag).or_default() += 1;
            }
            *languages.entry(&tweet.lang).or_default() += 1;
            match tweet.retweet_of {
                Some(original) => candidates.entry(original).or_default().0 += 1,
                None => candidates.entry(tweet.id).or_default().1 = tags.len() as u64,
            }
        }
        let k = config.top_k();
        let trending = config.trending().and_then(|trend| self.trending(&hashtags, trend, k, length, start));
        SpanViews {
            hashtags: best(
                hashtags.into_iter().map(|(tag, count)| HashtagCount { hashtag: Symbol::new(tag), count }),
                k,
            ),
            tweets: best(
                candidates.into_iter().map(|(tweet_id, (retweets, hashtags))| TweetScore {
                    tweet_id,
                    retweets,
                    hashtags,
                }),
                k,
            ),
            languages: best(
                languages.into_iter().map(|(lang, count)| LanguageCount { language: Symbol::new(lang), count }),
                usize::MAX,
            ),
            trending,
        }
    }

    /// The trending hashtags of a span starting at `start` with these `counts`, the baseline's
    /// occurrences from a scan of every tweet; `None` without a candidate.
    fn trending(
        &self,
        counts: &HashMap<&str, u64>,
        trend: &TrendConfig,
        k: usize,
        length: u64,
        start: i128,
    ) -> Option<TrendingWindow> {
        let baseline = trend.baseline_ms(length);
        let baseline_start = start - baseline as i128;
        let mut in_baseline: HashMap<&str, u64> = HashMap::new();
        for (_, tags) in self.inside(baseline_start, start) {
            for tag in tags {
                *in_baseline.entry(tag).or_default() += 1;
            }
        }
        let rows: Vec<TrendingHashtag> = counts
            .iter()
            .filter(|(_, count)| **count >= trend.min_count())
            .map(|(hashtag, count)| {
                let before = in_baseline.get(hashtag).copied().unwrap_or(0);
                TrendingHashtag::new(Symbol::new(hashtag), *count, before, length, baseline)
            })
            .filter(|row| row.score >= trend.min_score())
            .collect();
        let partial_baseline = self.first.is_some_and(|first| baseline_start < first as i128);
        (!rows.is_empty()).then(|| TrendingWindow { partial_baseline, rows: best(rows.into_iter(), k) })
    }
}

/// The final views of `tweets` under `config`: the views over every window that holds a tweet.
pub fn final_views(tweets: &[Tweet], config: &GraphConfig) -> FinalViews {
    let all = Tweets::new(tweets);
    let windows: BTreeSet<Window> = config
        .windows()
        .iter()
        .flat_map(|spec| {
            tweets.iter().flat_map(move |tweet| {
                all_windows_of(spec.length_ms(), spec.slide_ms(), tweet.created_at)
                    .into_iter()
                    .map(move |end| Window { spec: *spec, end })
            })
        })
        .collect();
    let mut views = FinalViews::default();
    for window in windows {
        // A ranking without rows is not published: a window of tweets without hashtags has none.
        let span = all.views_over(config, window.spec.length_ms(), window.end);
        if !span.hashtags.is_empty() {
            views.hashtags.insert(window, span.hashtags);
        }
        views.tweets.insert(window, span.tweets);
        views.languages.insert(window, span.languages);
        if let Some(trending) = span.trending {
            views.trending.insert(window, trending);
        }
    }
    views
}

/// The ends of the windows `[E - length, E)` holding `time`, by scanning every multiple of `slide`
/// that could qualify (deliberately not the arithmetic the graph uses).
fn all_windows_of(length: u64, slide: u64, time: u64) -> Vec<u64> {
    let lowest = time.saturating_sub(length) / slide * slide;
    (lowest..=time + length)
        .step_by(slide as usize)
        .filter(|end| *end > time && end.saturating_sub(length) <= time)
        .collect()
}

fn best<R: Ord>(rows: impl Iterator<Item = R>, k: usize) -> Vec<R> {
    let mut rows: Vec<R> = rows.collect();
    rows.sort();
    rows.truncate(k);
    rows
}
