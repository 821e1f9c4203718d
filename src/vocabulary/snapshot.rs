//! The ranking snapshot as it crosses the broker, and its key: what `stream` publishes to
//! `top_hashtags`, `top_tweets` and `trending_hashtags`, and what `serve` and the tests read back;
//! and a view's ranked rows ([`ViewRows`]), which the view tables and the API's answers hold too.
//! One type for every end, so that the writer and the readers cannot drift apart.
//!
//! Every snapshot says what it counts. A final one counts its window `[window_start,
//! window_end)`; a live one counts the rolling span of the last window length up to `as_of`,
//! `[span_start, as_of)` (see [`Ranking`]), and names the window it will have become when
//! `as_of` reaches `window_end`: a window's snapshots share their key, so a compacted topic keeps
//! the final one.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use trendflow_dataflows::views::{HashtagCount, LanguageCount, Ranking, Snapshot, TrendingHashtag, TweetScore};
use trendflow_dataflows::window::Window;
use trendflow_dataflows::EventTime;

use crate::time::rfc3339;
use crate::vocabulary::ViewKind;

/// What the rows of a snapshot count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// The window `[window_start, window_end)`, closed: the rows will not change.
    Window,
    /// The last window length of event time up to `as_of`: the window still open.
    Rolling,
}

/// One ranking snapshot; `Rows` its rows: [`ViewRows`], or one view's `Vec<RankedRow<_>>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotMessage<Rows = ViewRows> {
    /// The window spec, as written on the command line (`5m/1m`).
    pub window: String,
    #[serde(flatten)]
    pub coverage: Coverage,
    /// For the trending view: whether the baseline starts before the first tweet the stream saw,
    /// so that the expected counts are too low (the baseline is still filling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_baseline: Option<bool>,
    pub rows: Rows,
}

/// Which window rows belong to, and the span of event time they count: what a snapshot says
/// beside its rows, and what the serving layer's answers say beside theirs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub window_start: String,
    pub window_end: String,
    pub window_end_ms: EventTime,
    /// True once the window has closed.
    #[serde(rename = "final")]
    pub is_final: bool,
    pub span: Span,
    /// The first event time the rows count.
    pub span_start: String,
    pub span_start_ms: EventTime,
    /// The event time the rows are complete to, and the end of what they count.
    pub as_of: String,
    pub as_of_ms: EventTime,
}

impl Coverage {
    /// The closed window `[start, end)`: its rows count the window and will not change.
    pub fn closed(start: EventTime, end: EventTime) -> Self {
        Coverage { is_final: true, span: Span::Window, ..Coverage::rolling(start, end, start, end) }
    }

    /// The open window `[start, end)`, its rows counting `[span_start, as_of)`.
    pub fn rolling(start: EventTime, end: EventTime, span_start: EventTime, as_of: EventTime) -> Self {
        Coverage {
            window_start: rfc3339(start),
            window_end: rfc3339(end),
            window_end_ms: end,
            is_final: false,
            span: Span::Rolling,
            span_start: rfc3339(span_start),
            span_start_ms: span_start,
            as_of: rfc3339(as_of),
            as_of_ms: as_of,
        }
    }
}

/// A row as published: its rank (from 1), the view's own fields, and for the trending view the
/// snapshot's `partial_baseline` again, as the view table and the serving layer's answers have it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedRow<R> {
    pub rank: usize,
    #[serde(flatten)]
    pub row: R,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_baseline: Option<bool>,
}

impl<R: Clone> RankedRow<R> {
    /// `rows`, best first, numbered from 1; `partial_baseline` as the trending view states it.
    pub fn numbered(rows: &[R], partial_baseline: Option<bool>) -> Vec<RankedRow<R>> {
        let ranked = |(rank, row): (usize, &R)| RankedRow { rank: rank + 1, row: row.clone(), partial_baseline };
        rows.iter().enumerate().map(ranked).collect()
    }
}

/// The ranked rows of one window of a view, typed by the view. Serialised as the list of rows
/// alone: which view they belong to is said beside them (the topic, the table, the request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ViewRows {
    Hashtags(Vec<RankedRow<HashtagCount>>),
    Tweets(Vec<RankedRow<TweetScore>>),
    Languages(Vec<RankedRow<LanguageCount>>),
    Trending(Vec<RankedRow<TrendingHashtag>>),
}

/// Calls `$apply` with the rows of any view, and wraps what it returns in the same view.
macro_rules! each_view {
    ($rows:expr, $bound:ident => $apply:expr) => {
        match $rows {
            ViewRows::Hashtags($bound) => ViewRows::Hashtags($apply),
            ViewRows::Tweets($bound) => ViewRows::Tweets($apply),
            ViewRows::Languages($bound) => ViewRows::Languages($apply),
            ViewRows::Trending($bound) => ViewRows::Trending($apply),
        }
    };
}

impl ViewRows {
    /// No rows of `kind`'s view.
    pub fn empty(kind: ViewKind) -> Self {
        match kind {
            ViewKind::Hashtags => ViewRows::Hashtags(Vec::new()),
            ViewKind::Tweets => ViewRows::Tweets(Vec::new()),
            ViewKind::Languages => ViewRows::Languages(Vec::new()),
            ViewKind::Trending => ViewRows::Trending(Vec::new()),
        }
    }

    /// The view the rows belong to.
    pub fn kind(&self) -> ViewKind {
        match self {
            ViewRows::Hashtags(_) => ViewKind::Hashtags,
            ViewRows::Tweets(_) => ViewKind::Tweets,
            ViewRows::Languages(_) => ViewKind::Languages,
            ViewRows::Trending(_) => ViewKind::Trending,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ViewRows::Hashtags(rows) => rows.len(),
            ViewRows::Tweets(rows) => rows.len(),
            ViewRows::Languages(rows) => rows.len(),
            ViewRows::Trending(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `k` rows.
    pub fn first(&self, k: usize) -> ViewRows {
        each_view!(self, rows => rows.iter().take(k).cloned().collect())
    }

    /// The row at `index` as a person reads it (`#ida 24`), its partial baseline marked.
    pub fn describe(&self, index: usize) -> Option<String> {
        fn text<R: std::fmt::Display>(rows: &[RankedRow<R>], index: usize) -> Option<String> {
            let ranked = rows.get(index)?;
            let partial = if ranked.partial_baseline == Some(true) { " (partial baseline)" } else { "" };
            Some(format!("{}{partial}", ranked.row))
        }
        match self {
            ViewRows::Hashtags(rows) => text(rows, index),
            ViewRows::Tweets(rows) => text(rows, index),
            ViewRows::Languages(rows) => text(rows, index),
            ViewRows::Trending(rows) => text(rows, index),
        }
    }

    /// The rank and count of `hashtag` in a ranking of hashtags; `None` where it is not ranked,
    /// or the rows rank something else.
    pub fn hashtag(&self, hashtag: &str) -> Option<(usize, u64)> {
        match self {
            ViewRows::Hashtags(rows) => rows
                .iter()
                .find(|ranked| ranked.row.hashtag.as_str() == hashtag)
                .map(|ranked| (ranked.rank, ranked.row.count)),
            _ => None,
        }
    }

    /// The rows of `snapshot`, numbered.
    pub fn of(snapshot: &Snapshot) -> Self {
        match snapshot {
            Snapshot::Hashtags(ranking) => ViewRows::Hashtags(ViewRows::ranked(ranking, false)),
            Snapshot::Tweets(ranking) => ViewRows::Tweets(ViewRows::ranked(ranking, false)),
            Snapshot::Languages(ranking) => ViewRows::Languages(ViewRows::ranked(ranking, false)),
            Snapshot::Trending(ranking) => ViewRows::Trending(ViewRows::ranked(ranking, true)),
        }
    }

    /// The rows of `ranking`, numbered; `baseline` for a view that compares with a baseline.
    fn ranked<R: Clone>(ranking: &Ranking<R>, baseline: bool) -> Vec<RankedRow<R>> {
        RankedRow::numbered(&ranking.rows, baseline.then_some(ranking.partial_baseline))
    }
}

impl SnapshotMessage {
    /// The message of `snapshot`.
    pub fn of(snapshot: &Snapshot) -> Self {
        let rows = ViewRows::of(snapshot);
        let window = snapshot.window();
        let (span_start, as_of) = snapshot.span();
        let coverage = match snapshot.is_final() {
            true => Coverage::closed(window.start(), window.end),
            false => Coverage::rolling(window.start(), window.end, span_start, as_of),
        };
        let partial_baseline = match snapshot {
            Snapshot::Trending(ranking) => Some(ranking.partial_baseline),
            _ => None,
        };
        SnapshotMessage { window: window.spec.to_string(), coverage, partial_baseline, rows }
    }

    /// A snapshot of `kind`'s view as published in `payload`.
    pub fn read(kind: ViewKind, payload: &[u8]) -> serde_json::Result<Self> {
        fn typed<R: DeserializeOwned>(
            payload: &[u8],
            wrap: fn(Vec<RankedRow<R>>) -> ViewRows,
        ) -> serde_json::Result<SnapshotMessage> {
            let message: SnapshotMessage<Vec<RankedRow<R>>> = serde_json::from_slice(payload)?;
            Ok(message.with_rows(wrap))
        }
        match kind {
            ViewKind::Hashtags => typed(payload, ViewRows::Hashtags),
            ViewKind::Tweets => typed(payload, ViewRows::Tweets),
            ViewKind::Languages => typed(payload, ViewRows::Languages),
            ViewKind::Trending => typed(payload, ViewRows::Trending),
        }
    }
}

impl<Rows> SnapshotMessage<Rows> {
    /// The same snapshot with its rows turned by `turn`.
    pub fn with_rows<Other>(self, turn: impl FnOnce(Rows) -> Other) -> SnapshotMessage<Other> {
        SnapshotMessage {
            window: self.window,
            coverage: self.coverage,
            partial_baseline: self.partial_baseline,
            rows: turn(self.rows),
        }
    }
}

/// The key of a window's snapshots: its spec and its end, such as `5m/1m@2021-08-29T23:55:00.000Z`.
/// All snapshots of one window share it, so a compacted topic keeps the latest (final) one.
pub fn window_key(window: &Window) -> String {
    format!("{}@{}", window.spec, rfc3339(window.end))
}

/// The message body of a ranking snapshot, as JSON.
pub fn snapshot_json(snapshot: &Snapshot) -> serde_json::Result<String> {
    serde_json::to_string(&SnapshotMessage::of(snapshot))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use trendflow_dataflows::views::{HashtagCount, TrendingHashtag};

    use super::*;

    #[test]
    fn a_final_snapshot_counts_its_window_and_numbers_its_ranks() {
        let window = Window { spec: "5m/1m".parse().unwrap(), end: 1_630_281_300_000 };
        let snapshot = Snapshot::Hashtags(Ranking {
            window,
            rows: vec![HashtagCount { hashtag: "a".into(), count: 3 }, HashtagCount { hashtag: "b".into(), count: 1 }],
            is_final: true,
            as_of: window.end,
            partial_baseline: false,
        });
        assert_eq!(window_key(&window), "5m/1m@2021-08-29T23:55:00.000Z");
        let value: Value = serde_json::from_str(&snapshot_json(&snapshot).unwrap()).unwrap();
        assert_eq!(value["window_start"], "2021-08-29T23:50:00.000Z");
        assert_eq!((value["final"].as_bool(), value["span"].as_str()), (Some(true), Some("window")));
        assert_eq!((&value["span_start"], &value["as_of"]), (&value["window_start"], &value["window_end"]));
        assert_eq!(value["rows"][1], json!({"rank": 2, "hashtag": "b", "count": 1}));
        assert!(value.get("partial_baseline").is_none());
    }

    #[test]
    fn a_live_snapshot_states_the_rolling_span_it_counts_and_reads_back() {
        let window = Window { spec: "5m/1m".parse().unwrap(), end: 1_630_281_300_000 };
        let as_of = window.end - 25_000;
        let snapshot = Snapshot::Trending(Ranking {
            window,
            rows: vec![TrendingHashtag::new("ida".into(), 30, 60, 300_000, 3_600_000)],
            is_final: false,
            as_of,
            partial_baseline: true,
        });
        let text = snapshot_json(&snapshot).unwrap();
        let message = SnapshotMessage::read(ViewKind::Trending, text.as_bytes()).unwrap();
        assert_eq!((message.coverage.is_final, message.coverage.span), (false, Span::Rolling));
        assert_eq!((message.coverage.span_start_ms, message.coverage.as_of_ms), (as_of - 300_000, as_of));
        assert_eq!(message.coverage.as_of, "2021-08-29T23:54:35.000Z");
        assert_eq!(message.partial_baseline, Some(true));
        let ViewRows::Trending(rows) = &message.rows else { panic!("trending rows") };
        assert_eq!((rows[0].rank, rows[0].partial_baseline), (1, Some(true)));
        assert_eq!(message.rows.first(0), ViewRows::empty(ViewKind::Trending));
        assert_eq!(SnapshotMessage::read(ViewKind::Trending, &serde_json::to_vec(&message).unwrap()).unwrap(), message);
    }
}
