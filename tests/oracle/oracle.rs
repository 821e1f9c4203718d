//! The oracle itself: hashtag extraction and the four views over a span of event time, written
//! from DESIGN.md's words with none of the graph's code.
//!
//! What it does not take from the graph, and what it uses instead:
//!
//! * extraction: not `trendflow_dataflows::hashtags` but a regular expression with Unicode's
//!   classes (the `regex` crate's tables), each of DESIGN's conditions checked on the match;
//! * ranking: not the rows' `Ord` but a comparator per view, written out beside the rule it states;
//! * the trend score: not `trend_score` but DESIGN's formula, written where it is used;
//! * windows: not `WindowSpec::windows_containing` but DESIGN's membership test, `E − L ≤ t < E`,
//!   tried on every multiple of the slide near a tweet.
//!
//! Where DESIGN's text leaves a rule open, the oracle says which source decided it: Twitter's own
//! hashtag rules (DESIGN names them, and the seed's dump is their ground truth), or the
//! documented output (docs/guide/views.md).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use trendflow_dataflows::Tweet;

/// A sign (`#` or the fullwidth `＃`) and the longest run after it of the characters DESIGN lets a
/// hashtag hold: letters, marks, digits or `_` in any script, and the zero-width non-joiner.
/// A run may be empty; the conditions on it are checked in [`hashtags_of`].
static SIGN_AND_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[#＃]([\p{L}\p{M}\p{Nd}_\x{200C}]*)").expect("the hashtag pattern compiles"));

/// What DESIGN's "word character" before a sign means: a character a hashtag may hold. DESIGN does
/// not define the term; this is how the graph's hashtags.rs reads it (consulted for that alone).
static WORD_CHARACTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\A[\p{L}\p{M}\p{Nd}_\x{200C}]\z").expect("the word-character pattern compiles"));

/// A letter or a mark: what makes a run more than digits, underscores and joiners.
static LETTER_OR_MARK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\p{L}\p{M}]").expect("the letter-or-mark pattern compiles"));

/// The emoji variation selectors: marks, so word characters, yet a hashtag may follow them
/// (`❤️#tag`).
const VARIATION_SELECTORS: [char; 2] = ['\u{FE0E}', '\u{FE0F}'];

/// The hashtags of `text` in order of appearance, lowercased by Unicode's full case mapping; a tag
/// used twice is there twice.
///
/// DESIGN's conditions, and four of Twitter's own rules that DESIGN names only as "Twitter's
/// rules" (the seed's dump, which DESIGN calls ground truth, holds cases of the first three, and
/// [`crate::seed`] checks this extraction against it):
///
/// * a tag follows an emoji variation selector, though that is a mark (`❤️#tag`);
/// * a run that starts with a variation selector or the keycap mark is an emoji (`#️⃣`), no tag;
/// * a tag directly followed by another sign or by `://` is no tag (`#one#two` has none);
/// * a run needs a letter or a mark: Twitter's rule, of which DESIGN's "not all digits" is a
///   shorter statement (`#_` and `#_1` are not all digits, yet no tags).
pub fn hashtags_of(text: &str) -> Vec<String> {
    SIGN_AND_RUN
        .captures_iter(text)
        .filter_map(|found| {
            let (sign, run) = (found.get(0)?, found.get(1)?);
            let before = text[..sign.start()].chars().next_back();
            let after = &text[sign.end()..];
            let free = before.is_none_or(|c| {
                VARIATION_SELECTORS.contains(&c) || !(c == '&' || WORD_CHARACTER.is_match(c.encode_utf8(&mut [0; 4])))
            });
            let emoji = run.as_str().starts_with(['\u{FE0F}', '\u{20E3}']);
            let glued = after.starts_with(['#', '＃']) || after.starts_with("://");
            let worded = LETTER_OR_MARK.is_match(run.as_str());
            (free && !emoji && !glued && worded).then(|| run.as_str().to_lowercase())
        })
        .collect()
}

/// What the views are computed with: DESIGN's parameters.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Each window spec's length L and slide S, in milliseconds.
    pub windows: Vec<(u64, u64)>,
    /// K: the rows of the hashtag, tweet and trending rankings.
    pub top_k: usize,
    /// The trending view, when it is computed.
    pub trending: Option<Trending>,
}

/// The trending view's parameters.
#[derive(Clone, Copy, Debug)]
pub struct Trending {
    /// B, or `None` for DESIGN's default of twelve window lengths.
    pub baseline_ms: Option<u64>,
    /// The fewest occurrences in the window that make a candidate.
    pub min_count: u64,
    /// The lowest score that makes a candidate.
    pub min_score: f64,
}

impl Trending {
    fn baseline(&self, length: u64) -> u64 {
        self.baseline_ms.unwrap_or(12 * length)
    }
}

/// A window `[end − length, end)` of the spec (length, slide).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    pub length: u64,
    pub slide: u64,
    pub end: u64,
}

/// A row of top hashtags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashtagRow {
    pub hashtag: String,
    pub count: u64,
}

/// A row of top tweets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TweetRow {
    pub tweet_id: u64,
    pub retweets: u64,
    pub hashtags: u64,
}

/// A row of tweets per language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanguageRow {
    pub lang: String,
    pub count: u64,
}

/// A row of trending hashtags; its floats compare by their bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrendingRow {
    pub hashtag: String,
    pub count: u64,
    pub baseline: u64,
    pub expected: Bits,
    pub score: Bits,
}

/// An `f64` equal only to the same bits: two layers computing DESIGN's one expression agree to the
/// last bit, so nothing looser is asked of the graph.
#[derive(Clone, Copy)]
pub struct Bits(pub f64);

impl PartialEq for Bits {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Bits {}

impl fmt::Debug for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({:#018x})", self.0, self.0.to_bits())
    }
}

/// The four views over one span of event time, each best first; a view without rows has none.
#[derive(Clone, Debug, Default)]
pub struct SpanViews {
    pub hashtags: Vec<HashtagRow>,
    pub tweets: Vec<TweetRow>,
    pub languages: Vec<LanguageRow>,
    pub trending: Vec<TrendingRow>,
    /// Whether the trending baseline starts before the first tweet.
    pub partial_baseline: bool,
}

/// A tweet as the oracle needs it, with its hashtags.
struct Posted {
    id: u64,
    at: i128,
    lang: String,
    retweet_of: Option<u64>,
    hashtags: Vec<String>,
}

/// The tweets, in order of event time, with their hashtags extracted once.
pub struct Oracle {
    tweets: Vec<Posted>,
}

impl Oracle {
    pub fn new(tweets: &[Tweet]) -> Self {
        let mut tweets: Vec<Posted> = tweets
            .iter()
            .map(|tweet| Posted {
                id: tweet.id,
                at: tweet.created_at.into(),
                lang: tweet.lang.clone(),
                retweet_of: tweet.retweet_of,
                hashtags: hashtags_of(&tweet.text),
            })
            .collect();
        tweets.sort_by_key(|tweet| tweet.at);
        Oracle { tweets }
    }

    /// The tweets of `[start, end)`. Spans are signed: a window or baseline may begin before 0.
    fn inside(&self, start: i128, end: i128) -> &[Posted] {
        let from = self.tweets.partition_point(|tweet| tweet.at < start);
        let to = self.tweets.partition_point(|tweet| tweet.at < end);
        &self.tweets[from..to]
    }

    /// Every window of `settings` that holds a tweet: DESIGN's `E − L ≤ t < E`, tried on each
    /// multiple E of S from the one at or below t to the first past t + L.
    pub fn windows(&self, settings: &Settings) -> BTreeSet<Window> {
        let mut windows = BTreeSet::new();
        for &(length, slide) in &settings.windows {
            let (l, s) = (i128::from(length), i128::from(slide));
            for t in self.tweets.iter().map(|tweet| tweet.at) {
                for end in (t / s..=(t + l) / s + 1).map(|k| k * s).filter(|end| end - l <= t && t < *end) {
                    let end = u64::try_from(end).expect("a window holding a tweet ends after 1970");
                    windows.insert(Window { length, slide, end });
                }
            }
        }
        windows
    }

    /// The views over `[end − length, end)`: a window when `end` is its end, a live ranking's
    /// rolling span when `end` is its `as_of`.
    pub fn views_over(&self, settings: &Settings, length: u64, end: u64) -> SpanViews {
        let (start, end) = (i128::from(end) - i128::from(length), i128::from(end));
        let inside = self.inside(start, end);
        let mut occurrences: HashMap<&str, u64> = HashMap::new();
        let mut languages: HashMap<&str, u64> = HashMap::new();
        // Each candidate's retweets received here, and its hashtag count if it was posted here.
        let mut candidates: HashMap<u64, (u64, u64)> = HashMap::new();
        for tweet in inside {
            for hashtag in &tweet.hashtags {
                *occurrences.entry(hashtag).or_insert(0) += 1;
            }
            *languages.entry(&tweet.lang).or_insert(0) += 1;
            // A retweet credits the tweet it retweets and is no candidate itself. A tweet only
            // retweeted here (posted before) ranks with hashtag count 0: docs/guide/views.md's documented
            // output, not DESIGN's "the tweet's own hashtag count", which would need every tweet's
            // count kept beyond the window horizon that DESIGN bounds memory by.
            match tweet.retweet_of {
                Some(original) => candidates.entry(original).or_insert((0, 0)).0 += 1,
                None => candidates.entry(tweet.id).or_insert((0, 0)).1 = tweet.hashtags.len() as u64,
            }
        }
        let k = settings.top_k;
        let (trending, partial_baseline) = match settings.trending {
            Some(trend) => self.trending(&occurrences, trend, k, length, start),
            None => (Vec::new(), false),
        };

        // top_hashtags: most occurrences first, ties by the hashtag's bytes.
        let mut hashtags: Vec<HashtagRow> = occurrences
            .into_iter()
            .map(|(hashtag, count)| HashtagRow { hashtag: hashtag.to_string(), count })
            .collect();
        hashtags.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.hashtag.as_bytes().cmp(b.hashtag.as_bytes())));
        hashtags.truncate(k);

        // top_tweets: most retweets received here first, then most own hashtags, then smallest id.
        let mut tweets: Vec<TweetRow> = candidates
            .into_iter()
            .map(|(tweet_id, (retweets, hashtags))| TweetRow { tweet_id, retweets, hashtags })
            .collect();
        tweets.sort_by(|a, b| {
            b.retweets
                .cmp(&a.retweets)
                .then_with(|| b.hashtags.cmp(&a.hashtags))
                .then_with(|| a.tweet_id.cmp(&b.tweet_id))
        });
        tweets.truncate(k);

        // languages: every language, most tweets first (docs/guide/views.md: "most first"), ties by the
        // code's bytes (the documented order of `LanguageCount`: "ties by code").
        let mut languages: Vec<LanguageRow> =
            languages.into_iter().map(|(lang, count)| LanguageRow { lang: lang.to_string(), count }).collect();
        languages.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.lang.as_bytes().cmp(b.lang.as_bytes())));

        SpanViews { hashtags, tweets, languages, trending, partial_baseline }
    }

    /// The trending rows of a span of `length` starting at `start` whose hashtags occur
    /// `occurrences` times, and whether its baseline `[start − B, start)` starts before the first
    /// tweet (docs/guide/views.md's and `Ranking::partial_baseline`'s rule).
    fn trending(
        &self,
        occurrences: &HashMap<&str, u64>,
        trend: Trending,
        k: usize,
        length: u64,
        start: i128,
    ) -> (Vec<TrendingRow>, bool) {
        let baseline = trend.baseline(length);
        let baseline_start = start - i128::from(baseline);
        let mut before: HashMap<&str, u64> = HashMap::new();
        for tweet in self.inside(baseline_start, start) {
            for hashtag in &tweet.hashtags {
                *before.entry(hashtag).or_insert(0) += 1;
            }
        }
        let mut rows: Vec<TrendingRow> = occurrences
            .iter()
            .filter(|(_, &c)| c >= trend.min_count)
            .map(|(&hashtag, &c)| {
                let b = before.get(hashtag).copied().unwrap_or(0);
                // DESIGN: μ = b·L/B, z = (c − μ)/sqrt(μ + 1), in f64.
                let mu = b as f64 * length as f64 / baseline as f64;
                let z = (c as f64 - mu) / (mu + 1.0).sqrt();
                TrendingRow { hashtag: hashtag.to_string(), count: c, baseline: b, expected: Bits(mu), score: Bits(z) }
            })
            .filter(|row| row.score.0 >= trend.min_score)
            .collect();
        // Highest z first, then most occurrences, then the hashtag's bytes. z is never NaN: c ≥ 1.
        rows.sort_by(|a, b| {
            b.score
                .0
                .total_cmp(&a.score.0)
                .then_with(|| b.count.cmp(&a.count))
                .then_with(|| a.hashtag.as_bytes().cmp(b.hashtag.as_bytes()))
        });
        rows.truncate(k);
        let partial = self.tweets.first().is_some_and(|first| baseline_start < first.at);
        (rows, partial)
    }
}

#[cfg(test)]
mod tests {
    use super::hashtags_of;

    /// DESIGN's examples and each of its conditions, so that the oracle's own reading is pinned
    /// before it judges the graph.
    #[test]
    fn extraction_follows_designs_words() {
        assert_eq!(hashtags_of("Go #Patriots! ＃東京 #東京"), ["patriots", "東京", "東京"]);
        assert_eq!(hashtags_of("#می\u{200c}خواهم #กินข้าว #cafe\u{301}"), ["می\u{200c}خواهم", "กินข้าว", "cafe\u{301}"]);
        assert_eq!(hashtags_of("#2021 ＃２０２１ #١٢٣ #y2021 #_x #a_b"), ["y2021", "_x", "a_b"]);
        assert_eq!(hashtags_of("a#b 1#c _#d e\u{301}#f &#39; &#g (#h) ,#i"), ["h", "i"]);
        assert_eq!(hashtags_of("#İstanbul #ΟΔΟΣ #RUST"), ["i\u{307}stanbul", "οδος", "rust"]);
    }

    /// Twitter's rules beyond DESIGN's list (see [`hashtags_of`]).
    #[test]
    fn extraction_follows_twitters_rules_where_design_names_only_them() {
        assert_eq!(hashtags_of("❤\u{fe0f}#love x\u{301}#no"), ["love"]);
        assert_eq!(hashtags_of("#\u{fe0f}\u{20e3} #\u{20e3} #\u{fe0f}\u{20e3}x"), Vec::<String>::new());
        assert_eq!(hashtags_of("#one#two #three＃ #four:// #five:/"), ["five"]);
        assert_eq!(hashtags_of("#_ #_1 #\u{200c} #__"), Vec::<String>::new());
    }
}
