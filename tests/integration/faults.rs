//! Fault injection against the real broker and the real MariaDB (both started by
//! `scripts/test.sh`): a stream killed again and again while tweets arrive, stopped by a signal,
//! and restarted, still ends with the batch layer's views; its final rankings on Kafka never
//! contradict each other.

use std::collections::BTreeMap;
use std::thread::sleep;
use std::time::Duration;

use crate::common::{brokers, read_topic, test_seed, wait_for, Services, Watched, LIMIT};
use mysql::prelude::Queryable;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// The stream's views: a horizon of two minutes and a half (the longest window and its trend
/// baseline), so that a restart rereads a small part of the ten minutes of event time produced.
const STREAM: [&str; 8] = ["stream", "--window", "1m", "--window", "2m/30s", "--trend-baseline", "30s", "-w2"];

fn spawn(s: &Services, extra: &[&str]) -> Watched {
    let mut args = STREAM.to_vec();
    args.extend_from_slice(extra);
    s.watch(&args)
}

/// Every final ranking message of a topic, as (key, value) text.
fn final_rankings(topic: &str) -> Vec<(String, String)> {
    read_topic(topic, 0).into_iter().filter(|(_, value)| value.contains("\"final\":true")).collect()
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_stream_killed_ten_times_and_stopped_while_tweets_arrive_still_matches_the_batch_layer() {
    let s = Services::streaming("kills", 2);
    // Ten minutes of event time, produced over about 20 s while the stream is being killed.
    let producer =
        s.watch(&["produce", "--from", "generator", "--tweets", "30000", "--event-rate", "50", "--rate", "1500"]);

    // The kills land at random moments: where a run is when it dies must not matter.
    let seed = test_seed();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    for kill in 1..=10 {
        let mut stream = spawn(&s, &[]);
        sleep(Duration::from_millis(rng.random_range(800..2_500)));
        assert!(stream.is_running(), "kill {kill} (seed {seed}): the stream had already ended:\n{}", stream.printed());
        stream.kill();
    }

    // The last run goes on until it has read every partition to its end and the stored
    // positions let a restart skip part of every partition: a rebuild point a horizon or more
    // past the first tweets.
    let mut stream = spawn(&s, &[]);
    stream.wait_for_output("started: ", LIMIT);
    wait_for("stored positions past the start of every partition", LIMIT, || {
        let positions = stored_positions(&s);
        positions.len() == 2 && positions.values().all(|&(replay_from, _)| replay_from > 0)
    });
    // A signal stops it cleanly: it finishes what it read, stores where it got to, and says so.
    stream.terminate();
    let stopped = stream.finish(LIMIT);
    let summary = stopped.succeeded();
    assert!(summary.contains("stopped by signal") && !summary.contains(" 0 checkpoints stored"), "{summary}");
    let produced = producer.finish(LIMIT);
    assert!(produced.succeeded().contains("30000 confirmed, 0 failed"), "{}", produced.stdout);

    // Drained after the last stop, it resumes at the stored positions: it reads exactly what
    // follows them, and only feeds the graph with what the runs before it had handled.
    let stored = stored_positions(&s);
    let drained = s.succeed(&[&STREAM[..], &["--until-idle", "5s"]].concat());
    let resumed: Vec<String> = stored.iter().map(|(partition, (offset, _))| format!("{partition}@{offset}")).collect();
    let resumed = format!("resuming from stored positions (partition@offset: {})", resumed.join(" "));
    assert!(drained.contains(&resumed), "expected {resumed:?} in\n{drained}");
    let end_offsets = end_offsets(&format!("{}tweets", s.topic_prefix));
    let expected: i64 = stored.iter().map(|(partition, (offset, _))| end_offsets[partition] - offset).sum();
    let consumed: i64 = number_before(&drained, " messages consumed");
    assert_eq!(consumed, expected, "the drain reads from the stored positions to the end\n{drained}");
    assert!(consumed < 30000, "{drained}");
    let replayed: i64 = stored.values().map(|(offset, handled_to)| handled_to - offset).sum();
    assert!(replayed > 0, "the runs before had handled messages past the rebuild point: {stored:?}");
    assert_eq!(number_before(&drained, " messages replayed"), replayed, "{drained}");
    assert!(drained.contains(" 0 dead-lettered"), "{drained}");

    let tweets: Option<u64> = s.mysql().query_first("SELECT COUNT(*) FROM tweets").expect("counting");
    assert_eq!(tweets, Some(30000), "every tweet archived once");
    s.succeed(&["batch", "--window", "1m", "--window", "2m/30s", "--trend-baseline", "30s"]);
    s.verify_every_window(&["1m", "2m/30s"], &["--window", "1m", "--window", "2m/30s"]);
    let (speed, batch) = (s.windows("speed"), s.windows("batch"));
    assert!(speed == batch, "seed {seed}: speed has {} windows, batch {}", speed.len(), batch.len());

    // A window published again after a restart is published the same.
    let mut finals: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in final_rankings(&format!("{}top_hashtags", s.topic_prefix)) {
        let first = finals.entry(key.clone()).or_insert_with(|| value.clone());
        assert_eq!(*first, value, "two different final rankings of {key}");
    }
    let windows: Option<u64> = s
        .mysql()
        .query_first("SELECT COUNT(DISTINCT window_spec, window_end_ms) FROM view_top_hashtags WHERE layer = 'speed'")
        .expect("counting windows");
    assert_eq!(Some(finals.len() as u64), windows, "one final ranking on Kafka per window in MySQL");
}

/// The stream's stored positions: partition → (replay from, handled to).
fn stored_positions(s: &Services) -> BTreeMap<i32, (i64, i64)> {
    s.mysql()
        .query_map(
            "SELECT kafka_partition, next_offset, handled_to FROM source_offsets",
            |(partition, offset, handled)| (partition, (offset, handled)),
        )
        .expect("reading the stored positions")
        .into_iter()
        .collect()
}

/// Each partition's end offset (the offset the next message will get).
fn end_offsets(topic: &str) -> BTreeMap<i32, i64> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", brokers()).create().expect("a test consumer");
    let metadata = consumer.fetch_metadata(Some(topic), LIMIT).expect("topic metadata");
    metadata.topics()[0]
        .partitions()
        .iter()
        .map(|partition| {
            let (_, high) = consumer.fetch_watermarks(topic, partition.id(), LIMIT).expect("partition offsets");
            (partition.id(), high)
        })
        .collect()
}

/// The number printed just before `label`.
fn number_before(text: &str, label: &str) -> i64 {
    let before = text.split(label).next().filter(|_| text.contains(label));
    let number = before.and_then(|before| before.rsplit(' ').next()).and_then(|n| n.parse().ok());
    number.unwrap_or_else(|| panic!("no number before {label:?} in\n{text}"))
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_stream_whose_broker_lost_the_records_at_its_positions_stops_instead_of_skipping() {
    let s = Services::streaming("lostrecords", 2);
    s.succeed(&["produce", "--from", "generator", "--tweets", "3000"]);
    // Thirty seconds of tweets and ten-second windows: the positions stored are well past the start.
    let first = s.succeed(&["stream", "--window", "10s", "--until-idle", "3s", "--no-archive"]);
    assert!(first.contains("3000 messages consumed") && !first.contains(" 0 checkpoints stored"), "{first}");
    // The broker no longer has the records at the stored positions, as if it had lost its
    // storage. (Deleting and recreating the topic would show the same, but deleting topics while
    // other tests produce has made tansu's storage fail.)
    s.mysql().query_drop("UPDATE source_offsets SET next_offset = next_offset + 1000000").expect("moving positions");
    let lost = s.run(&["stream", "--window", "10s", "--until-idle", "3s", "--no-archive"]);
    let message = &lost.stderr;
    assert!(!lost.status.success(), "{message}");
    assert!(message.contains("no longer has the records") && message.contains("--from-beginning"), "{message}");
    let rebuilt = s.succeed(&["stream", "--window", "10s", "--until-idle", "3s", "--no-archive", "--from-beginning"]);
    assert!(rebuilt.contains("3000 messages consumed"), "{rebuilt}");
}
