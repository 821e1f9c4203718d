//! A plain-Rust statement of the view semantics over a `Vec<Tweet>`, for tests to check the graph.
//!
//! It follows DESIGN.md's definitions as literally as possible — loops over windows, hash maps,
//! a full sort — and knows nothing of ticks, retractions or hierarchical top-K, so a bug in the
//! graph's machinery cannot hide in it too.

use std::collections::{BTreeMap, HashMap};

use crate::graph::{GraphConfig, TrendConfig};
use crate::hashtags::extract_hashtags;
use crate::symbol::Symbol;
use crate::views::{FinalViews, HashtagCount, LanguageCount, TrendingHashtag, TrendingWindow, TweetScore};
use crate::window::Window;
use crate::Tweet;

/// The final views of `tweets` under `config`.
pub fn final_views(tweets: &[Tweet], config: &GraphConfig) -> FinalViews {
    let mut hashtags: BTreeMap<Window, HashMap<String, u64>> = BTreeMap::new();
    let mut languages: BTreeMap<Window, HashMap<String, u64>> = BTreeMap::new();
    // Per window and candidate tweet: retweets received there, and its hashtag count if posted there.
    let mut candidates: BTreeMap<Window, HashMap<u64, (u64, u64)>> = BTreeMap::new();

    for tweet in tweets {
        let tags = extract_hashtags(&tweet.text);
        for spec in config.windows() {
            for window in all_windows_of(spec.length_ms(), spec.slide_ms(), tweet.created_at) {
                let window = Window { spec: *spec, end: window };
                for tag in &tags {
                    *hashtags.entry(window).or_default().entry(tag.clone()).or_default() += 1;
                }
                *languages.entry(window).or_default().entry(tweet.lang.clone()).or_default() += 1;
                let window_candidates = candidates.entry(window).or_default();
                match tweet.retweet_of {
                    Some(original) => window_candidates.entry(original).or_default().0 += 1,
                    None => window_candidates.entry(tweet.id).or_default().1 = tags.len() as u64,
                }
            }
        }
    }

    let k = config.top_k();
    let trending = match config.trending() {
        Some(trend) => trending_views(tweets, &hashtags, trend, config.top_k()),
        None => BTreeMap::new(),
    };
    FinalViews {
        hashtags: hashtags
            .into_iter()
            .map(|(w, counts)| {
                (
                    w,
                    best(
                        counts
                            .into_iter()
                            .map(|(hashtag, count)| HashtagCount { hashtag: Symbol::from(hashtag), count }),
                        k,
                    ),
                )
            })
            .collect(),
        tweets: candidates
            .into_iter()
            .map(|(w, scores)| {
                let rows = scores.into_iter().map(|(tweet_id, (retweets, hashtags))| TweetScore {
                    tweet_id,
                    retweets,
                    hashtags,
                });
                (w, best(rows, k))
            })
            .collect(),
        languages: languages
            .into_iter()
            .map(|(w, counts)| {
                (
                    w,
                    best(
                        counts.into_iter().map(|(lang, count)| LanguageCount { lang: Symbol::from(lang), count }),
                        usize::MAX,
                    ),
                )
            })
            .collect(),
        trending,
    }
}

/// The trending view of every window with a candidate: each hashtag's occurrences `c` in the
/// window (from `counts`), `b` from a scan of every tweet for those in the baseline before it.
fn trending_views(
    tweets: &[Tweet],
    counts: &BTreeMap<Window, HashMap<String, u64>>,
    trend: &TrendConfig,
    k: usize,
) -> BTreeMap<Window, TrendingWindow> {
    let first_tweet = tweets.iter().map(|tweet| tweet.created_at).min();
    let tags: Vec<Vec<String>> = tweets.iter().map(|tweet| extract_hashtags(&tweet.text)).collect();
    let mut views = BTreeMap::new();
    for (window, counts) in counts {
        let (length, baseline) = (window.spec.length_ms(), trend.baseline_ms(window.spec.length_ms()));
        let window_start = window.end as i128 - length as i128;
        let baseline_start = window_start - baseline as i128;
        let mut rows = Vec::new();
        for (hashtag, count) in counts.iter().filter(|(_, count)| **count >= trend.min_count()) {
            let in_baseline = tweets
                .iter()
                .zip(&tags)
                .filter(|(tweet, _)| {
                    let at = tweet.created_at as i128;
                    baseline_start <= at && at < window_start
                })
                .map(|(_, tags)| tags.iter().filter(|tag| *tag == hashtag).count() as u64)
                .sum::<u64>();
            rows.push(TrendingHashtag::new(Symbol::new(hashtag), *count, in_baseline, length, baseline));
        }
        if !rows.is_empty() {
            let partial_baseline = first_tweet.is_some_and(|first| baseline_start < first as i128);
            views.insert(*window, TrendingWindow { partial_baseline, rows: best(rows.into_iter(), k) });
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
