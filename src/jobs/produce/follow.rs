//! `trendflow produce --follow`: change capture. The tweets stored now go out first, read in a
//! snapshot at a point of MySQL's binary log; from that point on, every tweet a committed
//! transaction inserts or updates goes out as the log tells it, within milliseconds, in the same
//! messages as a replay's.
//!
//! The rules:
//! * **No gap, no double.** The snapshot and the log meet at one position ([`Snapshot`]).
//! * **Resumable.** After each transaction whose tweets the broker has confirmed, the position
//!   after it is stored ([`CapturePositions`]); a restart, after `kill -9` too, resumes from there.
//!   What was sent after it is sent again: tweet ids the stream has read, which it drops.
//! * **No loop.** The stream's archive writes what it read from the tweets topic on connections
//!   marked `skip_replication`, and the follower does not follow marked writes.
//! * **Deletes are not followed**: tweets are immutable here (first write wins); they are counted.
//! * **Input rules.** A row that breaks them ([`crate::limits`]) goes to the dead-letter topic
//!   with its reason, as the stream's decoder sends a bad message.
//! * **Event times.** A row written with the seed's columns only has no `created_at_ms`, by which
//!   the batch layer reads the history and the stream compares copies: the follower fills it in,
//!   parsed from `date_time` as `db init` does, before it sends the row.

use std::collections::VecDeque;
use std::hash::Hasher;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fnv::FnvHasher;
use mysql::Conn;
use trendflow_dataflows::EventTime;

use super::{Pace, Pacer, ProduceArgs};
use crate::harness::signal::stop_flag;
use crate::kafka::producer::{KafkaSink, SentBefore};
use crate::kafka::Topic;
use crate::limits::sql_id;
use crate::mysql::binlog::{check_server, BinlogPosition, Followed, LoggedTweet, Snapshot, TweetChange, TweetChanges};
use crate::mysql::capture_positions::CapturePositions;
use crate::mysql::event_times;
use crate::mysql::history::{for_each_row_without_event_time, for_each_stored_row};
use crate::mysql::schema::check_schema;
use crate::mysql::MysqlConfig;
use crate::source::seed_tweet::SeedTweet;
use crate::vocabulary::dead_letter::DeadLetter;
use crate::vocabulary::rejection::Reason;
use crate::vocabulary::report::per_second;
use crate::vocabulary::report::produce::{FollowReport, ProduceReport};

/// How often, at most, the position is stored while transactions keep coming.
const STORE_EVERY: Duration = Duration::from_millis(200);

/// Runs change capture until stopped (Ctrl-C, SIGTERM), then prints its report.
pub(super) fn run(args: &ProduceArgs, pace: Pace) -> Result<()> {
    let mysql = args.mysql.config()?;
    check_schema(&mysql)?;
    let mut conn = mysql.connect()?;
    check_server(&mut conn, &mysql)?;
    let kafka = args.kafka.config()?;
    kafka.partition_count(&kafka.metadata_client()?, Topic::Tweets)?;
    let topic = kafka.topic(Topic::Tweets);
    let stop = stop_flag()?;
    let mut positions = CapturePositions::open(&mysql)?;
    if args.follow.resnapshot {
        positions.clear(&topic)?;
    }
    let mut sender = Sender {
        sink: KafkaSink::new(&kafka)?,
        dead_letters: kafka.topic(Topic::DeadLetter),
        source: format!("{}.tweets", mysql.database()),
        unfollowed: mysql.unfollowed(),
        filler: mysql.unfollowed().connect()?,
        report: FollowReport::default(),
        topic,
    };
    let started = Instant::now();
    let start = match positions.load(&sender.topic)? {
        Some(position) => {
            sender.report.resumed_from = Some(position.to_string());
            position
        }
        None => {
            let position = sender.snapshot(&mut conn, &mysql, args, pace, &stop)?;
            sender.sink.flush()?;
            // A snapshot cut short is not stored: the next run takes a new one.
            if !stop.load(Ordering::Relaxed) {
                positions.store(&sender.topic, &position)?;
                sender.report.stored_position = Some(position.to_string());
            }
            position
        }
    };
    drop(conn);
    if !stop.load(Ordering::Relaxed) {
        eprintln!("produce: following {mysql}'s binary log from {start}");
    }
    let server_id = args.follow.server_id.unwrap_or_else(|| replica_id(mysql.database(), &sender.topic));
    let mut changes = TweetChanges::new(&mysql, server_id, start);
    // Positions after transactions sent, each with the messages sent before it.
    let mut unstored: VecDeque<(SentBefore, BinlogPosition)> = VecDeque::new();
    let mut stored_at = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let idle = match changes.next_committed()? {
            Followed::Committed { changes, after } => {
                sender.report.followed_rows += sender.send_changes(changes, &after)?;
                unstored.push_back((sender.sink.sent_so_far(), after));
                false
            }
            Followed::Idle => true,
        };
        if idle || stored_at.elapsed() >= STORE_EVERY {
            if let Some(position) = confirmed_position(&sender.sink, &mut unstored)? {
                positions.store(&sender.topic, &position)?;
                sender.report.stored_position = Some(position.to_string());
            }
            stored_at = Instant::now();
        }
    }
    let delivered = sender.sink.flush()?;
    if let Some((_, position)) = unstored.pop_back() {
        positions.store(&sender.topic, &position)?;
        sender.report.stored_position = Some(position.to_string());
    }
    let sent = sender.report.snapshot_rows + sender.report.followed_rows;
    let seconds = started.elapsed().as_secs_f64();
    let report = ProduceReport {
        source: format!("{mysql}"),
        topic: sender.topic.clone(),
        sent,
        seconds,
        tweets_per_second: per_second(sent, seconds),
        confirmed: delivered.delivered,
        failed: delivered.failed,
        interrupted: true,
        not_tweets: 0,
        unreadable: 0,
        follow: Some(sender.report),
    };
    args.report.publish("", &report)?;
    Ok(())
}

/// The replica id of the follower of `database` into `topic`: the same on every run, above the
/// small ids real replicas are given.
fn replica_id(database: &str, topic: &str) -> u32 {
    let mut hasher = FnvHasher::default();
    hasher.write(database.as_bytes());
    hasher.write(b"/");
    hasher.write(topic.as_bytes());
    (hasher.finish() as u32) | 0x8000_0000
}

/// The newest of `unstored` whose messages the broker has all confirmed, taken off it.
fn confirmed_position(
    sink: &KafkaSink,
    unstored: &mut VecDeque<(SentBefore, BinlogPosition)>,
) -> Result<Option<BinlogPosition>> {
    let mut newest = None;
    while let Some(&(sent, _)) = unstored.front() {
        if !sink.confirmed(sent)? {
            break;
        }
        newest = unstored.pop_front().map(|(_, position)| position);
    }
    Ok(newest)
}

/// Sends tweets and dead letters, and counts what it did.
struct Sender {
    sink: KafkaSink,
    topic: String,
    dead_letters: String,
    /// `DATABASE.tweets`, where a dead letter's row was.
    source: String,
    unfollowed: MysqlConfig,
    /// Fills in event times, unfollowed.
    filler: Conn,
    report: FollowReport,
}

impl Sender {
    /// Sends the tweets stored now, read in a snapshot, after filling in the event times missing;
    /// returns the position of the binary log the snapshot was read at.
    fn snapshot(
        &mut self,
        conn: &mut Conn,
        mysql: &MysqlConfig,
        args: &ProduceArgs,
        pace: Pace,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<BinlogPosition> {
        // Before the snapshot, so that it sends every stored tweet: it reads them by event time.
        let filled = event_times::fill_missing(&mut self.filler, &self.unfollowed)?;
        self.report.event_times_filled += filled.event_times_filled;
        let Snapshot { mut transaction, position } = Snapshot::start(conn, mysql)?;
        if args.follow.skip_snapshot {
            return Ok(position);
        }
        let mut pacer = Pacer::new(pace);
        for_each_stored_row(&mut transaction, mysql, |row| {
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            if let Ok(tweet) = row.clone().into_tweet() {
                pacer.wait(tweet.created_at);
            }
            self.sink.send_row(&self.topic, &row)?;
            self.sink.poll();
            self.report.snapshot_rows += 1;
            Ok(true)
        })
        .context("sending the snapshot of the tweets table")?;
        // Rows committed after the event times were filled in, and before the snapshot began,
        // have none: they are sent last, each given its event time first.
        let mut missing = Vec::new();
        for_each_row_without_event_time(&mut transaction, mysql, |row| {
            missing.push(TweetChange::Written(Ok(LoggedTweet { row, has_event_time: false })));
            Ok(!stop.load(Ordering::Relaxed))
        })?;
        self.report.snapshot_rows += self.send_changes(missing, &position)?;
        Ok(position)
    }

    /// Sends what one committed transaction wrote to `tweets`, which ended at `after` (or what a
    /// snapshot at `after` read); returns how many tweets it sent.
    fn send_changes(&mut self, changes: Vec<TweetChange>, after: &BinlogPosition) -> Result<u64> {
        let mut tweets: Vec<SeedTweet> = Vec::with_capacity(changes.len());
        let mut times: Vec<(i64, EventTime)> = Vec::new();
        for change in changes {
            match change {
                TweetChange::Deleted => self.report.deletes_ignored += 1,
                TweetChange::Written(Err((reason, shown))) => self.dead_letter(&reason, after, shown.as_bytes())?,
                TweetChange::Written(Ok(LoggedTweet { row, has_event_time })) => match row.clone().into_tweet() {
                    Ok(tweet) => {
                        if !has_event_time {
                            times.push((sql_id("tweet_id", tweet.id)?, tweet.created_at));
                        }
                        tweets.push(row);
                    }
                    Err(error) => self.dead_letter(&Reason::from(error), after, &serde_json::to_vec(&row)?)?,
                },
            }
        }
        // Before the tweets go out: the stream looks each up in the master dataset.
        if !times.is_empty() {
            event_times::fill(&self.unfollowed, &mut self.filler, &times)?;
            self.report.event_times_filled += times.len() as u64;
        }
        for row in &tweets {
            self.sink.send_row(&self.topic, row)?;
        }
        self.sink.poll();
        Ok(tweets.len() as u64)
    }

    /// Sends a row that is no tweet to the dead-letter topic: where it was is the table, and the
    /// binary log position after its transaction.
    fn dead_letter(&mut self, reason: &Reason, after: &BinlogPosition, payload: &[u8]) -> Result<()> {
        log::warn!("{}: {reason}", self.source);
        let place = format!("{}@{}", self.source, after.file);
        let offset = i64::try_from(after.position).unwrap_or(i64::MAX);
        let letter = DeadLetter::new(reason, &place, 0, offset, Some(payload));
        self.sink.send(&self.dead_letters, b"", &serde_json::to_vec(&letter)?)?;
        self.report.dead_lettered += 1;
        Ok(())
    }
}
