//! The rows of the four views, ordered by rank, and the final views of a run.
//!
//! Each row type's `Ord` *is* its ranking rule, so a sorted set of rows is a ranking: the graph keeps
//! the best K rows of each window, and whoever shows them numbers them in order.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::symbol::Symbol;
use crate::window::Window;
use crate::EventTime;

/// A hashtag and its occurrences in a window. Ranked by most occurrences, ties by hashtag bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HashtagCount {
    /// The hashtag, lowercased, without its sign.
    pub hashtag: Symbol,
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
    pub language: Symbol,
    /// Tweets in it in the window.
    pub count: u64,
}

/// A hashtag rising against its own baseline in a window (see [`trend_score`]). Ranked by score
/// (highest first), then by occurrences in the window (most first), then by hashtag bytes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrendingHashtag {
    /// The hashtag, lowercased, without its sign.
    pub hashtag: Symbol,
    /// `c`: its occurrences in the window `[E - L, E)`.
    pub count: u64,
    /// `b`: its occurrences in the baseline `[E - L - B, E - L)`.
    pub baseline: u64,
    /// `μ = b·L/B`: the occurrences the baseline's rate predicts for a window.
    pub expected: f64,
    /// `z = (c − μ)/sqrt(μ + 1)`.
    pub score: f64,
}

/// The expected count `μ` and the score `z` of a hashtag seen `count` times in a window of
/// `length_ms` and `baseline` times in the `baseline_ms` before it. The one place both are
/// computed, so that every layer gets the same bits: `μ = b·L/B`, `z = (c − μ)/sqrt(μ + 1)`. The
/// `+ 1` keeps a hashtag new to the baseline (`μ = 0`) from scoring infinity: its score is its count.
///
/// ```
/// use trendflow_dataflows::views::trend_score;
/// // Seen 30 times in 5 minutes after 60 times in the hour before: 5 expected.
/// let (expected, score) = trend_score(30, 60, 300_000, 3_600_000);
/// assert_eq!(expected, 5.0);
/// assert_eq!(score, 25.0 / 6f64.sqrt());
/// assert_eq!(trend_score(7, 0, 300_000, 3_600_000), (0.0, 7.0));
/// ```
pub fn trend_score(count: u64, baseline: u64, length_ms: u64, baseline_ms: u64) -> (f64, f64) {
    let expected = baseline as f64 * length_ms as f64 / baseline_ms as f64;
    let score = (count as f64 - expected) / (expected + 1.0).sqrt();
    (expected, score)
}

impl TrendingHashtag {
    /// The row of a hashtag seen `count` times in a window and `baseline` times in its baseline.
    pub fn new(hashtag: Symbol, count: u64, baseline: u64, length_ms: u64, baseline_ms: u64) -> Self {
        let (expected, score) = trend_score(count, baseline, length_ms, baseline_ms);
        TrendingHashtag { hashtag, count, baseline, expected, score }
    }
}

/// Rows are equal when every field is, the floats compared by their bits (they come from
/// [`trend_score`], never NaN).
impl PartialEq for TrendingHashtag {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for TrendingHashtag {}

impl std::hash::Hash for TrendingHashtag {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.hashtag, self.count, self.baseline, self.expected.to_bits(), self.score.to_bits()).hash(state);
    }
}

/// The ranking rule, then the remaining fields so that the order is total; a window holds a hashtag
/// once, so those never decide a rank.
impl Ord for TrendingHashtag {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then_with(|| other.count.cmp(&self.count))
            .then_with(|| self.hashtag.cmp(&other.hashtag))
            .then_with(|| self.baseline.cmp(&other.baseline))
            .then_with(|| self.expected.total_cmp(&other.expected))
    }
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
        other.count.cmp(&self.count).then_with(|| self.language.cmp(&other.language))
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
partial_ord_from_ord!(HashtagCount, TweetScore, LanguageCount, TrendingHashtag);

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

impl fmt::Display for TrendingHashtag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} z={} c={} b={} μ={}", self.hashtag, self.score, self.count, self.baseline, self.expected)
    }
}

impl fmt::Display for LanguageCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.language, self.count)
    }
}

/// The rows of one view of one window, best first, as of some moment of the run.
///
/// A final ranking counts its window `[E - L, E)`. A live one (not final) counts a *rolling
/// span*: the last L of event time up to `as_of`, `[as_of - L, as_of)`, every tweet of it, with
/// `E - S < as_of < E`. That is what the graph's sliding state holds between two window ends, and
/// what a "trending now" screen wants: the span always covers a whole window length, where the
/// fixed window so far would cover from a fifth of it (`5m/1m`, a minute in) to all of it. The
/// window `E` names which window the span will have become when `as_of` reaches `E`, and keys
/// the ranking; [`Ranking::span`] gives the bounds its rows count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranking<R> {
    /// The window ranked: for a live ranking, the next window to close.
    pub window: Window,
    /// Its rows, best first.
    pub rows: Vec<R>,
    /// True once the window has closed (the input frontier passed its end): the rows will not change.
    pub is_final: bool,
    /// The event time the rows are complete to: every tweet before it in the span is counted,
    /// none after. A final ranking's is its window's end.
    pub as_of: EventTime,
    /// True when the view reaches back before the first tweet the graph has seen: a trending
    /// window whose baseline starts before the input does, so its expected counts are too low.
    /// Always false for the views without a baseline.
    pub partial_baseline: bool,
}

impl<R> Ranking<R> {
    /// The event times the rows count, `[start, end)`: the window for a final ranking, the last
    /// window length up to `as_of` for a live one.
    ///
    /// ```
    /// use trendflow_dataflows::views::{HashtagCount, Ranking};
    /// use trendflow_dataflows::window::Window;
    /// let window = Window { spec: "5m/1m".parse().unwrap(), end: 600_000 };
    /// let live: Ranking<HashtagCount> =
    ///     Ranking { window, rows: vec![], is_final: false, as_of: 570_000, partial_baseline: false };
    /// assert_eq!(live.span(), (270_000, 570_000));
    /// let closed = Ranking { is_final: true, as_of: 600_000, ..live };
    /// assert_eq!(closed.span(), (window.start(), window.end));
    /// ```
    pub fn span(&self) -> (EventTime, EventTime) {
        (self.as_of.saturating_sub(self.window.spec.length_ms()), self.as_of)
    }
}

/// A ranking of any of the four views, as the graph publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Snapshot {
    /// The top hashtags.
    Hashtags(Ranking<HashtagCount>),
    /// The top tweets.
    Tweets(Ranking<TweetScore>),
    /// The tweets per language.
    Languages(Ranking<LanguageCount>),
    /// The trending hashtags.
    Trending(Ranking<TrendingHashtag>),
}

impl Snapshot {
    /// The window the snapshot describes.
    pub fn window(&self) -> Window {
        match self {
            Snapshot::Hashtags(r) => r.window,
            Snapshot::Tweets(r) => r.window,
            Snapshot::Languages(r) => r.window,
            Snapshot::Trending(r) => r.window,
        }
    }

    /// The event times its rows count, `[start, end)` (see [`Ranking::span`]).
    pub fn span(&self) -> (EventTime, EventTime) {
        match self {
            Snapshot::Hashtags(r) => r.span(),
            Snapshot::Tweets(r) => r.span(),
            Snapshot::Languages(r) => r.span(),
            Snapshot::Trending(r) => r.span(),
        }
    }

    /// Whether the window has closed.
    pub fn is_final(&self) -> bool {
        match self {
            Snapshot::Hashtags(r) => r.is_final,
            Snapshot::Tweets(r) => r.is_final,
            Snapshot::Languages(r) => r.is_final,
            Snapshot::Trending(r) => r.is_final,
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
    /// Each window's trending hashtags, and whether its baseline is partial.
    pub trending: BTreeMap<Window, TrendingWindow>,
}

/// A window's trending hashtags, best first, and whether its baseline reaches back before the
/// input's first tweet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrendingWindow {
    /// The window's baseline starts before the first tweet.
    pub partial_baseline: bool,
    /// The trending hashtags, best first.
    pub rows: Vec<TrendingHashtag>,
}

impl fmt::Display for TrendingWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.partial_baseline {
            write!(f, "(partial baseline) ")?;
        }
        let rows: Vec<String> = self.rows.iter().map(|row| row.to_string()).collect();
        write!(f, "{}", rows.join(", "))
    }
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
            Snapshot::Trending(r) if r.is_final => {
                self.trending.insert(r.window, TrendingWindow { partial_baseline: r.partial_baseline, rows: r.rows });
            }
            _ => {}
        }
    }

    /// Adds another run's (or another worker's) final views; windows are disjoint between workers.
    pub fn merge(&mut self, other: FinalViews) {
        self.hashtags.extend(other.hashtags);
        self.tweets.extend(other.tweets);
        self.languages.extend(other.languages);
        self.trending.extend(other.trending);
    }

    /// The number of distinct windows with any view.
    pub fn window_count(&self) -> usize {
        let mut windows: Vec<&Window> = self
            .hashtags
            .keys()
            .chain(self.tweets.keys())
            .chain(self.languages.keys())
            .chain(self.trending.keys())
            .collect();
        windows.sort();
        windows.dedup();
        windows.len()
    }

    /// Describes the first window (in window order, hashtags then tweets then languages then
    /// trending) in which the two views differ, or `None` when they are identical.
    pub fn first_difference(&self, other: &FinalViews) -> Option<String> {
        first_difference_in("top hashtags", &self.hashtags, &other.hashtags)
            .or_else(|| first_difference_in("top tweets", &self.tweets, &other.tweets))
            .or_else(|| first_difference_in("languages", &self.languages, &other.languages))
            .or_else(|| first_difference_in("trending hashtags", &self.trending, &other.trending))
    }
}

/// A window's rows as a difference shows them.
trait ShownRows: PartialEq {
    fn show(&self) -> String;
}

impl<R: fmt::Display + PartialEq> ShownRows for Vec<R> {
    fn show(&self) -> String {
        self.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ")
    }
}

impl ShownRows for TrendingWindow {
    fn show(&self) -> String {
        self.to_string()
    }
}

fn first_difference_in<V: ShownRows>(
    view: &str,
    left: &BTreeMap<Window, V>,
    right: &BTreeMap<Window, V>,
) -> Option<String> {
    let mut windows: Vec<&Window> = left.keys().chain(right.keys()).collect();
    windows.sort();
    windows.dedup();
    let show = |rows: Option<&V>| match rows {
        None => "(no view)".to_string(),
        Some(rows) => rows.show(),
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
        right.languages.insert(window(60_000), vec![LanguageCount { language: "en".into(), count: 1 }]);
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
