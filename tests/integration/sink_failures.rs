//! A sink that fails stops the job promptly, with its error: the batch layer does not read the
//! rest of the history, the speed layer does not go on consuming, when a view table, the
//! checkpoint store or the archive cannot be written. Writes are made to fail mid-run by a trigger
//! on the table, against the real MariaDB and broker that `scripts/test.sh` starts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mysql::prelude::Queryable;
use trendflow::mysql::MysqlArgs;
use trendflow::mysql::{Archive, StoredTweet};
use trendflow_dataflows::Tweet;

use crate::common::{seed_tweets, wait_for, Services, LIMIT};

/// The `N` of "`job` stopped after N tweets" in an error.
fn tweets_before_stop(job: &str, error: &str) -> u64 {
    let marker = format!("{job} stopped after ");
    let start = error.find(&marker).unwrap_or_else(|| panic!("no '{marker}' in: {error}")) + marker.len();
    error[start..].split(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("a count in: {error}"))
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_batch_run_whose_view_write_fails_stops_with_the_error_before_reading_the_history() {
    let s = Services::fresh("batchsink");
    s.succeed(&["db", "init"]);
    // Two hundred thousand tweets, 100 a second: the first window closes after about six thousand.
    let history = 200_000;
    s.succeed(&["db", "generate", "--tweets", &history.to_string()]);
    let message = s.refuse_writes("view_top_hashtags");

    let batch = s.watch(&["batch", "--window", "1m", "-w", "2"]).finish(LIMIT);
    assert!(!batch.status.success(), "the batch run succeeded:\n{}", batch.stdout);
    assert!(batch.stderr.contains(&message), "{}", batch.stderr);
    assert!(batch.stderr.contains("writing the view_top_hashtags view"), "{}", batch.stderr);
    let read = tweets_before_stop("batch", &batch.stderr);
    assert!(read < history / 2, "read {read} of {history} tweets before stopping: {}", batch.stderr);
    // A failed run moves no time boundary: the serving layer goes on answering from the last
    // complete one.
    let runs: Option<u64> = s.mysql().query_first("SELECT COUNT(*) FROM batch_runs").unwrap();
    assert_eq!(runs, Some(0));
}

/// A stream that runs until stopped (no `--until-idle`) ends by itself once `table` refuses a
/// write, with the error, instead of consuming on while storing nothing. The tweets arrive at
/// 2,000 a second for a minute (100 a second of event time, so the first window closes after
/// about 6,000, and the first checkpoint is due a second in): the stream must have stopped before
/// half of them came.
fn a_stream_stops_when_a_write_to(table: &str) {
    let s = Services::streaming(&format!("streamsink_{table}"), 2);
    let message = s.refuse_writes(table);
    let arriving = 120_000;
    let mut producer =
        s.watch(&["produce", "--from", "generator", "--tweets", &arriving.to_string(), "--rate", "2000"]);

    let stream = s.watch(&["stream", "--window", "1m", "-w", "2"]).finish(LIMIT);
    assert!(!stream.status.success(), "the stream succeeded:\n{}", stream.stdout);
    assert!(stream.stderr.contains(&message), "{}", stream.stderr);
    let read = tweets_before_stop("stream", &stream.stderr);
    assert!(read < arriving / 2, "read {read} of {arriving} tweets before stopping: {}", stream.stderr);
    assert!(producer.is_running(), "the stream stopped only after every tweet had come");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_stream_whose_view_write_fails_stops_with_the_error() {
    a_stream_stops_when_a_write_to("view_top_hashtags");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_stream_whose_checkpoint_fails_stops_with_the_error() {
    a_stream_stops_when_a_write_to("source_offsets");
}

/// The archive writes on a thread of its own: its failure still ends the stream, with MySQL's
/// error.
#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_stream_whose_archive_write_fails_stops_with_the_error() {
    a_stream_stops_when_a_write_to("tweets");
}

/// What a worker hands the archive is stored by its thread: what came before a flush once the
/// archive says so, the rest when it finishes, every tweet counted once.
#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn the_archive_stores_what_was_handed_before_a_flush_and_the_rest_when_it_finishes() {
    let s = Services::fresh("archivethread");
    s.succeed(&["db", "init"]);
    let database = MysqlArgs { url: s.mysql_url.clone(), wait_secs: 10 }.config().expect("MySQL settings");
    let archived = Arc::new(AtomicU64::new(0));
    // Batches larger than the test's tweets, written at most once an hour but when flushed.
    let mut archive =
        Archive::start(&database, 1_000, Duration::from_secs(3_600), archived.clone()).expect("an archive");
    let tweets = seed_tweets();
    let stored_tweets =
        || -> u64 { s.mysql().query_first("SELECT COUNT(*) FROM tweets").expect("counting tweets").unwrap_or(0) };
    let hand_over = |archive: &mut Archive, tweets: &[Tweet]| {
        for tweet in tweets {
            archive.push(StoredTweet::with_utc_date(tweet.clone(), tweet.created_at)).expect("handing over");
        }
    };
    hand_over(&mut archive, &tweets[..300]);
    let flushed = archive.flush().expect("flushing");
    hand_over(&mut archive, &tweets[300..500]);
    wait_for("the tweets handed over before the flush to be stored", LIMIT, || {
        archive.stored(flushed).expect("the archive's thread works")
    });
    assert!(stored_tweets() >= 300);
    archive.finish().expect("the rest stored");
    assert_eq!(stored_tweets(), 500);
    assert_eq!(archived.load(Ordering::Relaxed), 500);
}
