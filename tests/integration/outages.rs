//! Service outages against real services of the tests' own, which they stop and crash without
//! disturbing other tests: a broker (`scripts/kafka.sh` on its own port) crashed and restarted
//! while `produce` and `stream` run, and a MariaDB (`scripts/mariadb-instance`) killed and
//! restarted during `batch` and while `stream` writes. The jobs wait, say what they wait for, and
//! finish with views that verify; a service that stays away past the allowed wait ends the job
//! with a clear error.

use crate::common::{
    private_broker, private_mariadb, private_mariadb_database, stored_views, wait_for, Metrics, Services, Watched,
    LIMIT,
};
use mysql::prelude::Queryable;
use trendflow::vocabulary::Layer;
use trendflow_dataflows::window::WindowSpec;

/// The port of the tests' own broker, and of their own MariaDB.
const BROKER_PORT: &str = "9194";
const MARIADB_PORT: &str = "3307";

const WINDOWS: [&str; 4] = ["--window", "1m", "--window", "2m/30s"];

fn specs() -> Vec<WindowSpec> {
    vec!["1m".parse().unwrap(), "2m/30s".parse().unwrap()]
}

fn broker(argument: Option<&str>) {
    private_broker(BROKER_PORT, argument);
}

fn mariadb(action: &str) {
    private_mariadb(MARIADB_PORT, action);
}

fn private_database(name: &str) -> String {
    private_mariadb_database(MARIADB_PORT, name)
}

/// Batches what the stream archived and checks the layers agree on every window.
fn verify_layers(s: &Services) {
    s.succeed(&[&["batch"], &WINDOWS[..]].concat());
    s.verify_every_window(&["1m", "2m/30s"], &WINDOWS);
    assert_eq!(s.windows("speed"), s.windows("batch"), "the speed layer has every window");
}

fn stream_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<&str> = vec!["stream", "-w2"];
    args.extend(WINDOWS);
    args.extend(extra);
    args.into_iter().map(String::from).collect()
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Starts 20,000 generated tweets into 2 partitions, at 2,000 a second, and a stream (with
/// `extra` flags, for both) that archives them; returns once the stream has archived some.
fn start_pipeline(s: &Services, extra: &[&str]) -> (Watched, Watched) {
    s.succeed(&["db", "init"]);
    s.succeed(&["topics", "create", "--partitions", "2"]);
    let produce = ["produce", "--from", "generator", "--tweets", "20000", "--event-rate", "50", "--rate", "2000"];
    let producer = s.watch(&[&produce[..], extra].concat());
    let stream = s.watch(&refs(&stream_args(&[&["--until-idle", "8s"], extra].concat())));
    wait_for("the stream to archive tweets", LIMIT, || archived(s) > 0);
    (producer, stream)
}

/// How many tweets the stream has archived so far.
fn archived(s: &Services) -> u64 {
    let count: Option<u64> = s.mysql().query_first("SELECT COUNT(*) FROM tweets").expect("counting tweets");
    count.unwrap_or(0)
}

/// Waits for the pipeline: every tweet confirmed and archived once, none dead-lettered, and the
/// layers verify. Returns what the stream logged.
fn finish_pipeline(s: &Services, producer: Watched, stream: Watched) -> String {
    let produced = producer.finish(LIMIT);
    assert!(produced.succeeded().contains("20000 confirmed, 0 failed"), "{}", produced.stdout);
    let streamed = stream.finish(LIMIT);
    let summary = streamed.succeeded();
    assert!(summary.contains(" 0 dead-lettered") && summary.contains("20000 archived"), "{summary}");
    assert_eq!(archived(s), 20000);
    verify_layers(s);
    streamed.stderr
}

/// The oldest and the newest event time in the tweets table, in ms.
fn generated_time_range(s: &Services) -> (f64, f64) {
    let range: Option<(u64, u64)> = s
        .mysql()
        .query_first("SELECT MIN(created_at_ms), MAX(created_at_ms) FROM tweets")
        .expect("reading the tweets' time range");
    let (oldest, newest) = range.expect("a tweets table with tweets");
    (oldest as f64, newest as f64)
}

/// Waits until the batch of `s` is reading the history: its query runs on the server.
fn wait_for_batch_reading(s: &Services) {
    wait_for("the batch's query to run", LIMIT, || {
        let running: Option<u64> = s
            .mysql()
            .query_first(
                "SELECT COUNT(*) FROM information_schema.processlist \
                 WHERE db = DATABASE() AND command IN ('Query', 'Execute') AND info LIKE 'SELECT tweet_id%'",
            )
            .expect("reading the process list");
        running.unwrap_or(0) > 0
    });
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn produce_and_stream_ride_out_a_broker_crash_and_end_when_it_stays_away() {
    broker(Some("--fresh"));
    let s = Services { brokers: format!("127.0.0.1:{BROKER_PORT}"), ..Services::fresh("brokeroutage") };
    // After a crash tansu sometimes rejects an idempotent producer's retried batches as out of
    // sequence, which ends it for good (see docs/operations/reliability.md); without idempotence it just retries.
    let (producer, mut stream) = start_pipeline(&s, &["--kafka-wait", "30", "-X", "enable.idempotence=false"]);
    broker(Some("--crash"));
    stream.wait_for_output("not answering", LIMIT);
    broker(None);
    let waited = finish_pipeline(&s, producer, stream);
    assert!(waited.contains("answering again"), "{waited}");

    // Away for longer than --kafka-wait: the stream ends, and says why.
    let mut stream = s.watch(&refs(&stream_args(&["--kafka-wait", "3"])));
    stream.wait_for_output("resuming from stored positions", LIMIT);
    broker(Some("--crash"));
    let ended = stream.finish(LIMIT);
    assert!(!ended.status.success(), "{}", ended.stderr);
    assert!(ended.stderr.contains("has not answered") && ended.stderr.contains("--kafka-wait"), "{}", ended.stderr);
    broker(None);
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn batch_and_stream_ride_out_a_database_crash_and_end_when_it_stays_away() {
    mariadb("start");
    let s = Services { mysql_url: private_database("outage_batch"), ..Services::fresh("dboutage") };
    s.succeed(&["db", "init"]);
    s.succeed(&["db", "generate", "--tweets", "600000"]);
    let (oldest_generated, newest_generated) = generated_time_range(&s);
    let batch_args = [&["batch", "--mysql-wait", "60"], &WINDOWS[..]].concat();
    let mut batch = s.watch(&[&batch_args[..], &["--metrics-listen", "127.0.0.1:0"]].concat());
    // Its metrics tell how far it has read, while it reads and while it waits for the database.
    let metrics_url = batch.metrics_url();
    let tweets_read = || Metrics::scrape(&metrics_url).value("trendflow_batch_tweets_read_total", &[]);
    wait_for("the batch to count tweets read", LIMIT, || tweets_read().is_some_and(|read| read > 0.0));
    mariadb("kill");
    batch.wait_for_output("connection lost while reading tweets for the batch layer", LIMIT);
    let waiting = Metrics::scrape(&metrics_url);
    let read = waiting.value("trendflow_batch_tweets_read_total", &[]).unwrap_or(0.0);
    assert!(read > 0.0 && read < 600_000.0, "{}", waiting.text);
    let newest = waiting.value("trendflow_batch_newest_event_time_ms", &[]).unwrap_or(0.0);
    assert!((oldest_generated..=newest_generated).contains(&newest), "{newest}: {}", waiting.text);
    mariadb("start");
    let waited = batch.finish(LIMIT);
    waited.succeeded();
    assert!(waited.stderr.contains("reconnected"), "{}", waited.stderr);
    let after_crash = stored_views(&s.mysql_url, Layer::Batch, &specs());
    s.succeed(&batch_args);
    let undisturbed = stored_views(&s.mysql_url, Layer::Batch, &specs());
    assert!(!undisturbed.hashtags.is_empty());
    assert!(after_crash == undisturbed, "{}", after_crash.first_difference(&undisturbed).unwrap_or_default());

    // Away for longer than --mysql-wait: the batch ends, and says why.
    let batch = s.watch(&[&["batch", "--mysql-wait", "3"], &WINDOWS[..]].concat());
    wait_for_batch_reading(&s);
    mariadb("kill");
    let ended = batch.finish(LIMIT);
    let message = &ended.stderr;
    assert!(!ended.status.success(), "{message}");
    assert!(message.contains("did not come back") || message.contains("is the server running?"), "{message}");
    mariadb("start");

    // The stream archives and writes views while the database crashes and comes back.
    let s = Services { mysql_url: private_database("outage_stream"), ..Services::fresh("dboutage") };
    let (producer, mut stream) = start_pipeline(&s, &["--mysql-wait", "60"]);
    mariadb("kill");
    stream.wait_for_output("connection lost while", LIMIT);
    mariadb("start");
    finish_pipeline(&s, producer, stream);
}
