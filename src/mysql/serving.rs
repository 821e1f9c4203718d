//! The view tables as the serving layer reads them: the batch runs' boundaries, the speed
//! layer's latest final windows, and windows' rows, typed as the ranking topics carry them.

use std::collections::BTreeMap;
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::Pool;
use serde::Serialize;
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::EventTime;

use crate::mysql::heartbeat::SILENT_AFTER;
use crate::mysql::views::read_windows;
use crate::vocabulary::snapshot::ViewRows;
use crate::vocabulary::{Layer, ViewKind};

/// What the view tables say of each window spec's layers: the latest batch run's boundary and
/// the speed layer's latest final window, and when they were read. The server reads them a few
/// times a second, not for every request.
#[derive(Clone, Debug, Default)]
pub struct LayerMarks {
    pub boundaries: BTreeMap<WindowSpec, EventTime>,
    pub speed_finals: BTreeMap<WindowSpec, EventTime>,
    /// The newest heartbeat of any stream; `None` if no stream ever ran on these tables.
    pub speed_heartbeat: Option<SpeedHeartbeat>,
    /// The latest complete batch run; `None` before the first.
    pub batch_run: Option<i64>,
}

/// A stream's latest heartbeat (see [`crate::mysql::heartbeat`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpeedHeartbeat {
    /// How long before the read it beat, by the MySQL server's clock.
    pub age_ms: u64,
    /// Whether the stream said it stopped.
    pub stopped: bool,
}

/// Whether the speed layer runs, as its heartbeats say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum SpeedLayer {
    /// A stream beat within [`SILENT_AFTER`].
    Running { last_heard_ms: u64 },
    /// The latest stream said it stopped.
    Stopped { last_heard_ms: u64 },
    /// The latest stream has not beaten for longer than [`SILENT_AFTER`]: killed, or cut off.
    Silent { last_heard_ms: u64 },
    /// No stream ever beat on these tables: snapshots on the topics come from elsewhere.
    Unknown,
}

impl SpeedLayer {
    /// Whether its open windows are shown: not once it has stopped or gone silent, when the
    /// last live snapshot no longer moves and the latest window is the last final one.
    pub fn shows_open_windows(&self) -> bool {
        matches!(self, SpeedLayer::Running { .. } | SpeedLayer::Unknown)
    }
}

impl LayerMarks {
    /// What the heartbeats say of the speed layer.
    pub fn speed_layer(&self) -> SpeedLayer {
        match self.speed_heartbeat {
            None => SpeedLayer::Unknown,
            Some(SpeedHeartbeat { age_ms, stopped: true }) => SpeedLayer::Stopped { last_heard_ms: age_ms },
            Some(SpeedHeartbeat { age_ms, .. }) if Duration::from_millis(age_ms) > SILENT_AFTER => {
                SpeedLayer::Silent { last_heard_ms: age_ms }
            }
            Some(SpeedHeartbeat { age_ms, .. }) => SpeedLayer::Running { last_heard_ms: age_ms },
        }
    }
}

/// How long a request waits for a free connection of the pool.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads views through a pool of connections: one per request at a time, opened on demand.
#[derive(Clone)]
pub struct ViewStore {
    pool: Pool,
}

impl ViewStore {
    pub fn new(pool: Pool) -> Self {
        ViewStore { pool }
    }

    /// A connection of the pool, waiting at most [`CHECKOUT_TIMEOUT`] for one to be free: with
    /// every connection busy on a slow server, a request fails rather than queue up behind them.
    fn conn(&self) -> mysql::Result<mysql::PooledConn> {
        self.pool.try_get_conn(CHECKOUT_TIMEOUT)
    }

    /// Whether the server answers.
    pub fn ping(&self) -> mysql::Result<()> {
        self.conn()?.query_drop("SELECT 1")
    }

    /// The boundaries and the speed layer's latest final windows, in one connection.
    pub fn marks(&self) -> mysql::Result<LayerMarks> {
        Ok(LayerMarks {
            boundaries: self.boundaries()?,
            speed_finals: self.speed_finals()?,
            speed_heartbeat: self.speed_heartbeat()?,
            batch_run: self.conn()?.query_first("SELECT MAX(run_id) FROM batch_runs")?.flatten(),
        })
    }

    /// The newest heartbeat of any stream, its age by the server's own clock.
    pub fn speed_heartbeat(&self) -> mysql::Result<Option<SpeedHeartbeat>> {
        let newest: Option<(i64, bool)> = self.conn()?.query_first(
            "SELECT ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) - beat_ms, stopped FROM stream_heartbeats \
             ORDER BY beat_ms DESC LIMIT 1",
        )?;
        Ok(newest.map(|(age_ms, stopped)| SpeedHeartbeat { age_ms: age_ms.max(0) as u64, stopped }))
    }

    /// The latest complete batch run's boundary, per window spec.
    pub fn boundaries(&self) -> mysql::Result<BTreeMap<WindowSpec, EventTime>> {
        let rows: Vec<(String, EventTime)> = self.conn()?.query(
            "SELECT r.window_spec, r.boundary_ms FROM batch_runs r \
             JOIN (SELECT window_spec, MAX(run_id) AS run_id FROM batch_runs GROUP BY window_spec) latest \
             ON r.run_id = latest.run_id",
        )?;
        Ok(by_spec(rows))
    }

    /// The end of the latest window the speed layer wrote as final, per window spec.
    pub fn speed_finals(&self) -> mysql::Result<BTreeMap<WindowSpec, EventTime>> {
        let rows: Vec<(String, EventTime)> = self.conn()?.exec(
            "SELECT window_spec, MAX(window_end_ms) FROM view_top_hashtags WHERE layer = ? GROUP BY window_spec",
            (Layer::Speed.name(),),
        )?;
        Ok(by_spec(rows))
    }

    /// The first `k` rows of `layer`'s `kind` view of the window of `spec` ending at `end`, each
    /// with its rank; `None` if the layer holds no such window.
    pub fn window(
        &self,
        layer: Layer,
        kind: ViewKind,
        spec: WindowSpec,
        end: EventTime,
        k: usize,
    ) -> mysql::Result<Option<ViewRows>> {
        let mut windows = self.windows_between(layer, kind, spec, end, end, k)?;
        Ok(windows.remove(&end))
    }

    /// The first `k` rows of each window of `layer`'s `kind` view of `spec` that ends in
    /// `from..=to`, by window end. A window the layer wrote with no rows in this view is there,
    /// empty.
    pub fn windows_between(
        &self,
        layer: Layer,
        kind: ViewKind,
        spec: WindowSpec,
        from: EventTime,
        to: EventTime,
        k: usize,
    ) -> mysql::Result<BTreeMap<EventTime, ViewRows>> {
        let mut conn = self.conn()?;
        let mut windows = read_windows(&mut conn, layer, kind, &spec.to_string(), from..=to, k)?;
        for end in written_between(&mut conn, layer, spec, from, to)? {
            windows.entry(end).or_insert_with(|| ViewRows::empty(kind));
        }
        Ok(windows)
    }

    /// `hashtag`'s rank and count in each window of `layer`'s view of `spec` ending in
    /// `from..=to` that the layer wrote: `None` where it is not among the top K.
    pub fn hashtag_between(
        &self,
        layer: Layer,
        spec: WindowSpec,
        hashtag: &str,
        from: EventTime,
        to: EventTime,
    ) -> mysql::Result<BTreeMap<EventTime, Option<(u64, u64)>>> {
        let mut conn = self.conn()?;
        let mut windows: BTreeMap<EventTime, Option<(u64, u64)>> =
            written_between(&mut conn, layer, spec, from, to)?.into_iter().map(|end| (end, None)).collect();
        let ranked: Vec<(EventTime, u64, u64)> = conn.exec(
            "SELECT window_end_ms, position, `count` FROM view_top_hashtags WHERE layer = ? AND window_spec = ? \
             AND hashtag = ? AND window_end_ms BETWEEN ? AND ?",
            (layer.name(), spec.to_string(), hashtag, from, to),
        )?;
        for (end, rank, count) in ranked {
            windows.insert(end, Some((rank, count)));
        }
        Ok(windows)
    }

    /// The tweets of `ids` the archive holds (the master dataset's `tweets` table).
    pub fn tweet_texts(&self, ids: &[u64]) -> mysql::Result<Vec<StoredText>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let query = format!(
            "SELECT tweet_id, tweet, language, created_at_ms FROM tweets WHERE tweet_id IN ({marks}) ORDER BY tweet_id"
        );
        let params: Vec<mysql::Value> = ids.iter().map(|id| mysql::Value::from(*id)).collect();
        self.conn()?.exec_map(
            query,
            params,
            |(tweet_id, text, language, created_at_ms): (u64, Option<String>, Option<String>, Option<EventTime>)| {
                StoredText {
                    tweet_id,
                    text: text.unwrap_or_default(),
                    language: language.unwrap_or_default(),
                    created_at_ms,
                }
            },
        )
    }
}

/// A tweet as the archive holds it, for showing the top tweets.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoredText {
    pub tweet_id: u64,
    pub text: String,
    pub language: String,
    pub created_at_ms: Option<EventTime>,
}

/// The ends of the windows of `spec` in `from..=to` that `layer` wrote. Every window that held a
/// tweet has a row in the languages view, so that view tells which were written.
fn written_between(
    conn: &mut impl Queryable,
    layer: Layer,
    spec: WindowSpec,
    from: EventTime,
    to: EventTime,
) -> mysql::Result<Vec<EventTime>> {
    conn.exec(
        "SELECT DISTINCT window_end_ms FROM view_languages WHERE layer = ? AND window_spec = ? \
         AND window_end_ms BETWEEN ? AND ? ORDER BY window_end_ms",
        (layer.name(), spec.to_string(), from, to),
    )
}

/// Rows of `(window spec, time)` by spec; a spec no version of trendflow writes is left out.
fn by_spec(rows: Vec<(String, EventTime)>) -> BTreeMap<WindowSpec, EventTime> {
    rows.into_iter().filter_map(|(spec, time)| Some((spec.parse().ok()?, time))).collect()
}
