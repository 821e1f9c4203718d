//! A sink that fails stops the job promptly, with its error: the batch layer does not read the
//! rest of the history, the speed layer does not go on consuming, when a view table or the
//! checkpoint store cannot be written. Writes are made to fail mid-run by a trigger on the table,
//! against the real MariaDB and broker that `scripts/test.sh` starts.

use std::time::Duration;

use mysql::prelude::Queryable;

use crate::common::Services;

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

    let batch = s.watch(&["batch", "--window", "1m", "-w", "2"]).finish(Duration::from_secs(300));
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
/// write, with the error, instead of consuming on while storing nothing.
fn a_stream_stops_when_a_write_to(table: &str) {
    let s = Services::streaming(&format!("streamsink_{table}"), 2);
    s.succeed(&["produce", "--from", "generator", "--tweets", "20000"]);
    let message = s.refuse_writes(table);

    let stream = s.watch(&["stream", "--window", "1m", "-w", "2"]).finish(Duration::from_secs(300));
    assert!(!stream.status.success(), "the stream succeeded:\n{}", stream.stdout);
    assert!(stream.stderr.contains(&message), "{}", stream.stderr);
    assert!(stream.stderr.contains("stream stopped after"), "{}", stream.stderr);
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
