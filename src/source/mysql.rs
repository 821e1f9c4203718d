//! The stored history: tweets out of MySQL in event-time order, for the batch layer.

use anyhow::{Context, Result};
use mysql::prelude::Queryable;
use trendflow_dataflows::Tweet;

use crate::db::{explain, MysqlConfig};
use crate::source::seed_tweet::SeedTweet;

/// A stored tweet as the batch layer reads it: `tweet_id, tweet, created_at_ms, language,
/// user_id, retweet_of`.
pub type HistoryRow = (i64, Option<String>, i64, Option<String>, Option<i64>, Option<i64>);

/// The query for worker `worker`'s share (of `peers`) of the stored tweets, in event-time order,
/// and its parameters. Shares go by a hash of the id: raw ids are no good, since snowflake ids
/// carry sequence bits that are mostly zero (every generated id is even, as are most real ones).
pub fn history_query(worker: usize, peers: usize) -> (String, Vec<mysql::Value>) {
    let columns = "SELECT tweet_id, tweet, created_at_ms, language, user_id, retweet_of FROM tweets \
                   WHERE created_at_ms IS NOT NULL";
    match peers {
        1 => (format!("{columns} ORDER BY created_at_ms"), Vec::new()),
        _ => (
            format!("{columns} AND MOD(CRC32(tweet_id), ?) = ? ORDER BY created_at_ms"),
            vec![(peers as u64).into(), (worker as u64).into()],
        ),
    }
}

/// Pushes worker `worker`'s share (of `peers`) of the stored tweets, in event-time order, as the
/// server streams them: the history is never held in memory. Returns how many tweets it pushed.
pub fn push_history(config: &MysqlConfig, worker: usize, peers: usize, push: &mut dyn FnMut(Tweet)) -> Result<u64> {
    let mut conn = config.connect()?;
    let (query, params) = history_query(worker, peers);
    let rows =
        conn.exec_iter(query, params).map_err(|e| explain(e, config)).context("reading tweets for the batch layer")?;
    let mut pushed = 0;
    for row in rows {
        let row = row.map_err(|e| explain(e, config)).context("reading tweets for the batch layer")?;
        let (id, text, created_at, lang, user_id, retweet_of): HistoryRow =
            mysql::from_row_opt(row).context("a row of tweets has unexpected column types")?;
        push(Tweet {
            id: id as u64,
            text: text.unwrap_or_default(),
            created_at: created_at as u64,
            lang: lang.filter(|lang| !lang.is_empty()).unwrap_or_else(|| "und".into()),
            user_id: user_id.map(|id| id as u64),
            retweet_of: retweet_of.map(|id| id as u64),
        });
        pushed += 1;
    }
    Ok(pushed)
}

/// Fails with "run trendflow db init" unless the schema, with trendflow's columns, is in place.
pub fn check_schema(config: &MysqlConfig) -> Result<()> {
    let mut conn = config.connect()?;
    conn.query_drop("SELECT created_at_ms FROM tweets LIMIT 0")
        .and_then(|()| conn.query_drop("SELECT layer FROM view_top_hashtags LIMIT 0"))
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
