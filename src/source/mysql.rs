//! The stored history: tweets out of MySQL in event-time order, for the batch layer.

use std::collections::HashSet;

use anyhow::{Context, Result};
use mysql::prelude::Queryable;
use trendflow_dataflows::{EventTime, Tweet};

use crate::db::{explain, MysqlConfig};
use crate::source::seed_tweet::SeedTweet;

/// A stored tweet as the batch layer reads it: `tweet_id, tweet, created_at_ms, language,
/// user_id, retweet_of`.
pub type HistoryRow = (i64, Option<String>, i64, Option<String>, Option<i64>, Option<i64>);

/// The query for worker `worker`'s share (of `peers`) of the stored tweets, in event-time order,
/// from event time `from` on, and its parameters. Shares go by a hash of the id: raw ids are no
/// good, since snowflake ids carry sequence bits that are mostly zero (every generated id is
/// even, as are most real ones).
///
/// The query walks the event-time index. Left to itself, the server prefers to read the table and
/// sort it (a filesort): the first row then comes only after the whole history is sorted (a
/// second for a million tweets, temporary files for ten million), while the graph waits.
pub fn history_query(worker: usize, peers: usize, from: Option<EventTime>) -> (String, Vec<mysql::Value>) {
    let mut query = String::from(
        "SELECT tweet_id, tweet, created_at_ms, language, user_id, retweet_of \
         FROM tweets FORCE INDEX (tweets_by_time) WHERE created_at_ms IS NOT NULL",
    );
    let mut params: Vec<mysql::Value> = Vec::new();
    if peers > 1 {
        query.push_str(" AND MOD(CRC32(tweet_id), ?) = ?");
        params.extend([(peers as u64).into(), (worker as u64).into()]);
    }
    if let Some(from) = from {
        query.push_str(" AND created_at_ms >= ?");
        params.push(from.into());
    }
    query.push_str(" ORDER BY created_at_ms");
    (query, params)
}

/// Pushes worker `worker`'s share (of `peers`) of the stored tweets, in event-time order, as the
/// server streams them: the history is never held in memory. Returns how many tweets it pushed.
///
/// If the connection is lost (the server restarted), it reconnects, waiting as long as the
/// configuration allows, and reads on from the last event time it pushed, skipping the tweets of
/// that time it pushed already: the graph sees every tweet once, in order.
pub fn push_history(config: &MysqlConfig, worker: usize, peers: usize, push: &mut dyn FnMut(Tweet)) -> Result<u64> {
    let mut conn = config.connect()?;
    let mut read = HistoryPosition::default();
    config.retrying(&mut conn, "reading tweets for the batch layer", |conn| {
        let (query, params) = history_query(worker, peers, read.last_time);
        for row in conn.exec_iter(query, params)? {
            let (id, text, created_at, lang, user_id, retweet_of): HistoryRow =
                mysql::from_row_opt(row?).map_err(|e| mysql::Error::FromRowError(e.0))?;
            if !read.first_sighting(id, created_at as EventTime) {
                continue;
            }
            push(Tweet {
                id: id as u64,
                text: text.unwrap_or_default(),
                created_at: created_at as u64,
                lang: lang.filter(|lang| !lang.is_empty()).unwrap_or_else(|| "und".into()),
                user_id: user_id.map(|id| id as u64),
                retweet_of: retweet_of.map(|id| id as u64),
            });
        }
        Ok(())
    })?;
    Ok(read.pushed)
}

/// How far an ordered read of the history has got: enough to resume it with a new query.
#[derive(Default)]
struct HistoryPosition {
    pushed: u64,
    last_time: Option<EventTime>,
    /// The ids pushed at `last_time`: the order among tweets of equal time is not fixed.
    ids_at_last_time: HashSet<i64>,
}

impl HistoryPosition {
    /// Records tweet `id` of event time `time`; false if it was pushed before.
    fn first_sighting(&mut self, id: i64, time: EventTime) -> bool {
        if self.last_time != Some(time) {
            self.last_time = Some(time);
            self.ids_at_last_time.clear();
        }
        let first = self.ids_at_last_time.insert(id);
        self.pushed += u64::from(first);
        first
    }
}

/// Fails with "run trendflow db init" unless the schema, with trendflow's columns, is in place.
pub fn check_schema(config: &MysqlConfig) -> Result<()> {
    let mut conn = config.connect()?;
    conn.query_drop("SELECT created_at_ms FROM tweets LIMIT 0")
        .and_then(|()| conn.query_drop("SELECT layer FROM view_top_hashtags LIMIT 0"))
        .and_then(|()| conn.query_drop("SELECT handled_to FROM source_offsets LIMIT 0"))
        .and_then(|()| conn.query_drop("SELECT published_before_ms FROM stream_progress LIMIT 0"))
        .map_err(|e| explain(e, config))
        .context("the schema is missing or out of date: run trendflow db init")
}

/// `tweet_id, tweet, date_time, language, user_id, retweet_of` as stored.
type StoredRow = (i64, Option<String>, Option<String>, Option<String>, Option<i64>, Option<i64>);

/// Hands every stored tweet, as its row, to `each` in event-time order (ties by id), as the server
/// streams them; stops early when `each` returns `false`. Returns how many rows it handed over.
pub fn for_each_stored_row(config: &MysqlConfig, mut each: impl FnMut(SeedTweet) -> Result<bool>) -> Result<u64> {
    let mut conn = config.connect()?;
    let rows = conn
        .query_iter(
            "SELECT tweet_id, tweet, date_time, language, user_id, retweet_of FROM tweets \
             WHERE created_at_ms IS NOT NULL ORDER BY created_at_ms, tweet_id",
        )
        .map_err(|e| explain(e, config))
        .context("reading stored tweets")?;
    let mut handed = 0;
    for row in rows {
        let row = row.map_err(|e| explain(e, config)).context("reading stored tweets")?;
        let (tweet_id, tweet, date_time, language, user_id, retweet_of): StoredRow =
            mysql::from_row_opt(row).context("a row of tweets has unexpected column types")?;
        let row = SeedTweet {
            tweet_id: tweet_id as u64,
            tweet,
            date_time,
            language,
            user_id: user_id.map(|id| id as u64),
            retweet_of: retweet_of.map(|id| id as u64),
        };
        handed += 1;
        if !each(row)? {
            break;
        }
    }
    Ok(handed)
}
