//! MariaDB's binary log, read as a replica reads it, for change capture (`produce --follow`):
//! what the server must be set up with ([`check_server`]), where a consistent snapshot of the
//! tables sits in the log ([`Snapshot`]), and the committed changes to `tweets` after a position
//! ([`TweetChanges`]).
//!
//! Rows are read by their column names, which the log carries with `binlog_row_metadata = FULL`:
//! a column someone adds to `tweets`, anywhere in the table, changes nothing for the follower.
//!
//! **Writes marked `skip_replication` are not followed.** MariaDB marks every event of a session
//! that set `@@skip_replication` (its own way to break replication loops); the stream's archive
//! sets it ([`MysqlConfig::unfollowed`]), because what it archives came from the `tweets` topic
//! already, and followed it would go round again.

use std::fmt;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mysql::binlog::events::{EventData, RowsEventData};
use mysql::binlog::row::BinlogRow;
use mysql::binlog::value::BinlogValue;
use mysql::prelude::Queryable;
use mysql::{BinlogRequest, BinlogStream, Conn, TxOpts, Value};
use serde::{Deserialize, Serialize};

use crate::limits::graph_id;
use crate::mysql::connection::is_connection_lost;
use crate::mysql::{explain, MysqlConfig};
use crate::source::seed_tweet::SeedTweet;
use crate::vocabulary::rejection::{Reason, RejectionKind};

/// A place in the server's binary log: a file and a byte offset in it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BinlogPosition {
    pub file: String,
    pub position: u64,
}

impl fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.position)
    }
}

/// The flag MariaDB sets on the events of a session with `@@skip_replication = 1`
/// (`LOG_EVENT_SKIP_REPLICATION_F`).
const SKIP_REPLICATION_FLAG: u16 = 0x8000;

/// The server's error for a dump from a position it does not have (purged, or never written).
const ER_MASTER_FATAL_ERROR_READING_BINLOG: u16 = 1236;
/// Access denied for want of a privilege (here REPLICATION SLAVE).
const ER_SPECIFIC_ACCESS_DENIED: u16 = 1227;

/// How often the server says it is there while it has nothing to send, and how long a silence
/// means it is gone: a host that vanishes closes no connection.
const HEARTBEAT: Duration = Duration::from_secs(1);
const SILENCE_LIMIT: Duration = Duration::from_secs(10);

/// The server settings change capture needs, as `(variable, value needed)`.
const REQUIRED_SETTINGS: [(&str, &str); 4] =
    [("log_bin", "ON"), ("binlog_format", "ROW"), ("binlog_row_image", "FULL"), ("binlog_row_metadata", "FULL")];

/// What to do about a server without the settings change capture needs.
const SETUP_FIX: &str = "In the server's configuration, under [mariadbd]: log_bin, server_id = 1, \
    binlog_format = ROW, binlog_row_image = FULL, binlog_row_metadata = FULL; then restart it \
    (scripts/mysql.sh does all of this for the server it manages). All but log_bin can also be set on a \
    running server: SET GLOBAL binlog_format = 'ROW'; SET GLOBAL binlog_row_image = 'FULL'; \
    SET GLOBAL binlog_row_metadata = 'FULL'; (sessions opened before keep the old values)";

/// Fails, saying what is missing and the statements that fix it, unless the server writes the
/// binary log change capture reads: row-based, with full row images and column names.
pub fn check_server(conn: &mut Conn, config: &MysqlConfig) -> Result<()> {
    let mut missing = Vec::new();
    for (variable, needed) in REQUIRED_SETTINGS {
        let value: Option<String> = conn
            .query_first(format!("SELECT @@GLOBAL.{variable}"))
            .map_err(|e| explain(e, config))
            .with_context(|| format!("reading the server's {variable}"))?;
        let value = match (variable, value.as_deref()) {
            ("log_bin", Some("1")) => "ON".to_string(),
            ("log_bin", Some("0")) => "OFF".to_string(),
            (_, value) => value.unwrap_or("unset").to_string(),
        };
        if !value.eq_ignore_ascii_case(needed) {
            missing.push(format!("{variable} is {value}, not {needed}"));
        }
    }
    match missing.is_empty() {
        true => Ok(()),
        false => bail!("{config}: the server is not set up for change capture: {}. {SETUP_FIX}", missing.join(", ")),
    }
}

/// A read-only transaction that sees the tables as they were at one point of the binary log,
/// and that point: rows committed before it are in the snapshot, rows committed after it in the
/// log from it on, and none in both.
pub struct Snapshot<'c> {
    pub transaction: mysql::Transaction<'c>,
    pub position: BinlogPosition,
}

impl<'c> Snapshot<'c> {
    /// Starts the snapshot on `conn`. MariaDB tells the log position of a consistent snapshot in
    /// `binlog_snapshot_file` and `binlog_snapshot_position`, without locking anything.
    pub fn start(conn: &'c mut Conn, config: &MysqlConfig) -> Result<Self> {
        let options =
            TxOpts::default().set_with_consistent_snapshot(true).set_access_mode(Some(mysql::AccessMode::ReadOnly));
        let mut transaction = conn
            .start_transaction(options)
            .map_err(|e| explain(e, config))
            .context("starting a consistent snapshot")?;
        let status: Vec<(String, String)> = transaction
            .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
            .map_err(|e| explain(e, config))
            .context("reading the snapshot's binary log position")?;
        let value = |name: &str| {
            status.iter().find(|(variable, _)| variable.eq_ignore_ascii_case(name)).map(|(_, value)| value.clone())
        };
        let file = value("binlog_snapshot_file").filter(|file| !file.is_empty());
        let position = value("binlog_snapshot_position").and_then(|position| position.parse().ok());
        match (file, position) {
            (Some(file), Some(position)) => Ok(Snapshot { transaction, position: BinlogPosition { file, position } }),
            _ => bail!("{config}: the server tells no binary log position for a snapshot; is log_bin on? {SETUP_FIX}"),
        }
    }
}

/// A tweet row as the log holds it, by column name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedTweet {
    /// The row as the seed's producer would send it.
    pub row: SeedTweet,
    /// Whether its event time (`created_at_ms`) is stored: a row an application wrote with the
    /// seed's columns only has none yet.
    pub has_event_time: bool,
}

/// One change to `tweets` that a committed transaction made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TweetChange {
    /// A row inserted, or updated (its new values), or the reason it is no tweet, with the row's
    /// values as far as they could be read, for the dead letter.
    Written(Result<LoggedTweet, (Reason, String)>),
    /// A row deleted. Tweets are immutable in trendflow: a delete is counted, and not followed.
    Deleted,
}

/// What the log held next.
#[derive(Debug)]
pub enum Followed {
    /// A committed transaction that changed `tweets`, and the position after it.
    Committed { changes: Vec<TweetChange>, after: BinlogPosition },
    /// Nothing for a while: the server said it is there, with nothing to send.
    Idle,
}

/// The committed changes to one database's `tweets` table, read from the binary log from a
/// position on, transaction by transaction. A lost connection (the server restarting) is
/// replaced, waiting as `--mysql-wait` allows, and reading resumes after the last whole
/// transaction: one cut in half is read again from its start.
pub struct TweetChanges {
    config: MysqlConfig,
    server_id: u32,
    /// After the last whole transaction read.
    position: BinlogPosition,
    /// The log file being read (a transaction's position names it).
    file: String,
    stream: Option<BinlogStream>,
    /// Whether this connection's stream has described its events' format yet.
    described: bool,
    /// The changes of the transaction being read.
    pending: Vec<TweetChange>,
}

impl TweetChanges {
    /// Reads the changes committed after `position`, registered with the server as replica
    /// `server_id` (a second reader with the same id makes the server drop the first).
    pub fn new(config: &MysqlConfig, server_id: u32, position: BinlogPosition) -> Self {
        TweetChanges {
            config: config.clone(),
            server_id,
            file: position.file.clone(),
            position,
            stream: None,
            described: false,
            pending: Vec::new(),
        }
    }

    /// After the last whole transaction read.
    pub fn position(&self) -> &BinlogPosition {
        &self.position
    }

    /// The next committed transaction that changed `tweets`, or [`Followed::Idle`] once the
    /// server has had nothing to send for a moment.
    pub fn next_committed(&mut self) -> Result<Followed> {
        loop {
            if self.stream.is_none() {
                self.stream = Some(self.open()?);
                self.described = false;
            }
            let Some(stream) = self.stream.as_mut() else { continue };
            let event = match stream.next() {
                Some(Ok(event)) => event,
                Some(Err(error)) if is_connection_lost(&error) => {
                    log::warn!("{}: the binary log's connection is lost ({error}); reconnecting", self.config);
                    self.reopen();
                    continue;
                }
                Some(Err(mysql::Error::MySqlError(error))) if error.code == ER_MASTER_FATAL_ERROR_READING_BINLOG => {
                    bail!(
                        "{}: the server cannot send its binary log from {} ({}): it was purged, or the server's \
                         logs were reset, so changes made since may never reach the stream. Start again from a \
                         new snapshot: trendflow produce --follow --resnapshot",
                        self.config,
                        self.position,
                        error.message
                    )
                }
                Some(Err(mysql::Error::MySqlError(error))) if error.code == ER_SPECIFIC_ACCESS_DENIED => bail!(
                    "{}: reading the binary log is not allowed ({}): grant the user REPLICATION SLAVE, such as \
                     GRANT REPLICATION SLAVE ON *.* TO 'trendflow'@'%' (scripts/mysql.sh does)",
                    self.config,
                    error.message
                ),
                Some(Err(error)) => return Err(explain(error, &self.config)).context("reading the binary log"),
                None => {
                    log::warn!("{}: the server ended the binary log's stream; reconnecting", self.config);
                    self.reopen();
                    continue;
                }
            };
            let header = event.header();
            let skipped = header.flags_raw() & SKIP_REPLICATION_FLAG != 0;
            let data = event.read_data().context("decoding an event of the binary log")?;
            match data {
                // The rotate a stream starts with names the file asked for, and comes before
                // the format description that says the events carry checksums: its name would
                // be read with the checksum's bytes on its end.
                Some(EventData::RotateEvent(rotate)) if self.described => self.file = rotate.name().into_owned(),
                Some(EventData::FormatDescriptionEvent(_)) => self.described = true,
                Some(EventData::HeartbeatEvent) => return Ok(Followed::Idle),
                Some(EventData::RowsEvent(rows)) if !skipped => {
                    let Some(table) = stream.get_tme(rows.table_id()) else { continue };
                    if table.database_name() != self.config.database() || table.table_name() != "tweets" {
                        continue;
                    }
                    for row in rows.rows(table) {
                        let (before, after) = row.context("decoding a row of tweets in the binary log")?;
                        let change = match (&rows, after) {
                            (RowsEventData::DeleteRowsEvent(_) | RowsEventData::DeleteRowsEventV1(_), _) => {
                                TweetChange::Deleted
                            }
                            (_, Some(after)) => TweetChange::Written(logged_tweet(after)),
                            (_, None) => {
                                bail!("the binary log has an update of tweets without its new values: {before:?}")
                            }
                        };
                        self.pending.push(change);
                    }
                }
                Some(EventData::XidEvent(_)) => {
                    if let Some(committed) = self.commit(header.log_pos(), skipped) {
                        return Ok(committed);
                    }
                }
                Some(EventData::QueryEvent(query)) if !query.query().eq_ignore_ascii_case("BEGIN") => {
                    if let Some(committed) = self.commit(header.log_pos(), skipped) {
                        return Ok(committed);
                    }
                }
                _ => {}
            }
        }
    }

    /// Ends the transaction being read at `end`, the position after its last event: the changes
    /// it made to `tweets`, if any. A transaction of writes marked `skip_replication` moves the
    /// position on no further: following it again after a restart costs nothing, while storing
    /// the position after each would be a write of its own to follow.
    fn commit(&mut self, end: u32, skipped: bool) -> Option<Followed> {
        if !skipped {
            self.position = BinlogPosition { file: self.file.clone(), position: u64::from(end) };
        }
        let changes = std::mem::take(&mut self.pending);
        (!changes.is_empty()).then(|| Followed::Committed { changes, after: self.position.clone() })
    }

    /// Drops the connection and what was read of a transaction: the next read resumes after the
    /// last whole one.
    fn reopen(&mut self) {
        self.stream = None;
        self.pending.clear();
        self.file = self.position.file.clone();
    }

    /// A connection that reads the log from after the last whole transaction.
    fn open(&self) -> Result<BinlogStream> {
        let mut conn = self.config.connect_with_read_timeout(SILENCE_LIMIT)?;
        conn.query_drop(format!("SET @master_heartbeat_period = {}", HEARTBEAT.as_nanos()))
            .map_err(|e| explain(e, &self.config))?;
        let request = BinlogRequest::new(self.server_id)
            .with_filename(self.position.file.as_bytes().to_vec())
            .with_pos(self.position.position);
        log::info!("{}: following the binary log from {}", self.config, self.position);
        conn.get_binlog_stream(request).map_err(|e| explain(e, &self.config)).context("requesting the binary log")
    }
}

/// The tweet a logged row of `tweets` holds, read by column name; or why it is none, with what
/// of it could be read.
fn logged_tweet(row: BinlogRow) -> Result<LoggedTweet, (Reason, String)> {
    let columns = row.columns();
    if columns.first().is_some_and(|column| column.name_str().starts_with('@')) {
        // Without binlog_row_metadata = FULL the log names no column; nothing can be read safely.
        let reason = Reason::new(
            RejectionKind::InvalidField,
            "the binary log names no columns of tweets: the server's binlog_row_metadata is not FULL",
        );
        return Err((reason, String::new()));
    }
    let mut values: Vec<(String, Value)> = Vec::with_capacity(columns.len());
    for (index, column) in columns.iter().enumerate() {
        let value = match row.as_ref(index) {
            Some(BinlogValue::Value(value)) => value.clone(),
            _ => Value::NULL,
        };
        values.push((column.name_str().into_owned(), value));
    }
    let shown = values
        .iter()
        .filter(|(_, value)| *value != Value::NULL)
        .map(|(name, value)| format!("{name}={}", value.as_sql(true)))
        .collect::<Vec<_>>()
        .join(", ");
    read_tweet(&values).map_err(|reason| (reason, shown))
}

/// The tweet of a row's `(column, value)` pairs; other columns than the seed's and trendflow's
/// are no concern of the follower's.
fn read_tweet(values: &[(String, Value)]) -> Result<LoggedTweet, Reason> {
    let value = |name: &str| values.iter().find(|(column, _)| column == name).map(|(_, value)| value);
    let id = |name: &'static str| -> Result<Option<u64>, Reason> {
        match value(name) {
            None | Some(Value::NULL) => Ok(None),
            Some(Value::Int(id)) => Ok(Some(graph_id(name, *id)?)),
            Some(Value::UInt(id)) => Ok(Some(graph_id(name, i64::try_from(*id).unwrap_or(-1))?)),
            Some(other) => Err(Reason::new(RejectionKind::InvalidField, format!("{name} is no number: {other:?}"))),
        }
    };
    let text = |name: &'static str| -> Result<Option<String>, Reason> {
        match value(name) {
            None | Some(Value::NULL) => Ok(None),
            Some(Value::Bytes(bytes)) => String::from_utf8(bytes.clone())
                .map(Some)
                .map_err(|e| Reason::new(RejectionKind::InvalidUtf8, format!("{name}: invalid UTF-8: {e}"))),
            Some(other) => Err(Reason::new(RejectionKind::InvalidField, format!("{name} is no text: {other:?}"))),
        }
    };
    let tweet_id = id("tweet_id")?.ok_or_else(|| Reason::new(RejectionKind::InvalidField, "no tweet_id"))?;
    let with_id = |reason: Reason| reason.at(format!("tweet {tweet_id}"));
    let row = SeedTweet {
        tweet_id,
        tweet: text("tweet").map_err(with_id)?,
        date_time: text("date_time").map_err(with_id)?,
        language: text("language").map_err(with_id)?,
        user_id: id("user_id").map_err(with_id)?,
        retweet_of: id("retweet_of").map_err(with_id)?,
    };
    let has_event_time = !matches!(value("created_at_ms"), None | Some(Value::NULL));
    Ok(LoggedTweet { row, has_event_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.clone())).collect()
    }

    #[test]
    fn a_logged_row_is_read_by_column_name_whatever_else_the_table_holds() {
        let values = row(&[
            ("added_by_someone", Value::Bytes(b"x".to_vec())),
            ("language", Value::Bytes(b"en".to_vec())),
            ("tweet_id", Value::Int(7)),
            ("tweet", Value::Bytes(b"#a".to_vec())),
            ("date_time", Value::Bytes(b"2021-08-29 19:51:27 EDT".to_vec())),
            ("created_at_ms", Value::NULL),
            ("user_id", Value::Int(3)),
        ]);
        let logged = read_tweet(&values).unwrap();
        assert_eq!(logged.row.tweet_id, 7);
        assert_eq!(logged.row.language.as_deref(), Some("en"));
        assert_eq!((logged.row.user_id, logged.row.retweet_of), (Some(3), None));
        assert!(!logged.has_event_time);
    }

    #[test]
    fn a_row_outside_the_input_rules_says_why() {
        let reason = read_tweet(&row(&[("tweet_id", Value::Int(-4))])).unwrap_err();
        assert_eq!(reason.kind(), RejectionKind::IdOutOfRange);
        let reason = read_tweet(&row(&[("tweet_id", Value::Int(4)), ("tweet", Value::Bytes(vec![0xff]))])).unwrap_err();
        assert_eq!(reason.kind(), RejectionKind::InvalidUtf8);
        assert!(reason.detail().contains("tweet 4"), "{}", reason.detail());
    }
}
