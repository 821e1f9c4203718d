//! The schema: `trendflow db init` creates it or brings an older one up to date (the seed's dump
//! loaded by the mysql client, an earlier trendflow), and every job checks it before its work.

use anyhow::{bail, Context, Result};
use mysql::prelude::Queryable;
use mysql::Conn;

use super::checkpoints::migrate_consumer_names;
use super::connection::{explain, MysqlConfig};
use super::event_times;
use super::views::RENAMED_COLUMNS;

/// Columns added to existing tables, as `(table, column, definition)`: trendflow's own on the
/// seed's `tweets` table, and those later versions added to trendflow's tables. All nullable or
/// computed, so rows written before stay valid, and the seed's dump, whose inserts name their
/// columns, still loads.
const ADDED_COLUMNS: [(&str, &str, &str); 6] = [
    ("tweets", "created_at_ms", "bigint(20) DEFAULT NULL"),
    ("tweets", "user_id", "bigint(20) DEFAULT NULL"),
    ("tweets", "retweet_of", "bigint(20) DEFAULT NULL"),
    ("tweets", "ingested_at_ms", "bigint(20) DEFAULT NULL"),
    // The batch layer's shares (`mysql::history::SHARE_BUCKETS` buckets): computed, not stored.
    ("tweets", "share_bucket", "tinyint(3) unsigned AS (crc32(`tweet_id`) % 256) VIRTUAL"),
    ("source_offsets", "handled_to", "bigint(20) DEFAULT NULL AFTER `next_offset`"),
];

/// Indexes of the seed's `tweets` table, as `(name, columns)`: the event time, which the batch
/// layer reads in order, and each share's buckets by event time, which a reader of a share reads
/// without stepping on the other shares' rows.
const TWEET_INDEXES: [(&str, &str); 2] =
    [("tweets_by_time", "`created_at_ms`"), ("tweets_by_share", "`share_bucket`, `created_at_ms`")];

/// Columns of the seed's tables widened so that what the input rules accept fits, as
/// `(table, column, type, definition)`: the seed's `TEXT` holds 64 KiB of a tweet's text, long
/// posts hold more ([`crate::limits::MAX_TEXT_BYTES`]).
pub const WIDENED_COLUMNS: [(&str, &str, &str, &str); 1] =
    [("tweets", "tweet", "mediumtext", "mediumtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL")];

/// Creates the database and schema, or brings an existing one (the seed's dump loaded by the
/// mysql client, an older trendflow) up to date, and fills in event times still missing. Safe to
/// run any number of times.
pub fn init(config: &MysqlConfig) -> Result<InitReport> {
    let mut server = config.connect_to_server()?;
    server
        .query_drop(format!("CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4", config.database()))
        .map_err(|e| explain(e, config))?;
    drop(server);
    let mut conn = config.connect()?;
    // Earlier versions created `source_offsets` without `rebuild_from_ms` and never wrote to it.
    if has_column(&mut conn, config, "source_offsets", "consumer")?
        && !has_column(&mut conn, config, "source_offsets", "rebuild_from_ms")?
    {
        conn.query_drop("DROP TABLE `source_offsets`").map_err(|e| explain(e, config))?;
    }
    let schema = strip_comments(include_str!("../../sql/schema.sql"));
    for statement in schema.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        conn.query_drop(statement).map_err(|e| explain(e, config)).context("applying sql/schema.sql")?;
    }
    for (table, column, definition) in ADDED_COLUMNS {
        if !has_column(&mut conn, config, table, column)? {
            conn.query_drop(format!("ALTER TABLE `{table}` ADD COLUMN `{column}` {definition}"))
                .map_err(|e| explain(e, config))?;
        }
    }
    for (table, old, new, definition) in RENAMED_COLUMNS {
        if has_column(&mut conn, config, table, old)? {
            conn.query_drop(format!("ALTER TABLE `{table}` CHANGE COLUMN `{old}` `{new}` {definition}"))
                .map_err(|e| explain(e, config))?;
        }
    }
    for (table, column, widened, definition) in WIDENED_COLUMNS {
        if column_type(&mut conn, config, table, column)?.as_deref() != Some(widened) {
            conn.query_drop(format!("ALTER TABLE `{table}` MODIFY COLUMN `{column}` {definition}"))
                .map_err(|e| explain(e, config))?;
        }
    }
    let streams_renamed = migrate_consumer_names(&mut conn, config)?;
    for (index, columns) in TWEET_INDEXES {
        if !has_tweet_index(&mut conn, config, index)? {
            conn.query_drop(format!("CREATE INDEX `{index}` ON `tweets` ({columns})"))
                .map_err(|e| explain(e, config))?;
        }
    }
    Ok(InitReport { streams_renamed, ..event_times::fill_missing(&mut conn, config)? })
}

/// What `init` found to repair.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct InitReport {
    /// Rows whose event time was filled in from `date_time`.
    pub event_times_filled: u64,
    /// Rows whose `date_time` could not be read, with the reason (first few).
    pub unreadable: Vec<String>,
    pub unreadable_count: u64,
    /// Streams whose stored positions were renamed from an earlier version's name for their views.
    pub streams_renamed: usize,
}

/// The schema file without its `--` comment lines (which may hold semicolons).
fn strip_comments(statement: &str) -> String {
    statement
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

fn has_tweet_index(conn: &mut Conn, config: &MysqlConfig, index: &str) -> Result<bool> {
    let found: Option<String> = conn
        .exec_first(
            "SELECT index_name FROM information_schema.statistics WHERE table_schema = ? AND table_name = 'tweets' AND index_name = ?",
            (config.database(), index),
        )
        .map_err(|e| explain(e, config))?;
    Ok(found.is_some())
}

fn has_column(conn: &mut Conn, config: &MysqlConfig, table: &str, column: &str) -> Result<bool> {
    let found: Option<String> = conn
        .exec_first(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = ?",
            (config.database(), table, column),
        )
        .map_err(|e| explain(e, config))?;
    Ok(found.is_some())
}

/// The data type of `table.column` (such as `text`), if the column exists.
pub fn column_type(conn: &mut Conn, config: &MysqlConfig, table: &str, column: &str) -> Result<Option<String>> {
    conn.exec_first(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = ?",
        (config.database(), table, column),
    )
    .map_err(|e| explain(e, config))
}

impl InitReport {
    pub(super) fn note_unreadable(&mut self, reason: String) {
        self.unreadable_count += 1;
        if self.unreadable.len() < 5 {
            self.unreadable.push(reason);
        }
    }
}

/// Fails with "run trendflow db init" unless the schema, with trendflow's columns, is in place.
pub fn check_schema(config: &MysqlConfig) -> Result<()> {
    const OUT_OF_DATE: &str = "the schema is missing or out of date: run trendflow db init";
    let mut conn = config.connect()?;
    conn.query_drop("SELECT created_at_ms, ingested_at_ms, share_bucket FROM tweets LIMIT 0")
        .and_then(|()| conn.query_drop("SELECT layer FROM view_top_hashtags LIMIT 0"))
        .and_then(|()| conn.query_drop("SELECT handled_to FROM source_offsets LIMIT 0"))
        .and_then(|()| conn.query_drop("SELECT published_before_ms FROM stream_progress LIMIT 0"))
        .and_then(|()| conn.query_drop("SELECT boundary_ms FROM batch_runs LIMIT 0"))
        .and_then(|()| conn.query_drop("SELECT beat_ms FROM stream_heartbeats LIMIT 0"))
        .and_then(|()| conn.query_drop("SELECT binlog_position FROM capture_positions LIMIT 0"))
        .map_err(|e| explain(e, config))
        .context(OUT_OF_DATE)?;
    for (index, _) in TWEET_INDEXES {
        if !has_tweet_index(&mut conn, config, index)? {
            bail!("{OUT_OF_DATE}: the index {index} of tweets is missing");
        }
    }
    for (table, column, widened, _) in WIDENED_COLUMNS {
        let found = column_type(&mut conn, config, table, column)?;
        if found.as_deref() != Some(widened) {
            bail!("{OUT_OF_DATE}: {table}.{column} is {}, not {widened}", found.unwrap_or_else(|| "missing".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_bucket_column_hashes_into_as_many_buckets_as_the_readers_share() {
        let (_, _, definition) = ADDED_COLUMNS.iter().find(|(_, column, _)| *column == "share_bucket").unwrap();
        let buckets = crate::mysql::history::SHARE_BUCKETS;
        assert!(definition.contains(&format!("% {buckets})")), "{definition}");
    }

    #[test]
    fn schema_statements_lose_their_comments() {
        assert_eq!(
            strip_comments("-- a comment; with a semicolon\nCREATE TABLE x (a int)\n"),
            "CREATE TABLE x (a int)"
        );
    }
}
