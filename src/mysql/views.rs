//! The view tables: each window's final ranking, per layer, replaced as a whole, and read back as
//! the vocabulary's typed rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::RangeInclusive;

use anyhow::Result;
use mysql::prelude::Queryable;
use mysql::{Conn, TxOpts, Value};
use trendflow_dataflows::symbol::Symbol;
use trendflow_dataflows::views::{HashtagCount, LanguageCount, Snapshot, TrendingHashtag, TweetScore};
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::EventTime;

use crate::limits::{sql_id, Misfit};
use crate::mysql::insert_rows;
use crate::mysql::MysqlConfig;
use crate::vocabulary::snapshot::{RankedRow, ViewRows};
use crate::vocabulary::{Layer, ViewKind};

/// A view's table and its own columns, in the order of the values [`ViewWriter`] writes and
/// [`read_windows`] reads: the vocabulary's field names (see [`crate::vocabulary`]).
pub fn table(kind: ViewKind) -> (&'static str, &'static [&'static str]) {
    match kind {
        ViewKind::Hashtags => ("view_top_hashtags", &["hashtag", "count"]),
        ViewKind::Tweets => ("view_top_tweets", &["tweet_id", "retweets", "hashtags"]),
        ViewKind::Languages => ("view_languages", &["language", "count"]),
        ViewKind::Trending => {
            ("view_trending_hashtags", &["hashtag", "count", "baseline", "expected", "score", "partial_baseline"])
        }
    }
}

/// The columns of the view tables named otherwise before the vocabulary had one name per field,
/// as `(table, old name, new name, definition)`: `db init` renames them.
pub const RENAMED_COLUMNS: [(&str, &str, &str, &str); 4] = [
    ("view_top_hashtags", "occurrences", "count", "bigint(20) NOT NULL"),
    ("view_languages", "tweets", "count", "bigint(20) NOT NULL"),
    ("view_trending_hashtags", "occurrences", "count", "bigint(20) NOT NULL"),
    ("view_trending_hashtags", "baseline_occurrences", "baseline", "bigint(20) NOT NULL"),
];

/// The stored values of a window's ranked rows, in [`table`]'s column order.
fn values_of(rows: &ViewRows) -> Result<Vec<Vec<Value>>, Misfit> {
    Ok(match rows {
        ViewRows::Hashtags(rows) => rows
            .iter()
            .map(|ranked| vec![Value::from(ranked.row.hashtag.as_str()), Value::from(ranked.row.count)])
            .collect(),
        ViewRows::Tweets(rows) => rows
            .iter()
            .map(|RankedRow { row, .. }| {
                let id = sql_id("tweet_id", row.tweet_id)?;
                Ok(vec![Value::from(id), Value::from(row.retweets), Value::from(row.hashtags)])
            })
            .collect::<Result<_, Misfit>>()?,
        ViewRows::Languages(rows) => rows
            .iter()
            .map(|ranked| vec![Value::from(ranked.row.language.as_str()), Value::from(ranked.row.count)])
            .collect(),
        ViewRows::Trending(rows) => rows
            .iter()
            .map(|RankedRow { row, partial_baseline, .. }| {
                vec![
                    Value::from(row.hashtag.as_str()),
                    Value::from(row.count),
                    Value::from(row.baseline),
                    Value::from(row.expected),
                    Value::from(row.score),
                    Value::from(partial_baseline.unwrap_or_default()),
                ]
            })
            .collect(),
    })
}

/// The stored values of a window's ranked rows as text, in [`table`]'s column order. A `DOUBLE`
/// (the trending view's expected count and score) is written as the shortest text that reads
/// back to the same bits.
pub fn stored_text(rows: &ViewRows) -> Result<Vec<Vec<String>>, Misfit> {
    let text = |value: Value| match value {
        Value::Bytes(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Value::Int(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Double(x) => x.to_string(),
        Value::Float(x) => x.to_string(),
        other => other.as_sql(true),
    };
    Ok(values_of(rows)?.into_iter().map(|values| values.into_iter().map(text).collect()).collect())
}

/// The first `k` rows of each window of `layer`'s `kind` view of `spec` ending in `ends`, by
/// window end. Only windows with rows in this view are there.
pub fn read_windows(
    conn: &mut impl Queryable,
    layer: Layer,
    kind: ViewKind,
    spec: &str,
    ends: RangeInclusive<EventTime>,
    k: usize,
) -> mysql::Result<BTreeMap<EventTime, ViewRows>> {
    let (table, columns) = table(kind);
    let query = format!(
        "SELECT window_end_ms, position, {} FROM `{table}` WHERE layer = ? AND window_spec = ? \
         AND window_end_ms BETWEEN ? AND ? AND position <= ? ORDER BY window_end_ms, position",
        columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    );
    let params = (layer.name(), spec, *ends.start(), *ends.end(), k as u64);
    Ok(match kind {
        ViewKind::Hashtags => by_window(
            conn.exec_map(query, params, |(end, rank, hashtag, count): (EventTime, usize, String, u64)| {
                (
                    end,
                    RankedRow {
                        rank,
                        row: HashtagCount { hashtag: Symbol::new(&hashtag), count },
                        partial_baseline: None,
                    },
                )
            })?,
            ViewRows::Hashtags,
        ),
        ViewKind::Tweets => by_window(
            conn.exec_map(
                query,
                params,
                |(end, rank, tweet_id, retweets, hashtags): (EventTime, usize, u64, u64, u64)| {
                    (end, RankedRow { rank, row: TweetScore { tweet_id, retweets, hashtags }, partial_baseline: None })
                },
            )?,
            ViewRows::Tweets,
        ),
        ViewKind::Languages => by_window(
            conn.exec_map(query, params, |(end, rank, language, count): (EventTime, usize, String, u64)| {
                (
                    end,
                    RankedRow {
                        rank,
                        row: LanguageCount { language: Symbol::new(&language), count },
                        partial_baseline: None,
                    },
                )
            })?,
            ViewRows::Languages,
        ),
        ViewKind::Trending => by_window(
            conn.exec_map(
                query,
                params,
                |(end, rank, hashtag, count, baseline, expected, score, partial): TrendingRow| {
                    let row = TrendingHashtag { hashtag: Symbol::new(&hashtag), count, baseline, expected, score };
                    (end, RankedRow { rank, row, partial_baseline: Some(partial) })
                },
            )?,
            ViewRows::Trending,
        ),
    })
}

/// A stored row of the trending view: window end, rank, then [`table`]'s columns.
type TrendingRow = (EventTime, usize, String, u64, u64, f64, f64, bool);

/// Rows with their window ends, grouped by window end.
fn by_window<R>(
    rows: Vec<(EventTime, RankedRow<R>)>,
    wrap: fn(Vec<RankedRow<R>>) -> ViewRows,
) -> BTreeMap<EventTime, ViewRows> {
    let mut windows: BTreeMap<EventTime, Vec<RankedRow<R>>> = BTreeMap::new();
    for (end, row) in rows {
        windows.entry(end).or_default().push(row);
    }
    windows.into_iter().map(|(end, rows)| (end, wrap(rows))).collect()
}

/// Writes final rankings into the view tables, replacing each window's rows as a whole.
pub struct ViewWriter {
    conn: Conn,
    config: MysqlConfig,
    layer: Layer,
    written: HashMap<WindowSpec, BTreeSet<u64>>,
}

impl ViewWriter {
    pub fn new(config: &MysqlConfig, layer: Layer) -> Result<Self> {
        Ok(ViewWriter { conn: config.connect()?, config: config.clone(), layer, written: HashMap::new() })
    }

    /// Replaces the rows of the snapshot's view and window (only final snapshots are written).
    pub fn write(&mut self, snapshot: &Snapshot) -> Result<()> {
        if !snapshot.is_final() {
            return Ok(());
        }
        let window = snapshot.window();
        let kind = ViewKind::of(snapshot);
        let rows = values_of(&ViewRows::of(snapshot))?;
        let key = (self.layer.name(), window.spec.to_string(), window.end as i64);
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(rank, values)| {
                let mut row = vec![key.0.into(), key.1.clone().into(), key.2.into(), Value::from(rank as i64 + 1)];
                row.extend(values);
                row
            })
            .collect();
        let (table, columns) = table(kind);
        self.replace(table, columns, &key, rows)?;
        self.written.entry(window.spec).or_default().insert(window.end);
        Ok(())
    }

    fn replace(
        &mut self,
        table: &str,
        columns: &[&str],
        key: &(&str, String, i64),
        rows: Vec<Vec<Value>>,
    ) -> Result<()> {
        let mut all = vec!["layer", "window_spec", "window_end_ms", "position"];
        all.extend_from_slice(columns);
        let what = format!("writing the {} view of window {} ending at {}", table, key.1, key.2);
        self.config.retrying(&mut self.conn, &what, |conn| {
            let mut tx = conn.start_transaction(TxOpts::default())?;
            tx.exec_drop(
                format!("DELETE FROM `{table}` WHERE layer = ? AND window_spec = ? AND window_end_ms = ?"),
                key.clone(),
            )?;
            insert_rows(&mut tx, table, &all, "", rows.clone())?;
            tx.commit()
        })
    }

    /// Records a complete batch run of `specs` that read `tweets`, the newest of event time
    /// `newest`: each spec's boundary is its latest window end at or before `newest`. One
    /// transaction, after every view row of the run; returns the boundaries.
    pub fn record_batch_run(
        &mut self,
        specs: &[WindowSpec],
        tweets: u64,
        newest: EventTime,
        finished_at: EventTime,
    ) -> Result<Vec<(WindowSpec, EventTime)>> {
        let boundaries: Vec<(WindowSpec, EventTime)> =
            specs.iter().map(|spec| (*spec, newest - newest % spec.slide_ms())).collect();
        let rows: Vec<(String, EventTime, EventTime, u64)> =
            boundaries.iter().map(|(spec, boundary)| (spec.to_string(), *boundary, finished_at, tweets)).collect();
        self.config.retrying(&mut self.conn, "recording the batch run's boundaries", |conn| {
            let mut tx = conn.start_transaction(TxOpts::default())?;
            tx.exec_batch(
                "INSERT INTO batch_runs (window_spec, boundary_ms, finished_at_ms, tweets_read) VALUES (?, ?, ?, ?)",
                rows.clone(),
            )?;
            tx.commit()
        })?;
        Ok(boundaries)
    }

    /// The window specs this writer has written windows of.
    pub fn written_specs(&self) -> Vec<WindowSpec> {
        self.written.keys().copied().collect()
    }

    /// Deletes this layer's rows of `specs` for windows this writer did not write: what a full
    /// recomputation (the batch layer) no longer produces.
    pub fn remove_unwritten(&mut self, specs: &[WindowSpec]) -> Result<u64> {
        let mut removed = 0;
        for spec in specs {
            let written = self.written.get(spec).cloned().unwrap_or_default();
            for table in ViewKind::ALL.map(|kind| table(kind).0) {
                let what = format!("removing stale windows of {spec} from {table}");
                let ends: Vec<i64> = self.config.retrying(&mut self.conn, &what, |conn| {
                    conn.exec(
                        format!("SELECT DISTINCT window_end_ms FROM `{table}` WHERE layer = ? AND window_spec = ?"),
                        (self.layer.name(), spec.to_string()),
                    )
                })?;
                for end in ends.into_iter().filter(|end| !written.contains(&(*end as u64))) {
                    self.config.retrying(&mut self.conn, &what, |conn| {
                        conn.exec_drop(
                            format!("DELETE FROM `{table}` WHERE layer = ? AND window_spec = ? AND window_end_ms = ?"),
                            (self.layer.name(), spec.to_string(), end),
                        )
                    })?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}
