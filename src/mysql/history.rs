//! The stored history: tweets out of MySQL in event-time order, for the batch layer.

use std::collections::HashSet;

use anyhow::{Context, Result};
use mysql::prelude::Queryable;
use trendflow_dataflows::{EventTime, Tweet};

use crate::harness::layer::{Push, Stopped};
use crate::limits::{check_tweet, graph_id, Misfit};
use crate::mysql::{explain, MysqlConfig};
use crate::source::seed_tweet::SeedTweet;
use crate::vocabulary::rejection::{Reason, RejectionKind};

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
///
/// A stored row that breaks the input rules ([`crate::limits`]; only something else than
/// trendflow can have written it) stays out, with a warning, as it would have at the edge. Once
/// the run stops taking tweets, the query is killed rather than read to its end.
pub fn push_history(config: &MysqlConfig, worker: usize, peers: usize, push: &mut Push) -> Result<u64> {
    let mut conn = config.connect()?;
    let mut read = HistoryPosition::default();
    let mut stopped = false;
    let (mut pushed, mut refused) = (0u64, 0u64);
    config.retrying(&mut conn, "reading tweets for the batch layer", |conn| {
        let connection_id = conn.connection_id();
        let (query, params) = history_query(worker, peers, read.last_time);
        let rows = conn.exec_iter(query, params)?;
        for row in rows {
            let (id, text, created_at, lang, user_id, retweet_of): HistoryRow =
                mysql::from_row_opt(row?).map_err(|e| mysql::Error::FromRowError(e.0))?;
            let Ok(created_at) = EventTime::try_from(created_at) else {
                let before_1970 = format!("created_at_ms {created_at} is before 1970");
                refuse(&mut refused, id, Reason::new(RejectionKind::InvalidDate, before_1970));
                continue;
            };
            if !read.first_sighting(id, created_at) {
                continue;
            }
            let tweet = (|| {
                let tweet = Tweet {
                    id: graph_id("tweet_id", id)?,
                    text: text.unwrap_or_default(),
                    created_at,
                    lang: lang.filter(|lang| !lang.is_empty()).unwrap_or_else(|| "und".into()),
                    user_id: user_id.map(|id| graph_id("user_id", id)).transpose()?,
                    retweet_of: retweet_of.map(|id| graph_id("retweet_of", id)).transpose()?,
                };
                check_tweet(&tweet).map(|()| tweet)
            })();
            match tweet.map(&mut *push) {
                Ok(Ok(())) => pushed += 1,
                Ok(Err(Stopped)) => {
                    stopped = true;
                    kill_query(config, connection_id);
                    break;
                }
                Err(misfit) => refuse(&mut refused, id, misfit.into()),
            }
        }
        Ok(())
    })?;
    if refused > 0 {
        log::warn!("{refused} stored tweets break the input rules and stay out of the batch views");
    }
    if stopped {
        return Err(Stopped.into());
    }
    Ok(pushed)
}

/// Notes a stored row the batch layer leaves out; the first few are shown.
fn refuse(refused: &mut u64, id: i64, reason: Reason) {
    *refused += 1;
    if *refused <= 10 {
        log::warn!("stored tweet {id} stays out of the batch views: {reason}");
    }
}

/// Asks the server to stop a query whose rows are no longer wanted: dropping an unfinished result
/// would otherwise read the rest of it, the whole history, before the connection is free.
fn kill_query(config: &MysqlConfig, connection_id: u32) {
    let killed = config
        .connect()
        .and_then(|mut conn| conn.query_drop(format!("KILL QUERY {connection_id}")).map_err(|e| explain(e, config)));
    if let Err(error) = killed {
        log::debug!("stopping the history query: {error:#}");
    }
}

/// How far an ordered read of the history has got: enough to resume it with a new query.
#[derive(Default)]
struct HistoryPosition {
    last_time: Option<EventTime>,
    /// The ids pushed at `last_time`: the order among tweets of equal time is not fixed.
    ids_at_last_time: HashSet<i64>,
}

impl HistoryPosition {
    /// Records tweet `id` of event time `time`; false if it was read before.
    fn first_sighting(&mut self, id: i64, time: EventTime) -> bool {
        if self.last_time != Some(time) {
            self.last_time = Some(time);
            self.ids_at_last_time.clear();
        }
        self.ids_at_last_time.insert(id)
    }
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
        let ids = (|| {
            Ok::<_, Misfit>((
                graph_id("tweet_id", tweet_id)?,
                user_id.map(|id| graph_id("user_id", id)).transpose()?,
                retweet_of.map(|id| graph_id("retweet_of", id)).transpose()?,
            ))
        })();
        let (tweet_id, user_id, retweet_of) = match ids {
            Ok(ids) => ids,
            Err(reason) => {
                log::warn!("stored tweet {tweet_id} is left out: {reason}");
                continue;
            }
        };
        let row = SeedTweet { tweet_id, tweet, date_time, language, user_id, retweet_of };
        handed += 1;
        if !each(row)? {
            break;
        }
    }
    Ok(handed)
}
