//! The stored history: tweets out of MySQL in event-time order, for the batch layer.
//!
//! Each worker reads a share of its own, and the server reads each share apart: `tweets` carries
//! `share_bucket`, a hash of the id into [`SHARE_BUCKETS`] buckets, indexed with the event time
//! (`tweets_by_share`). Worker `w` of `n` reads the buckets `b` with `b % n == w`, so the server
//! examines only that share's rows: a second worker halves what each reads instead of reading
//! the history again (the hash once went into the `WHERE` clause of a walk of the whole time
//! index, and every worker's query examined every row).
//!
//! The index gives a bucket's rows in time order, but not a share's (its buckets interleave), and
//! asking the server to sort a share would hold back its first row until the whole share is
//! sorted. So a share is read in slices of event time, each a range scan per bucket of some
//! tens of thousands of rows, sorted here, in one consistent snapshot of the table. A lone
//! reader walks the time index instead, in the same slices.

use std::collections::HashSet;

use anyhow::{Context, Result};
use mysql::prelude::Queryable;
use mysql::Conn;
use trendflow_dataflows::{EventTime, Tweet};

use crate::harness::layer::{Push, Stopped};
use crate::limits::{check_tweet, graph_id, Misfit};
use crate::mysql::{explain, MysqlConfig};
use crate::source::seed_tweet::SeedTweet;
use crate::vocabulary::rejection::{Reason, RejectionKind};
use crate::vocabulary::report::batch::ShareRead;

/// How many buckets `tweets.share_bucket` hashes the ids into (the column is `CRC32(tweet_id) %
/// 256`; the schema holds the number too). Shares of up to this many readers are within one
/// bucket of each other in size.
pub const SHARE_BUCKETS: usize = 256;

/// Rows a slice of a share aims at: enough that a query's start costs little, few enough that a
/// slice held and sorted here costs a few megabytes.
const SLICE_ROWS: u64 = 20_000;

/// A stored tweet as the batch layer reads it: `tweet_id, tweet, created_at_ms, language,
/// user_id, retweet_of`.
pub type HistoryRow = (i64, Option<String>, i64, Option<String>, Option<i64>, Option<i64>);

/// Which part of the stored history one reader reads: reader `reader` of `readers` (the workers
/// of every process of a run, numbered across them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    pub reader: usize,
    pub readers: usize,
}

impl Share {
    /// The whole history, for one reader.
    pub const WHOLE: Share = Share { reader: 0, readers: 1 };

    /// The buckets of `tweets.share_bucket` this share holds: none for readers past
    /// [`SHARE_BUCKETS`].
    pub fn buckets(self) -> Vec<usize> {
        (self.reader..SHARE_BUCKETS).step_by(self.readers.max(1)).collect()
    }

    /// The query for this share's tweets of event times in `from..to`, and its parameters. Rows
    /// come in no particular order.
    pub fn slice_query(self, from: i64, to: i64) -> (String, Vec<mysql::Value>) {
        let columns = "tweet_id, tweet, created_at_ms, language, user_id, retweet_of";
        let mut params: Vec<mysql::Value> = Vec::new();
        let query = match self.readers {
            1 => format!(
                "SELECT {columns} FROM tweets FORCE INDEX (tweets_by_time) \
                 WHERE created_at_ms >= ? AND created_at_ms < ?"
            ),
            _ => {
                let buckets = self.buckets();
                params.extend(buckets.iter().map(|&bucket| mysql::Value::from(bucket as u64)));
                format!(
                    "SELECT {columns} FROM tweets FORCE INDEX (tweets_by_share) \
                     WHERE share_bucket IN ({}) AND created_at_ms >= ? AND created_at_ms < ?",
                    vec!["?"; buckets.len()].join(", ")
                )
            }
        };
        params.extend([from.into(), to.into()]);
        (query, params)
    }
}

/// Hands every tweet of `share` to `each`, in event-time order (ties in no fixed order), one
/// slice at a time: the share is never held in memory. Returns what the read took, the rows the
/// server examined for it among them.
///
/// A thread of its own reads, decodes and sorts the next slice while `each` takes this one, so
/// that the server is not left waiting while the graph takes a slice.
///
/// If the connection is lost (the server restarted), it reconnects, waiting as long as the
/// configuration allows, and reads on from the last event time it handed over, skipping the rows
/// of that time it handed over already: `each` sees every row once, in order. When `each` fails
/// with [`Stopped`], the read stops there.
pub fn read_share(
    config: &MysqlConfig,
    share: Share,
    mut each: impl FnMut(HistoryRow) -> Result<(), Stopped>,
) -> Result<ShareRead> {
    if share.buckets().is_empty() {
        log::warn!(
            "reader {} of {} has no share of the history: at most {SHARE_BUCKETS} readers read it",
            share.reader,
            share.readers
        );
        return Ok(ShareRead { reader: share.reader, rows: 0, rows_examined: 0 });
    }
    let (slices, taken) = crossbeam_channel::bounded::<Vec<HistoryRow>>(1);
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name(format!("history-{}", share.reader))
            .spawn_scoped(scope, move || read_slices(config, share, slices))
            .context("starting the history's reader")?;
        let mut rows = 0;
        let mut stopped = false;
        'slices: for slice in &taken {
            for row in slice {
                if each(row).is_err() {
                    stopped = true;
                    break 'slices;
                }
                rows += 1;
            }
        }
        // The reader's next hand-over fails: it stops.
        drop(taken);
        let examined = reader.join().map_err(|_| anyhow::anyhow!("the history's reader panicked"))??;
        match stopped {
            true => Err(Stopped.into()),
            false => Ok(ShareRead { reader: share.reader, rows, rows_examined: examined }),
        }
    })
}

/// Reads `share` slice by slice, in one consistent snapshot, and hands each slice, sorted and
/// without the rows handed over before a reconnection, to `slices`; stops early when nobody takes
/// them any more. Returns the rows the server examined.
fn read_slices(config: &MysqlConfig, share: Share, slices: crossbeam_channel::Sender<Vec<HistoryRow>>) -> Result<u64> {
    let mut conn = config.connect()?;
    let mut position = HistoryPosition::default();
    let mut examined = 0;
    config.retrying(&mut conn, "reading tweets for the batch layer", |conn| {
        // A share's buckets interleave in the table: the server fetches a slice's rows in the
        // table's order (a multi-range read) rather than bucket by bucket across the same pages.
        conn.query_drop(
            "SET SESSION optimizer_switch = 'mrr=on,mrr_sort_keys=on,mrr_cost_based=off', \
             mrr_buffer_size = 4194304",
        )?;
        let examined_before = rows_examined(conn)?;
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")?;
        let mut slicing = Slices::start(conn, position.last_time, share.readers)?;
        while let Some((from, to)) = slicing.next() {
            let mut rows: Vec<HistoryRow> = Vec::new();
            let (query, params) = share.slice_query(from, to);
            for row in conn.exec_iter(query, params)? {
                rows.push(mysql::from_row_opt(row?).map_err(|e| mysql::Error::FromRowError(e.0))?);
            }
            slicing.got(conn, rows.len() as u64)?;
            rows.sort_by_key(|row| row.2);
            rows.retain(|row| position.first_sighting(row.0, row.2));
            if slices.send(rows).is_err() {
                break;
            }
        }
        conn.query_drop("COMMIT")?;
        examined += rows_examined(conn)?.saturating_sub(examined_before);
        Ok(())
    })?;
    Ok(examined)
}

/// The rows this connection's session has examined so far, by MariaDB's handler counters: the
/// index entries a read stepped on and the rows a table scan read (reading the counters adds a
/// dozen). A row fetched by its position once its index entry was read (a multi-range read's
/// second step, `Handler_read_rnd`) is that entry's row, not another one examined.
fn rows_examined(conn: &mut Conn) -> mysql::Result<u64> {
    let examined: Option<u64> = conn.query_first(
        "SELECT SUM(variable_value) FROM information_schema.session_status \
         WHERE variable_name IN ('HANDLER_READ_FIRST', 'HANDLER_READ_KEY', 'HANDLER_READ_LAST', \
         'HANDLER_READ_NEXT', 'HANDLER_READ_PREV', 'HANDLER_READ_RND_NEXT')",
    )?;
    Ok(examined.unwrap_or(0))
}

/// The slices of event time a share is read in: each starts where the last ended (after one
/// without tweets, at the next stored tweet), and its length follows what the last held, aiming
/// at [`SLICE_ROWS`].
struct Slices {
    from: i64,
    last: i64,
    length: i64,
}

impl Slices {
    /// Slices of one of `readers` shares, from `from` (or the first stored tweet) to the last
    /// stored tweet. The first slice's length assumes the server's estimate of the table's rows
    /// spread evenly over the history.
    fn start(conn: &mut Conn, from: Option<i64>, readers: usize) -> mysql::Result<Slices> {
        let (first, last): (Option<i64>, Option<i64>) =
            conn.query_first("SELECT MIN(created_at_ms), MAX(created_at_ms) FROM tweets")?.unwrap_or((None, None));
        let estimated_rows: Option<u64> = conn.query_first(
            "SELECT table_rows FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'tweets'",
        )?;
        let (Some(from), Some(last)) = (from.or(first), last) else {
            // No stored tweet: no slice.
            return Ok(Slices { from: 0, last: -1, length: 1 });
        };
        let span = last.saturating_sub(from).saturating_add(1) as f64;
        let slices = estimated_rows.unwrap_or(0) as f64 / (SLICE_ROWS as f64 * readers as f64);
        Ok(Slices { from, last, length: (span / slices.max(1.0)).max(1.0) as i64 })
    }

    /// The next slice, `from..to`, if any is left.
    fn next(&mut self) -> Option<(i64, i64)> {
        if self.from > self.last {
            return None;
        }
        let to = self.from.saturating_add(self.length).min(self.last.saturating_add(1));
        Some((std::mem::replace(&mut self.from, to), to))
    }

    /// Adapts the next slice's length to the `rows` the last one held: at most four times longer
    /// or shorter, since the density of tweets changes along the history. After an empty slice,
    /// the next starts at the next stored tweet, so a gap in the history costs one query.
    fn got(&mut self, conn: &mut Conn, rows: u64) -> mysql::Result<()> {
        let scaled = self.length as f64 * SLICE_ROWS as f64 / rows.max(1) as f64;
        self.length = (scaled as i64).clamp((self.length / 4).max(1), self.length.saturating_mul(4));
        if rows == 0 && self.from <= self.last {
            let next: Option<i64> = conn
                .exec_first("SELECT MIN(created_at_ms) FROM tweets WHERE created_at_ms >= ?", (self.from,))?
                .flatten();
            self.from = next.unwrap_or(self.last.saturating_add(1));
        }
        Ok(())
    }
}

/// Pushes reader `reader`'s share (of `readers`) of the stored tweets into the graph, in
/// event-time order ([`read_share`]); returns what the read took.
///
/// A stored row that breaks the input rules ([`crate::limits`]; only something else than
/// trendflow can have written it) stays out, with a warning, as it would have at the edge.
pub fn push_history(config: &MysqlConfig, share: Share, push: &mut Push) -> Result<ShareRead> {
    let mut refused = 0u64;
    let read = read_share(config, share, |(id, text, created_at, lang, user_id, retweet_of)| {
        let Ok(created_at) = EventTime::try_from(created_at) else {
            let before_1970 = format!("created_at_ms {created_at} is before 1970");
            refuse(&mut refused, id, Reason::new(RejectionKind::InvalidDate, before_1970));
            return Ok(());
        };
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
        match tweet {
            Ok(tweet) => push(tweet),
            Err(misfit) => {
                refuse(&mut refused, id, misfit.into());
                Ok(())
            }
        }
    });
    if refused > 0 {
        log::warn!("{refused} stored tweets break the input rules and stay out of the batch views");
    }
    read
}

/// Notes a stored row the batch layer leaves out; the first few are shown.
fn refuse(refused: &mut u64, id: i64, reason: Reason) {
    *refused += 1;
    if *refused <= 10 {
        log::warn!("stored tweet {id} stays out of the batch views: {reason}");
    }
}

/// How far an ordered read of the history has got: enough to resume it with a new query.
#[derive(Default)]
struct HistoryPosition {
    last_time: Option<i64>,
    /// The ids read at `last_time`: the order among tweets of equal time is not fixed.
    ids_at_last_time: HashSet<i64>,
}

impl HistoryPosition {
    /// Records tweet `id` of event time `time`; false if it was read before.
    fn first_sighting(&mut self, id: i64, time: i64) -> bool {
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
/// streams them to `conn` (a connection, or a snapshot's transaction); stops early when `each`
/// returns `false`. Returns how many rows it handed over.
pub fn for_each_stored_row(
    conn: &mut impl Queryable,
    config: &MysqlConfig,
    each: impl FnMut(SeedTweet) -> Result<bool>,
) -> Result<u64> {
    for_each_row(conn, config, "created_at_ms IS NOT NULL ORDER BY created_at_ms, tweet_id", each)
}

/// Hands every stored row without an event time (`created_at_ms`) to `each`, by id, as
/// [`for_each_stored_row`] hands the others: rows another client wrote with the seed's columns
/// only, since `db init` last filled event times in.
pub fn for_each_row_without_event_time(
    conn: &mut impl Queryable,
    config: &MysqlConfig,
    each: impl FnMut(SeedTweet) -> Result<bool>,
) -> Result<u64> {
    for_each_row(conn, config, "created_at_ms IS NULL ORDER BY tweet_id", each)
}

/// Hands the rows of `tweets` that `condition` (a `WHERE` condition and its `ORDER BY`) picks to
/// `each`, until it returns `false`; a row whose ids break the input rules is left out, with a
/// warning.
fn for_each_row(
    conn: &mut impl Queryable,
    config: &MysqlConfig,
    condition: &str,
    mut each: impl FnMut(SeedTweet) -> Result<bool>,
) -> Result<u64> {
    let rows = conn
        .query_iter(format!(
            "SELECT tweet_id, tweet, date_time, language, user_id, retweet_of FROM tweets WHERE {condition}"
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_split_the_buckets_and_readers_past_them_get_none() {
        let shares: Vec<Vec<usize>> = (0..3).map(|reader| Share { reader, readers: 3 }.buckets()).collect();
        let mut all: Vec<usize> = shares.concat();
        all.sort_unstable();
        assert_eq!(all, (0..SHARE_BUCKETS).collect::<Vec<_>>());
        assert!(shares.iter().all(|buckets| buckets.len().abs_diff(SHARE_BUCKETS / 3) <= 1));
        assert!(Share { reader: SHARE_BUCKETS, readers: SHARE_BUCKETS + 1 }.buckets().is_empty());
    }
}
