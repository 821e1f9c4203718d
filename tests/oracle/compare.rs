//! Checks what the graph published against the oracle: the final ranking of every view of every
//! window, and every live ranking over the span it states.
//!
//! The graph's rows are read field by field into the oracle's row types and compared whole, rank
//! by rank; nothing of the graph decides equality or order (its rows' `Eq` compares the trend
//! score through their `Ord`, so it is not used).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use trendflow_dataflows::views::{Ranking, Snapshot};

use crate::oracle::{Bits, HashtagRow, LanguageRow, Oracle, Settings, SpanViews, TrendingRow, TweetRow, Window};

/// A view a user reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum View {
    Hashtags,
    Tweets,
    Languages,
    Trending,
}

const VIEWS: [View; 4] = [View::Hashtags, View::Tweets, View::Languages, View::Trending];

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            View::Hashtags => "top hashtags",
            View::Tweets => "top tweets",
            View::Languages => "languages",
            View::Trending => "trending hashtags",
        };
        f.write_str(name)
    }
}

/// A ranking's rows, best first, in the oracle's terms; the trending view's with its mark.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Rows {
    Hashtags(Vec<HashtagRow>),
    Tweets(Vec<TweetRow>),
    Languages(Vec<LanguageRow>),
    Trending { partial_baseline: bool, rows: Vec<TrendingRow> },
}

/// A published ranking: what it says of itself, and its rows.
struct Published {
    view: View,
    window: Window,
    is_final: bool,
    as_of: u64,
    /// The bounds it states, `Ranking::span`.
    span: (u64, u64),
    rows: Rows,
}

fn read(snapshot: &Snapshot) -> Published {
    match snapshot {
        Snapshot::Hashtags(r) => stated(
            View::Hashtags,
            r,
            Rows::Hashtags(
                r.rows.iter().map(|row| HashtagRow { hashtag: row.hashtag.to_string(), count: row.count }).collect(),
            ),
        ),
        Snapshot::Tweets(r) => stated(
            View::Tweets,
            r,
            Rows::Tweets(
                r.rows
                    .iter()
                    .map(|row| TweetRow { tweet_id: row.tweet_id, retweets: row.retweets, hashtags: row.hashtags })
                    .collect(),
            ),
        ),
        Snapshot::Languages(r) => stated(
            View::Languages,
            r,
            Rows::Languages(
                r.rows.iter().map(|row| LanguageRow { lang: row.language.to_string(), count: row.count }).collect(),
            ),
        ),
        Snapshot::Trending(r) => stated(
            View::Trending,
            r,
            Rows::Trending {
                partial_baseline: r.partial_baseline,
                rows: r
                    .rows
                    .iter()
                    .map(|row| TrendingRow {
                        hashtag: row.hashtag.to_string(),
                        count: row.count,
                        baseline: row.baseline,
                        expected: Bits(row.expected),
                        score: Bits(row.score),
                    })
                    .collect(),
            },
        ),
    }
}

fn stated<R>(view: View, ranking: &Ranking<R>, rows: Rows) -> Published {
    let spec = ranking.window.spec;
    Published {
        view,
        window: Window { length: spec.length_ms(), slide: spec.slide_ms(), end: ranking.window.end },
        is_final: ranking.is_final,
        as_of: ranking.as_of,
        span: ranking.span(),
        rows,
    }
}

/// The oracle's ranking of `view` over a span: none when the view has no rows there, as DESIGN
/// has no snapshot of a window without tweets (nor, then, of a view without rows).
fn expected(view: View, views: &SpanViews) -> Option<Rows> {
    match view {
        View::Hashtags => (!views.hashtags.is_empty()).then(|| Rows::Hashtags(views.hashtags.clone())),
        View::Tweets => (!views.tweets.is_empty()).then(|| Rows::Tweets(views.tweets.clone())),
        View::Languages => (!views.languages.is_empty()).then(|| Rows::Languages(views.languages.clone())),
        View::Trending => (!views.trending.is_empty())
            .then(|| Rows::Trending { partial_baseline: views.partial_baseline, rows: views.trending.clone() }),
    }
}

/// How many rankings were compared with the oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compared {
    /// Windows holding a tweet.
    pub windows: usize,
    /// Final rankings: one per view and window that has rows.
    pub finals: usize,
    /// Final trending rankings whose baseline is whole (starts at or after the first tweet).
    pub whole_baselines: usize,
    /// Live rankings.
    pub live: usize,
}

/// Compares every ranking in `snapshots` with the oracle's views under `settings`; the first
/// difference is the error.
///
/// Final rankings: exactly one per view of every window holding a tweet (none for a view without
/// rows there), each counting its window and equal to the oracle's. Live rankings: each names the
/// next window to close (`E − S < as_of < E`), states the rolling span `[as_of − L, as_of)`, and
/// equals the oracle's views over that span.
pub fn check(snapshots: &[Snapshot], oracle: &Oracle, settings: &Settings) -> Result<Compared, String> {
    let mut spans: HashMap<(u64, u64), SpanViews> = HashMap::new();
    let mut views_over = |length: u64, end: u64| -> SpanViews {
        spans.entry((length, end)).or_insert_with(|| oracle.views_over(settings, length, end)).clone()
    };
    let mut finals: BTreeMap<(Window, View), Rows> = BTreeMap::new();
    let mut live = 0;
    for snapshot in snapshots {
        let Published { view, window, is_final, as_of, span, rows } = read(snapshot);
        let Window { length, slide, end } = window;
        let named = format!("{view} of {}", show_window(window));
        if is_final {
            if as_of != end || span != (end.saturating_sub(length), end) {
                return Err(format!("{named}: a final ranking as of {as_of} over {span:?}, not its window"));
            }
            if finals.insert((window, view), rows).is_some() {
                return Err(format!("{named}: published final twice"));
            }
            continue;
        }
        if !(end - slide < as_of && as_of < end) {
            return Err(format!("{named}: live as of {as_of}, not within the slide before the window's end"));
        }
        if span != (as_of.saturating_sub(length), as_of) {
            return Err(format!("{named}: live as of {as_of} states {span:?}, not the rolling span of its length"));
        }
        let want = expected(view, &views_over(length, as_of));
        if want.as_ref() != Some(&rows) {
            let (start, end) = span;
            return Err(format!("{named}, live over [{start}, {end}):\n{}", differ(Some(&rows), want.as_ref())));
        }
        live += 1;
    }
    let mut wanted: BTreeMap<(Window, View), Rows> = BTreeMap::new();
    let windows = oracle.windows(settings);
    for &window in &windows {
        let views = views_over(window.length, window.end);
        wanted.extend(VIEWS.into_iter().filter_map(|view| Some(((window, view), expected(view, &views)?))));
    }
    let keys: BTreeSet<&(Window, View)> = finals.keys().chain(wanted.keys()).collect();
    for key @ (window, view) in keys {
        let (graph, oracle) = (finals.get(key), wanted.get(key));
        if graph != oracle {
            return Err(format!("{view} of {}, final:\n{}", show_window(*window), differ(graph, oracle)));
        }
    }
    let whole_baselines =
        wanted.values().filter(|rows| matches!(rows, Rows::Trending { partial_baseline: false, .. })).count();
    Ok(Compared { windows: windows.len(), finals: wanted.len(), whole_baselines, live })
}

fn show_window(window: Window) -> String {
    let Window { length, slide, end } = window;
    format!("the window {length}ms/{slide}ms [{}, {end})", end.saturating_sub(length))
}

fn differ(graph: Option<&Rows>, oracle: Option<&Rows>) -> String {
    let show = |rows: Option<&Rows>| rows.map_or_else(|| "(no ranking)".to_string(), |rows| format!("{rows:?}"));
    format!("  graph:  {}\n  oracle: {}", show(graph), show(oracle))
}
