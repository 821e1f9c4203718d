//! The view tables as the serving layer reads them: the batch runs' boundaries, the speed
//! layer's latest final windows, and one window's rows, shaped as the ranking topics shape them.

use std::collections::BTreeMap;

use mysql::prelude::Queryable;
use mysql::Pool;
use serde_json::{json, Value};
use trendflow_dataflows::EventTime;

use crate::sink::mysql::{Layer, ViewKind};

/// Reads views through a pool of connections: one per request at a time, opened on demand.
#[derive(Clone)]
pub struct ViewStore {
    pool: Pool,
}

impl ViewStore {
    pub fn new(pool: Pool) -> Self {
        ViewStore { pool }
    }

    /// Whether the server answers.
    pub fn ping(&self) -> mysql::Result<()> {
        self.pool.get_conn()?.query_drop("SELECT 1")
    }

    /// The latest complete batch run's boundary, per window spec.
    pub fn boundaries(&self) -> mysql::Result<BTreeMap<String, EventTime>> {
        let rows: Vec<(String, EventTime)> = self.pool.get_conn()?.query(
            "SELECT r.window_spec, r.boundary_ms FROM batch_runs r \
             JOIN (SELECT window_spec, MAX(run_id) AS run_id FROM batch_runs GROUP BY window_spec) latest \
             ON r.run_id = latest.run_id",
        )?;
        Ok(rows.into_iter().collect())
    }

    /// The end of the latest window the speed layer wrote as final, per window spec.
    pub fn speed_finals(&self) -> mysql::Result<BTreeMap<String, EventTime>> {
        let rows: Vec<(String, EventTime)> = self.pool.get_conn()?.exec(
            "SELECT window_spec, MAX(window_end_ms) FROM view_top_hashtags WHERE layer = ? GROUP BY window_spec",
            (Layer::Speed.name(),),
        )?;
        Ok(rows.into_iter().collect())
    }

    /// The first `k` rows of `layer`'s `kind` view of the window of `spec` ending at `end`, each
    /// with its rank; `None` if the layer holds no such window.
    pub fn window(
        &self,
        layer: Layer,
        kind: ViewKind,
        spec: &str,
        end: EventTime,
        k: usize,
    ) -> mysql::Result<Option<Vec<Value>>> {
        let (table, columns) = kind.table();
        let query = format!(
            "SELECT position, {} FROM `{table}` WHERE layer = ? AND window_spec = ? AND window_end_ms = ? \
             ORDER BY position LIMIT ?",
            columns.join(", ")
        );
        let params = (layer.name(), spec, end, k as u64);
        let mut conn = self.pool.get_conn()?;
        let rows: Vec<Value> = match kind {
            ViewKind::Hashtags => conn
                .exec_map(query, params, |(rank, hashtag, count): (u64, String, u64)| {
                    json!({ "rank": rank, "hashtag": hashtag, "count": count })
                })?,
            ViewKind::Tweets => conn.exec_map(
                query,
                params,
                |(rank, tweet_id, retweets, hashtags): (u64, u64, u64, u64)| {
                    json!({ "rank": rank, "tweet_id": tweet_id, "retweets": retweets, "hashtags": hashtags })
                },
            )?,
            ViewKind::Languages => conn
                .exec_map(query, params, |(rank, lang, count): (u64, String, u64)| {
                    json!({ "rank": rank, "lang": lang, "count": count })
                })?,
        };
        if !rows.is_empty() {
            return Ok(Some(rows));
        }
        // A window with no rows at all, or one the layer never wrote: only the hashtag view is
        // told apart, as every written window has a row in some view.
        let written: Option<u64> = conn.exec_first(
            "SELECT 1 FROM view_languages WHERE layer = ? AND window_spec = ? AND window_end_ms = ? LIMIT 1",
            (layer.name(), spec, end),
        )?;
        Ok(written.map(|_| Vec::new()))
    }
}
