//! The view tables: each window's final ranking, per layer, replaced as a whole.

use std::collections::{BTreeSet, HashMap};

use anyhow::Result;
use mysql::prelude::Queryable;
use mysql::{Conn, TxOpts, Value};
use trendflow_dataflows::views::Snapshot;
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::EventTime;

use crate::db::MysqlConfig;
use crate::limits::{sql_id, Misfit};
use crate::sink::mysql::insert_rows;

/// Which layer wrote a view: the batch layer over the history, or the speed layer over the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Layer {
    Batch,
    Speed,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::Batch => "batch",
            Layer::Speed => "speed",
        }
    }
}

/// Which view: each has a table of its own, keyed by layer, window spec, window end and rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum ViewKind {
    Hashtags,
    Tweets,
    Languages,
    Trending,
}

impl ViewKind {
    pub const ALL: [ViewKind; 4] = [ViewKind::Hashtags, ViewKind::Tweets, ViewKind::Languages, ViewKind::Trending];

    /// The view a snapshot belongs to.
    pub fn of(snapshot: &Snapshot) -> ViewKind {
        match snapshot {
            Snapshot::Hashtags(_) => ViewKind::Hashtags,
            Snapshot::Tweets(_) => ViewKind::Tweets,
            Snapshot::Languages(_) => ViewKind::Languages,
            Snapshot::Trending(_) => ViewKind::Trending,
        }
    }

    /// The view's name, as flags, the API and the live push spell it.
    pub fn name(self) -> &'static str {
        match self {
            ViewKind::Hashtags => "hashtags",
            ViewKind::Tweets => "tweets",
            ViewKind::Languages => "languages",
            ViewKind::Trending => "trending",
        }
    }

    /// The view's table and its own columns, in the order of the values [`ViewWriter`] writes.
    pub fn table(self) -> (&'static str, &'static [&'static str]) {
        match self {
            ViewKind::Hashtags => ("view_top_hashtags", &["hashtag", "occurrences"]),
            ViewKind::Tweets => ("view_top_tweets", &["tweet_id", "retweets", "hashtags"]),
            ViewKind::Languages => ("view_languages", &["language", "tweets"]),
            ViewKind::Trending => (
                "view_trending_hashtags",
                &["hashtag", "occurrences", "baseline_occurrences", "expected", "score", "partial_baseline"],
            ),
        }
    }
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
        let (kind, rows): (ViewKind, Vec<Vec<Value>>) = match snapshot {
            Snapshot::Hashtags(r) => (
                ViewKind::Hashtags,
                r.rows.iter().map(|row| vec![Value::from(row.hashtag.as_str()), Value::from(row.count)]).collect(),
            ),
            Snapshot::Tweets(r) => (
                ViewKind::Tweets,
                r.rows
                    .iter()
                    .map(|row| {
                        let id = sql_id("tweet_id", row.tweet_id)?;
                        Ok(vec![Value::from(id), Value::from(row.retweets), Value::from(row.hashtags)])
                    })
                    .collect::<Result<_, Misfit>>()?,
            ),
            Snapshot::Languages(r) => (
                ViewKind::Languages,
                r.rows.iter().map(|row| vec![Value::from(row.lang.as_str()), Value::from(row.count)]).collect(),
            ),
            Snapshot::Trending(r) => (
                ViewKind::Trending,
                r.rows
                    .iter()
                    .map(|row| {
                        vec![
                            Value::from(row.hashtag.as_str()),
                            Value::from(row.count),
                            Value::from(row.baseline),
                            Value::from(row.expected),
                            Value::from(row.score),
                            Value::from(r.partial_baseline),
                        ]
                    })
                    .collect(),
            ),
        };
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
        let (table, columns) = kind.table();
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
            for table in ViewKind::ALL.map(|kind| kind.table().0) {
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
