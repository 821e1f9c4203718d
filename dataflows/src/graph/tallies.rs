//! What a window length's state knows of each hashtag and tweet, and the rows that makes.
//!
//! The sliding pass turns a tweet into events — a hashtag occurrence enters, ages into the trend
//! baseline or leaves it; a tweet is posted or retweeted — and the rankings fold each item's
//! events into a tally. A tally answers an item's row in each ranking, or none when the item has
//! no row or one that ranks below the bound: most of a long tail then costs no row at all.

use crate::symbol::Symbol;
use crate::views::{trend_score, HashtagCount, TrendingHashtag, TweetScore};

/// How a tweet takes part in a window's tweet ranking.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub(super) enum TweetEvent {
    /// The tweet itself was posted in the window, with this many hashtags.
    Posted { hashtags: u64 },
    /// The tweet was retweeted in the window.
    Retweeted,
}

/// How a hashtag occurrence moves through a window length's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub(super) enum Occurrence {
    /// It enters the window `[E - L, E)` (or, with a negative multiplicity, leaves it).
    Enters,
    /// It leaves the window for the trend baseline `[E - L - B, E - L)`.
    Ages,
    /// It leaves the baseline: not made by the sliding pass, but by the ranking when it folds
    /// the occurrence's `Ages`, as its follow-up (see [`ranked_in_orders`](crate::top_k::ranked_in_orders)).
    LeavesBaseline,
}

/// A row of the hashtag state's two rankings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub(super) enum HashtagRow {
    Count(HashtagCount),
    Trend(TrendingHashtag),
}

/// What a window knows of a candidate tweet: retweets received, and whether (and with how many
/// hashtags) it was posted there.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct TweetTally {
    retweets: isize,
    posted: isize,
    hashtags: u64,
}

impl TweetTally {
    pub(super) fn add(&mut self, event: &TweetEvent, diff: isize) {
        match event {
            TweetEvent::Retweeted => self.retweets += diff,
            TweetEvent::Posted { hashtags } => {
                self.posted += diff;
                self.hashtags = if self.posted > 0 { *hashtags } else { 0 };
            }
        }
    }

    pub(super) fn score(_length: &u64, tweet_id: &u64, tally: &TweetTally) -> Option<TweetScore> {
        (tally.retweets > 0 || tally.posted > 0).then_some(TweetScore {
            tweet_id: *tweet_id,
            retweets: tally.retweets.max(0) as u64,
            hashtags: tally.hashtags,
        })
    }
}

/// What a window length's state knows of a hashtag: its occurrences in the window and in the
/// trend baseline before it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct HashtagTally {
    window: isize,
    baseline: isize,
}

impl HashtagTally {
    pub(super) fn add(&mut self, occurrence: &Occurrence, diff: isize) {
        match occurrence {
            Occurrence::Enters => self.window += diff,
            Occurrence::Ages => {
                self.window -= diff;
                self.baseline += diff;
            }
            Occurrence::LeavesBaseline => self.baseline -= diff,
        }
    }

    /// The hashtag's row in the count ranking; none below `bound` (a fewer count ranks below it,
    /// whatever the name), so that the long tail's rows, and copies of their names, are not made.
    pub(super) fn count_row(&self, hashtag: &Symbol, bound: Option<&HashtagRow>) -> Option<HashtagRow> {
        let count = u64::try_from(self.window).ok().filter(|count| *count > 0)?;
        if let Some(HashtagRow::Count(bound)) = bound {
            if count < bound.count {
                return None;
            }
        }
        Some(HashtagRow::Count(HashtagCount { hashtag: hashtag.clone(), count }))
    }

    /// The hashtag's row in the trending ranking, when it is a candidate (at least the minimum
    /// count and score of `(min_count, min_score)`); none below `bound` (a lower score ranks
    /// below it).
    pub(super) fn trend_row(
        &self,
        hashtag: &Symbol,
        length_ms: u64,
        baseline_ms: u64,
        (min_count, min_score): (u64, f64),
        bound: Option<&HashtagRow>,
    ) -> Option<HashtagRow> {
        let count = self.window.max(0) as u64;
        if count < min_count {
            return None;
        }
        let baseline = self.baseline.max(0) as u64;
        let (expected, score) = trend_score(count, baseline, length_ms, baseline_ms);
        if score < min_score {
            return None;
        }
        if let Some(HashtagRow::Trend(bound)) = bound {
            if score < bound.score {
                return None;
            }
        }
        Some(HashtagRow::Trend(TrendingHashtag { hashtag: hashtag.clone(), count, baseline, expected, score }))
    }
}
