//! The rows of the three views, ordered by rank, and the final views of a run.
//!
//! Each row type's `Ord` *is* its ranking rule, so a sorted set of rows is a ranking: the graph keeps
//! the best K rows of each window, and whoever shows them numbers them in order.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::window::Window;

/// A hashtag and its occurrences in a window. Ranked by most occurrences, ties by hashtag bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HashtagCount {
    /// The hashtag, lowercased, without its sign.
    pub hashtag: String,
    /// Its occurrences in the window.
    pub count: u64,
}

/// A candidate tweet of a window. Ranked by retweets received in the window (most first), then by
/// its own hashtag count (most first), then by id (smallest first).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TweetScore {
    /// The tweet's id.
    pub tweet_id: u64,
    /// Retweets of it posted in the window.
    pub retweets: u64,
    /// The tweet's hashtag count when it was posted in the window; 0 when it was only retweeted
    /// there, because the graph keeps no state beyond the window horizon to look it up.
    pub hashtags: u64,
}

/// A language and the number of tweets in it in a window. Ordered by most tweets, ties by code.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LanguageCount {
    /// The language code as the tweets give it (`und` when none).
    pub lang: String,
    /// Tweets in it in the window.
    pub count: u64,
}

impl Ord for HashtagCount {
    fn cmp(&self, other: &Self) -> Ordering {
        other.count.cmp(&self.count).then_with(|| self.hashtag.cmp(&other.hashtag))
    }
}

impl Ord for TweetScore {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .retweets
            .cmp(&self.retweets)
            .then_with(|| other.hashtags.cmp(&self.hashtags))
            .then_with(|| self.tweet_id.cmp(&other.tweet_id))
    }
}

impl Ord for LanguageCount {
    fn cmp(&self, other: &Self) -> Ordering {
        other.count.cmp(&self.count).then_with(|| self.lang.cmp(&other.lang))
    }
}

macro_rules! partial_ord_from_ord {
    ($($row:ty),*) => {$(
        impl PartialOrd for $row {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }
    )*};
}
partial_ord_from_ord!(HashtagCount, TweetScore, LanguageCount);

impl fmt::Display for HashtagCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {}", self.hashtag, self.count)
    }
}

impl fmt::Display for TweetScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rt={} tags={}", self.tweet_id, self.retweets, self.hashtags)
    }
}

impl fmt::Display for LanguageCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.lang, self.count)
    }
}

/// The rows of one view of one window, best first, as of some moment of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranking<R> {
    /// The window ranked.
    pub window: Window,
    /// Its rows, best first.
    pub rows: Vec<R>,
    /// True once the window has closed (the input frontier passed its end): the rows will not change.
    pub is_final: bool,
}

/// A ranking of any of the three views, as the graph publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Snapshot {
    /// The top hashtags.
    Hashtags(Ranking<HashtagCount>),
    /// The top tweets.
    Tweets(Ranking<TweetScore>),
    /// The tweets per language.
    Languages(Ranking<LanguageCount>),
}

impl Snapshot {
    /// The window the snapshot describes.
    pub fn window(&self) -> Window {
        match self {
            Snapshot::Hashtags(r) => r.window,
            Snapshot::Tweets(r) => r.window,
            Snapshot::Languages(r) => r.window,
        }
    }

    /// Whether the window has closed.
    pub fn is_final(&self) -> bool {
        match self {
            Snapshot::Hashtags(r) => r.is_final,
            Snapshot::Tweets(r) => r.is_final,
            Snapshot::Languages(r) => r.is_final,
        }
    }
}

/// The final views of a run, window by window: what "identical" compares between two runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FinalViews {
    /// Each window's top hashtags.
    pub hashtags: BTreeMap<Window, Vec<HashtagCount>>,
    /// Each window's top tweets.
    pub tweets: BTreeMap<Window, Vec<TweetScore>>,
    /// Each window's tweets per language.
    pub languages: BTreeMap<Window, Vec<LanguageCount>>,
}

impl FinalViews {
    /// Records a final snapshot; snapshots of open windows are ignored.
    pub fn record(&mut self, snapshot: Snapshot) {
        match snapshot {
            Snapshot::Hashtags(r) if r.is_final => {
                self.hashtags.insert(r.window, r.rows);
            }
            Snapshot::Tweets(r) if r.is_final => {
                self.tweets.insert(r.window, r.rows);
            }
            Snapshot::Languages(r) if r.is_final => {
                self.languages.insert(r.window, r.rows);
            }
            _ => {}
        }
    }

    /// Adds another run's (or another worker's) final views; windows are disjoint between workers.
    pub fn merge(&mut self, other: FinalViews) {
        self.hashtags.extend(other.hashtags);
        self.tweets.extend(other.tweets);
        self.languages.extend(other.languages);
    }

    /// The number of distinct windows with any view.
    pub fn window_count(&self) -> usize {
        let mut windows: Vec<&Window> =
            self.hashtags.keys().chain(self.tweets.keys()).chain(self.languages.keys()).collect();
        windows.sort();
        windows.dedup();
        windows.len()
    }

    /// Describes the first window (in window order, hashtags then tweets then languages) in which the
    /// two views differ, or `None` when they are identical.
    pub fn first_difference(&self, other: &FinalViews) -> Option<String> {
        first_difference_in("top hashtags", &self.hashtags, &other.hashtags)
            .or_else(|| first_difference_in("top tweets", &self.tweets, &other.tweets))
            .or_else(|| first_difference_in("languages", &self.languages, &other.languages))
    }
}

fn first_difference_in<R: PartialEq + fmt::Display>(
    view: &str,
    left: &BTreeMap<Window, Vec<R>>,
    right: &BTreeMap<Window, Vec<R>>,
) -> Option<String> {
    let mut windows: Vec<&Window> = left.keys().chain(right.keys()).collect();
    windows.sort();
    windows.dedup();
    let show = |rows: Option<&Vec<R>>| match rows {
        None => "(no view)".to_string(),
        Some(rows) => rows.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", "),
    };
    windows.into_iter().find(|w| left.get(w) != right.get(w)).map(|w| {
        format!(
            "{view} of window {} ending {} differ:\n  left:  {}\n  right: {}",
            w.spec,
            w.end,
            show(left.get(w)),
            show(right.get(w))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_rank_by_count_then_by_bytes() {
        let mut rows = [
            HashtagCount { hashtag: "b".into(), count: 2 },
            HashtagCount { hashtag: "a".into(), count: 2 },
            HashtagCount { hashtag: "z".into(), count: 9 },
        ];
        rows.sort();
        let order: Vec<&str> = rows.iter().map(|r| r.hashtag.as_str()).collect();
        assert_eq!(order, ["z", "a", "b"]);
    }

    #[test]
    fn the_first_difference_names_the_view_and_window() {
        let window = |end| Window { spec: "1m".parse().unwrap(), end };
        let row = |hashtag: &str, count| HashtagCount { hashtag: hashtag.into(), count };
        let mut left = FinalViews::default();
        left.hashtags.insert(window(60_000), vec![row("a", 2)]);
        left.hashtags.insert(window(120_000), vec![row("a", 1)]);
        let mut right = left.clone();
        assert_eq!(left.first_difference(&right), None);
        right.hashtags.insert(window(120_000), vec![row("b", 1)]);
        right.languages.insert(window(60_000), vec![LanguageCount { lang: "en".into(), count: 1 }]);
        let difference = left.first_difference(&right).expect("the views differ");
        assert!(difference.starts_with("top hashtags of window 1m ending 120000 differ"), "{difference}");
        assert!(difference.contains("left:  #a 1") && difference.contains("right: #b 1"), "{difference}");
        left.merge(right.clone());
        assert_eq!(left, right);
    }

    #[test]
    fn tweets_rank_by_retweets_then_hashtags_then_smallest_id() {
        let t = |tweet_id, retweets, hashtags| TweetScore { tweet_id, retweets, hashtags };
        let mut rows = [t(5, 0, 3), t(4, 1, 0), t(3, 0, 3), t(9, 0, 4)];
        rows.sort();
        let order: Vec<u64> = rows.iter().map(|r| r.tweet_id).collect();
        assert_eq!(order, [4, 9, 3, 5]);
    }
}
