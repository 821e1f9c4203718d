//! The ranking snapshot as it crosses the broker, and its key: what `stream` publishes to
//! `top_hashtags`, `top_tweets` and `trending_hashtags`, and what `serve` and the tests read back.
//! One type for both ends, so that the writer and the readers cannot drift apart.
//!
//! Every snapshot says what it counts. A final one counts its window `[window_start,
//! window_end)`; a live one counts the rolling span of the last window length up to `as_of`,
//! `[span_start, as_of)` (see [`Ranking`]), and names the window it will have become when
//! `as_of` reaches `window_end`: a window's snapshots share their key, so a compacted topic keeps
//! the final one.

use serde::{Deserialize, Serialize};
use trendflow_dataflows::views::{Ranking, Snapshot};
use trendflow_dataflows::window::Window;
use trendflow_dataflows::EventTime;

use crate::time::rfc3339;

/// What the rows of a snapshot count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// The window `[window_start, window_end)`, closed: the rows will not change.
    Window,
    /// The last window length of event time up to `as_of`: the window still open.
    Rolling,
}

/// One ranking snapshot; `Row` is a view's row type when written, any JSON value when read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotMessage<Row> {
    /// The window spec, as written on the command line (`5m/1m`).
    pub window: String,
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
    /// For the trending view: whether the baseline starts before the first tweet the stream saw,
    /// so that the expected counts are too low (the baseline is still filling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_baseline: Option<bool>,
    pub rows: Vec<Row>,
}

/// A row as published: its rank (from 1), the view's own fields, and for the trending view the
/// snapshot's `partial_baseline` again, as the view table and the serving layer's answers have it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankedRow<R> {
    pub rank: usize,
    #[serde(flatten)]
    pub row: R,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_baseline: Option<bool>,
}

impl<R: Clone> SnapshotMessage<RankedRow<R>> {
    /// The message of `ranking`; `baseline` for a view that compares with a baseline.
    fn of(ranking: &Ranking<R>, baseline: bool) -> Self {
        let window = &ranking.window;
        let (span_start, as_of) = ranking.span();
        let partial_baseline = baseline.then_some(ranking.partial_baseline);
        SnapshotMessage {
            window: window.spec.to_string(),
            window_start: rfc3339(window.start()),
            window_end: rfc3339(window.end),
            window_end_ms: window.end,
            is_final: ranking.is_final,
            span: if ranking.is_final { Span::Window } else { Span::Rolling },
            span_start: rfc3339(span_start),
            span_start_ms: span_start,
            as_of: rfc3339(as_of),
            as_of_ms: as_of,
            partial_baseline,
            rows: ranking
                .rows
                .iter()
                .enumerate()
                .map(|(rank, row)| RankedRow { rank: rank + 1, row: row.clone(), partial_baseline })
                .collect(),
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
    match snapshot {
        Snapshot::Hashtags(ranking) => serde_json::to_string(&SnapshotMessage::of(ranking, false)),
        Snapshot::Tweets(ranking) => serde_json::to_string(&SnapshotMessage::of(ranking, false)),
        Snapshot::Languages(ranking) => serde_json::to_string(&SnapshotMessage::of(ranking, false)),
        Snapshot::Trending(ranking) => serde_json::to_string(&SnapshotMessage::of(ranking, true)),
    }
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
        let message: SnapshotMessage<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!((message.is_final, message.span), (false, Span::Rolling));
        assert_eq!((message.span_start_ms, message.as_of_ms), (as_of - 300_000, as_of));
        assert_eq!(message.as_of, "2021-08-29T23:54:35.000Z");
        assert_eq!(message.partial_baseline, Some(true));
        assert_eq!(message.rows[0]["partial_baseline"], true);
        assert_eq!(message.rows[0]["rank"], 1);
    }
}
