//! The speed layer against a real Kafka-API broker and a real MariaDB (both started by
//! `scripts/test.sh`): tweets produced, streamed, published and archived; the final views equal
//! the batch layer's and the reference's; bad and late input goes to the dead-letter topic and
//! changes nothing else; and the errors a user meets are clear.

use crate::common::{
    check_snapshots, default_graph, read_dead_letters, read_topic, report_path, run_bounded, seed_dump, seed_json,
    seed_tweets, send_messages, stored_views, take_report, wait_for, Metrics, Services, LIMIT,
};
use mysql::prelude::Queryable;
use trendflow::kafka::producer::KafkaSink;
use trendflow::kafka::Topic;
use trendflow::source::generator::{Generator, GeneratorConfig};
use trendflow::vocabulary::report::batch::BatchReport;
use trendflow::vocabulary::report::stream::StreamReport;
use trendflow::vocabulary::snapshot::SnapshotMessage;
use trendflow::vocabulary::Layer;
use trendflow_dataflows::hashtags::extract_hashtags;
use trendflow_dataflows::reference;
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::Tweet;

/// Sends raw messages to one partition of a topic, waiting until the broker has them all.
fn send_raw(topic: &str, partition: i32, messages: &[(String, Vec<u8>)]) {
    let messages: Vec<_> = messages.iter().map(|(key, payload)| (partition, key.clone(), payload.clone())).collect();
    send_messages(topic, &messages);
}

/// Services of their own with a tweets topic of `partitions` partitions, and `count` generated
/// tweets one second of event time apart, in arrival order, not yet sent.
fn one_tweet_a_second(name: &str, partitions: u32, count: u64) -> (Services, String, Vec<Tweet>) {
    let s = Services::streaming(name, partitions);
    let tweets_topic = format!("{}tweets", s.topic_prefix);
    let generator = Generator::new(GeneratorConfig { tweets: count, rate_per_sec: 1.0, ..GeneratorConfig::default() })
        .expect("generator");
    let tweets = generator.share(0, 1).collect();
    (s, tweets_topic, tweets)
}

fn specs(texts: &[&str]) -> Vec<WindowSpec> {
    texts.iter().map(|text| text.parse().unwrap()).collect()
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn the_seed_through_kafka_gives_the_batch_layers_views_and_publishes_them() {
    let s = Services::fresh("seedstream");
    s.succeed(&["db", "init"]);
    s.succeed(&["db", "load", seed_dump().to_str().expect("UTF-8 path")]);
    let created = s.succeed(&["topics", "create", "--partitions", "3"]);
    assert!(created.contains("created") && created.contains("tweets_dead_letter"), "{created}");
    let again = s.succeed(&["topics", "create", "--partitions", "3"]);
    assert!(again.contains("already there") && !again.contains("created"), "{again}");

    let produced = s.succeed(&["produce"]);
    assert!(produced.contains("produce: 8759 tweets") && produced.contains("8759 confirmed, 0 failed"), "{produced}");
    let stream_report = report_path("seedstream");
    let report = stream_report.to_str().expect("UTF-8 path");
    let streamed = s.succeed(&[
        "stream",
        "--window",
        "1m",
        "--window",
        "5m/1m",
        "-w",
        "2",
        "--until-idle",
        "3s",
        "--report",
        report,
    ]);
    assert!(
        streamed.contains("8759 messages consumed")
            && streamed.contains("0 dead-lettered")
            && streamed.contains("8759 archived"),
        "{streamed}"
    );
    // The report holds the summary's figures, and how the start went.
    let StreamReport { started, run } = take_report(&stream_report);
    let run = run.expect("the run, once the stream has ended");
    assert!(started.is_some_and(|started| started.caught_up_ms >= started.workers_ms), "{streamed}");
    let counts = (run.messages_consumed, run.dead_lettered, run.late, run.skipped, run.duplicates, run.archived);
    assert_eq!(counts, (8_759, 0, 0, 0, 0, 8_759), "{run:?}");
    assert_eq!((run.partitions, run.windows_closed, run.stopped_by_signal), (3, 24, false), "{run:?}");
    assert_eq!(run.snapshots_confirmed, run.snapshots_published, "{run:?}");
    assert!(run.resumed_from.is_empty() && run.checkpoints_stored > 0, "{run:?}");
    let batch_report = report_path("seedbatch");
    let batched =
        s.succeed(&["batch", "--window", "1m", "--window", "5m/1m", "--report", batch_report.to_str().expect("UTF-8")]);
    let batch: BatchReport = take_report(&batch_report);
    assert_eq!((batch.tweets, batch.windows_written, batch.stale_views_removed), (8_759, 24, 0), "{batched}");
    let spans: Vec<&str> = batch.boundaries.iter().map(|boundary| boundary.window.as_str()).collect();
    assert_eq!(spans, ["1m", "5m/1m"], "{batched}");
    assert!(batched.starts_with(&format!("{batch}")), "the summary printed is the report's: {batched}");
    let verified = s.succeed(&["verify"]);
    assert!(verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"), "{verified}");

    // The speed layer's own views equal the reference, not only the batch layer's.
    let windows = specs(&["1m", "5m/1m"]);
    let speed = stored_views(&s.mysql_url, Layer::Speed, &windows);
    let expected = reference::final_views(&seed_tweets(), &default_graph(windows.clone()));
    assert!(speed == expected, "{}", speed.first_difference(&expected).unwrap_or_default());

    // Every snapshot, live or final, equals the reference over the span it states, every window
    // has its final one, and no live one came after the seed's last tweet (2021-08-30 00:00:31):
    // no live window the seed holds no tweet of.
    let checked = check_snapshots(&s.topic_prefix, &seed_tweets(), &default_graph(windows.clone()), 1_000);
    assert_eq!(checked.finals, 24 + 24 + speed.trending.len(), "the 24 windows' final hashtags, tweets and trending");
    assert!(!speed.trending.is_empty(), "the seed's windows have trending hashtags");
    // Over a backlog a window's live ranking is mostly replaced by a later one before it is sent.
    assert!(checked.live > 0, "{checked:?}");

    // One message per extracted hashtag occurrence; the archive added no duplicate tweets.
    let occurrences: usize = seed_tweets().iter().map(|tweet| extract_hashtags(&tweet.text).len()).sum();
    assert_eq!(read_topic(&format!("{}hashtags", s.topic_prefix), occurrences).len(), occurrences);
    let stored: Option<i64> = s.mysql().query_first("SELECT COUNT(*) FROM tweets").unwrap();
    assert_eq!(stored, Some(8759));

    // verify notices a difference, says where, and fails.
    s.mysql()
        .query_drop("UPDATE view_top_hashtags SET `count` = `count` + 1 WHERE layer = 'speed' AND position = 2 AND window_spec = '1m' ORDER BY window_end_ms LIMIT 1")
        .unwrap();
    let differs = s.run(&["verify"]);
    let printed = &differs.stdout;
    assert!(!differs.status.success());
    assert!(printed.starts_with("Hashtags 1m ending 2021-08-29") && printed.contains("rank 2"), "{printed}");

    // A layer that lost views fails too, each missing window named: every speed-layer row of the
    // trending view, and the batch layer's top tweets of one window.
    s.mysql().query_drop("DELETE FROM view_trending_hashtags WHERE layer = 'speed'").unwrap();
    s.mysql()
        .query_drop("DELETE FROM view_top_tweets WHERE layer = 'batch' AND window_spec = '5m/1m' AND window_end_ms = 1630281600000")
        .unwrap();
    let lost = s.run(&["verify", "--max-differences", "100"]);
    let printed = &lost.stdout;
    let failed = &lost.stderr;
    assert!(!lost.status.success(), "{printed}");
    assert!(
        printed
            .contains("Tweets 5m/1m ending 2021-08-30 00:00:00: missing from the batch layer (the speed layer has it)"),
        "{printed}"
    );
    let trending_missing = printed
        .lines()
        .filter(|line| {
            line.starts_with("Trending") && line.ends_with("missing from the speed layer (the batch layer has it)")
        })
        .count();
    assert_eq!(trending_missing, speed.trending.len(), "{printed}");
    assert!(failed.contains("of the 24 windows compared"), "{failed}");
}

/// 200,000 generated tweets, arriving up to 2 s out of event-time order (within the 5 s
/// lateness), over 4 partitions read by 2 workers that archive concurrently.
#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn generated_tweets_reach_the_batch_layer_through_the_archive() {
    let s = Services::streaming("archive", 4);
    let produced = s.succeed(&["produce", "--from", "generator", "--tweets", "200000"]);
    assert!(produced.contains("200000 confirmed, 0 failed"), "{produced}");
    let streamed = s.succeed(&["stream", "-w", "2", "--until-idle", "3s"]);
    assert!(streamed.contains("200000 archived") && streamed.contains("0 dead-lettered"), "{streamed}");
    let (tweets, retweets): (i64, i64) =
        s.mysql().query_first("SELECT COUNT(*), COUNT(retweet_of) FROM tweets").unwrap().unwrap();
    assert_eq!(tweets, 200000);
    assert!(retweets > 20000, "retweets keep their originals: {retweets}");
    s.succeed(&["batch"]);
    // The jobs' default windows.
    let windows = ["5m/1m", "1h/5m"];
    s.verify_every_window(&windows, &[]);

    // A rerun reads the topic again while archiving (upserting) every tweet again: a worker slowed
    // by its writes once took its other partition for idle and dead-lettered a quarter as late.
    let again = s.succeed(&["stream", "-w", "2", "--until-idle", "3s", "--from-beginning"]);
    assert!(again.contains("0 dead-lettered") && again.contains("200000 archived"), "{again}");
    let tweets: Option<i64> = s.mysql().query_first("SELECT COUNT(*) FROM tweets").unwrap();
    assert_eq!(tweets, Some(200000));
    s.verify_every_window(&windows, &[]);
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn live_snapshots_of_tweets_arriving_as_they_happen_count_exactly_the_span_they_state() {
    let s = Services::streaming("livespans", 2);
    // The broker, shared with the tests beside this one, has stalled for over 10 s on this
    // machine: both clients ride out a minute of it, as a user's would with --kafka-wait.
    let mut stream =
        s.watch(&["stream", "--window", "1m", "--window", "5m/1m", "--until-idle", "5s", "--kafka-wait", "60"]);
    stream.wait_for_output("started: ", LIMIT);
    // A minute of event time at 100 tweets/s, sent at ten times its pace: the stream publishes as
    // the tweets arrive, not over a backlog.
    let produced =
        s.succeed(&["produce", "--from", "generator", "--tweets", "6000", "--speedup", "10", "--kafka-wait", "60"]);
    assert!(produced.contains("6000 confirmed, 0 failed"), "{produced}");
    let streamed = stream.finish(LIMIT);
    let summary = streamed.succeeded();
    assert!(summary.contains("6000 messages consumed") && summary.contains("0 dead-lettered"), "{summary}");
    let tweets: Vec<Tweet> = Generator::new(GeneratorConfig { tweets: 6_000, ..GeneratorConfig::default() })
        .expect("generator")
        .share(0, 1)
        .collect();
    let checked = check_snapshots(&s.topic_prefix, &tweets, &default_graph(specs(&["1m", "5m/1m"])), 1_000);
    assert!(checked.live > 50 && checked.finals > 0, "{checked:?}");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_live_stream_measures_its_end_to_end_latency() {
    let s = Services::streaming("latency", 2);
    let report = std::env::temp_dir().join(format!("{}latency.json", s.topic_prefix));
    let mut stream = s.watch(&[
        "stream",
        "--window",
        "1m",
        "--tick",
        "10ms",
        "--lateness",
        "0s",
        "--no-archive",
        "--until-idle",
        "5s",
        "--latency-report",
        report.to_str().expect("UTF-8 path"),
    ]);
    // Live tweets are timed from the moment they are due: the stream must be reading already.
    stream.wait_for_output("started: ", LIMIT);
    let produced = s.succeed(&["produce", "--from", "generator", "--live", "--rate", "2000", "--tweets", "4000"]);
    assert!(produced.contains("4000 confirmed, 0 failed"), "{produced}");
    let streamed = stream.finish(LIMIT);
    let summary = streamed.succeeded();
    assert!(summary.contains("0 dead-lettered"), "{summary}");

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("the latency report")).expect("report JSON");
    let ms = |name: &str| report[name].as_f64().unwrap();
    let consumed_p50 = report["consumed"]["p50_ms"].as_f64().unwrap();
    let brief = format!(
        "{} tweets ({} consumed): p50 {}, p99 {}, max {}; consumed after p50 {consumed_p50}",
        report["tweets"],
        report["consumed"]["tweets"],
        ms("p50_ms"),
        ms("p99_ms"),
        ms("max_ms")
    );
    // Every tweet is measured until consumed; until its rankings are computed and published, all
    // but those of the last tick, whose rankings wait for more input.
    assert_eq!(report["consumed"]["tweets"], 4000, "{brief}");
    let measured = report["tweets"].as_u64().unwrap();
    assert!((3_900..4_000).contains(&measured), "{brief}");
    assert_eq!(report["own"]["tweets"], measured, "{brief}");
    // Each of those was in a tick the input frontier had passed: none published before that.
    assert_eq!(report["closed"]["tweets"], measured, "{brief}");
    assert!(report["closed"]["p50_ms"].as_f64().unwrap() <= report["own"]["p50_ms"].as_f64().unwrap(), "{brief}");
    assert!((measured..4_000).contains(&report["ranked"]["tweets"].as_u64().unwrap()), "{brief}");
    assert!(0.0 < ms("p50_ms") && ms("p50_ms") <= ms("p99_ms") && ms("p99_ms") <= ms("max_ms"), "{brief}");
    assert!(0.0 < consumed_p50 && consumed_p50 < ms("p50_ms"), "a tweet is consumed before it is ranked: {brief}");
    // Stamped with the moment they were due, not the generator's event times (which would be
    // off by years): the slowest tweet, waiting for the stream to start, took seconds at most.
    assert!(ms("max_ms") < 30_000.0, "{brief}");
    assert!(summary.contains(&format!("latency over {measured} tweets to their rankings published: p50")), "{summary}");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn bad_and_late_messages_are_dead_lettered_with_their_reason_and_duplicates_change_nothing() {
    // Ten minutes of tweets, one a second.
    let (s, tweets_topic, good) = one_tweet_a_second("deadletter", 1, 600);
    let mut first: Vec<(String, Vec<u8>)> = good[..500].iter().map(|t| (t.id.to_string(), seed_json(t))).collect();
    let with_extra_field = {
        let mut value: serde_json::Value = serde_json::from_slice(&first[7].1).unwrap();
        value["source"] = "unknown extra fields are fine".into();
        serde_json::to_vec(&value).unwrap()
    };
    first[7].1 = with_extra_field;
    let bad: [(&str, &[u8]); 6] = [
        ("empty message", b""),
        ("malformed tweet JSON", b"{\"tweet_id\": 1, "),
        ("missing field `tweet_id`", b"{\"tweet\": \"#x\", \"date_time\": \"2021-08-29 19:51:27 EDT\"}"),
        ("invalid type", b"{\"tweet_id\": \"one\", \"tweet\": \"#x\"}"),
        ("invalid UTF-8", b"\xff\xfe{}"),
        ("outside 2006..2100", b"{\"tweet_id\": 2, \"tweet\": \"#x\", \"date_time\": \"1970-01-01 00:00:00 UTC\"}"),
    ];
    for (i, (_, payload)) in bad.iter().enumerate() {
        first.insert(50 * i + 3, (format!("bad-{i}"), payload.to_vec()));
    }
    // A producer's retry: the same tweet again, a moment later.
    first.insert(400, (good[390].id.to_string(), seed_json(&good[390])));
    send_raw(&tweets_topic, 0, &first);

    // Idle for 30 s before it ends: the test must send the late tweet before then, once it has
    // seen a window well after that tweet close.
    let stream = s.watch(&["stream", "--window", "1m", "--until-idle", "30s", "--no-archive"]);
    // A tweet from the second minute is late once a window well after it has closed.
    let late = Tweet { id: 1, created_at: good[100].created_at, ..good[100].clone() };
    let closed_after_late = || {
        read_topic(&format!("{}top_hashtags", s.topic_prefix), 0).iter().any(|(_, value)| {
            let snapshot: SnapshotMessage<serde_json::Value> = serde_json::from_str(value).expect("a snapshot");
            snapshot.coverage.is_final && snapshot.coverage.window_end_ms > late.created_at + 120_000
        })
    };
    wait_for("a final ranking of a window two minutes after the late tweet", LIMIT, closed_after_late);
    let mut second = vec![(late.id.to_string(), seed_json(&late))];
    second.extend(good[500..].iter().map(|t| (t.id.to_string(), seed_json(t))));
    send_raw(&tweets_topic, 0, &second);
    let summary = stream.finish(LIMIT).succeeded().to_string();
    assert!(summary.contains("608 messages consumed") && summary.contains("7 dead-lettered (1 late"), "{summary}");
    assert!(summary.contains("1 duplicates dropped"), "{summary}");

    let letters = read_dead_letters(&format!("{}tweets_dead_letter", s.topic_prefix), 7);
    let reasons: Vec<String> = letters
        .into_iter()
        .map(|letter| {
            assert_eq!(letter.topic, tweets_topic);
            assert!(letter.offset >= 0, "{letter:?}");
            letter.reason
        })
        .collect();
    assert_eq!(reasons.len(), 7, "{reasons:?}");
    for (expected, _) in bad {
        assert!(
            reasons.iter().any(|reason| reason.contains(expected)),
            "no dead letter says '{expected}': {reasons:?}"
        );
    }
    assert!(reasons.iter().any(|reason| reason.starts_with("late: event time")), "{reasons:?}");

    // The views are those of the good, on-time tweets alone.
    let windows = specs(&["1m"]);
    let speed = stored_views(&s.mysql_url, Layer::Speed, &windows);
    let expected = reference::final_views(&good, &default_graph(windows));
    assert!(speed == expected, "{}", speed.first_difference(&expected).unwrap_or_default());
}

/// The input frontier follows the slowest partition, so the tweets of one far ahead could only
/// wait inside the graph: the worker leaves such a partition unread until the rankings have
/// caught up with it, and the views are still those of every tweet.
#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_partition_far_ahead_of_another_waits_for_it_and_the_views_hold_every_tweet() {
    // Forty minutes of tweets, one a second: partition 1 holds the first 25, partition 0 the
    // last 15, which a worker reading both in turn meets 25 minutes ahead of the other.
    let (s, tweets_topic, tweets) = one_tweet_a_second("ahead", 2, 2400);
    let messages = |tweets: &[Tweet]| tweets.iter().map(|t| (t.id.to_string(), seed_json(t))).collect::<Vec<_>>();
    send_raw(&tweets_topic, 1, &messages(&tweets[..1500]));
    send_raw(&tweets_topic, 0, &messages(&tweets[1500..]));

    let mut stream = s.command(&["stream", "--window", "1m", "-w", "1", "--until-idle", "5s", "--no-archive"]);
    stream.env("RUST_LOG", "trendflow::kafka::source::polling=debug");
    let ended = run_bounded(stream);
    let (summary, log) = (&ended.stdout, &ended.stderr);
    assert!(ended.status.success(), "{summary}\n{log}");
    assert!(log.contains("holding back partitions [0]"), "partition 0 was never held back:\n{log}");
    assert!(summary.contains("2400 messages consumed") && summary.contains(" 0 dead-lettered"), "{summary}");
    let windows = specs(&["1m"]);
    let speed = stored_views(&s.mysql_url, Layer::Speed, &windows);
    let expected = reference::final_views(&tweets, &default_graph(windows));
    assert!(speed == expected, "{}", speed.first_difference(&expected).unwrap_or_default());
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_missing_broker_a_missing_topic_and_a_bad_setting_get_one_clear_line() {
    let s = Services::fresh("kafkaerrors");
    let down =
        s.run(&["topics", "create", "--brokers", "127.0.0.1:1", "--kafka-wait", "2", "-X", "sasl.password=hunter2"]);
    let message = &down.stderr;
    assert!(!down.status.success());
    assert!(message.contains("127.0.0.1:1") && message.contains("scripts/kafka.sh"), "{message}");
    assert!(!message.contains("hunter2"), "the password leaked: {message}");
    assert_eq!(message.trim().lines().count(), 1, "one line: {message}");

    let missing = s.run(&["produce", "--from", "generator", "--tweets", "10"]);
    let message = &missing.stderr;
    assert!(!missing.status.success() && message.contains("create it with: trendflow topics create"), "{message}");

    // More workers than partitions: a warning, and the job still runs.
    s.succeed(&["db", "init"]);
    s.succeed(&["topics", "create", "--partitions", "1"]);
    let crowded = s.run(&["stream", "-w", "3", "--until-idle", "1", "--no-archive"]);
    let message = &crowded.stderr;
    assert!(crowded.status.success(), "{message}");
    assert!(
        message.contains("3 workers share 1 partitions") && message.contains("2 workers will have no input"),
        "{message}"
    );

    let typo = s.run(&["stream", "-X", "fetch.wait.max.msec=5"]);
    let message = &typo.stderr;
    assert!(!typo.status.success() && message.contains("invalid -X setting"), "{message}");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_stream_serves_its_operator_metrics_for_prometheus() {
    let s = Services::streaming("streammetrics", 2);
    let mut tweets = seed_tweets();
    tweets.sort_by_key(|tweet| (tweet.created_at, tweet.id));
    let mut messages: Vec<(i32, String, Vec<u8>)> =
        tweets[..1_000].iter().enumerate().map(|(i, t)| ((i % 2) as i32, t.id.to_string(), seed_json(t))).collect();
    messages.insert(10, (0, "bad-1".into(), b"{not json".to_vec()));
    messages.insert(20, (0, "bad-2".into(), b"{\"tweet_id\": 1".to_vec()));
    messages.insert(30, (1, "empty".into(), Vec::new()));
    send_messages(&format!("{}tweets", s.topic_prefix), &messages);

    let mut stream = s.watch(&["stream", "--window", "1m", "--no-archive", "--metrics-listen", "127.0.0.1:0"]);
    let url = stream.metrics_url();
    let scrape = || Metrics::scrape(&url);
    // Every message read, and each partition read to its end as of the last checkpoint.
    wait_for("the stream to read every message", LIMIT, || {
        let metrics = scrape();
        metrics.value("trendflow_stream_messages_consumed_total", &[]) == Some(1_003.0)
            && ["0", "1"]
                .iter()
                .all(|p| metrics.value("trendflow_stream_partition_lag_messages", &[("partition", p)]) == Some(0.0))
    });
    let metrics = scrape();
    let text = &metrics.text;
    assert_eq!(
        metrics.value("trendflow_stream_dead_lettered_total", &[("reason", "malformed_json")]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metrics.value("trendflow_stream_dead_lettered_total", &[("reason", "empty_message")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(metrics.value("trendflow_stream_duplicates_total", &[]), Some(0.0), "{text}");
    // Each partition's watermark is its latest tweet less the lateness (5 s by default).
    for partition in [0, 1] {
        let newest = tweets[..1_000].iter().skip(partition).step_by(2).map(|t| t.created_at).max().unwrap();
        let label = partition.to_string();
        let watermark = metrics.value("trendflow_stream_partition_watermark_ms", &[("partition", &label)]);
        assert_eq!(watermark, Some((newest - 5_000) as f64), "partition {partition}: {text}");
    }
    assert!(metrics.value("trendflow_stream_snapshots_published_total", &[]).is_some_and(|n| n > 0.0), "{text}");
    assert!(metrics.value("trendflow_stream_checkpoint_age_seconds", &[]).is_some(), "{text}");
    assert!(text.contains("trendflow_stream_publish_delay_seconds_bucket"), "{text}");
    stream.terminate();
    stream.finish(LIMIT).succeeded();
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_stream_without_the_hashtags_topic_publishes_rankings_and_no_occurrences() {
    let s = Services::streaming("nohashtagstopic", 1);
    let tweets: Vec<(String, Vec<u8>)> =
        seed_tweets().iter().take(300).map(|tweet| (tweet.id.to_string(), seed_json(tweet))).collect();
    send_raw(&format!("{}tweets", s.topic_prefix), 0, &tweets);
    let streamed =
        s.succeed(&["stream", "--window", "1m", "--no-archive", "--no-hashtags-topic", "--until-idle", "3s"]);
    assert!(streamed.contains("300 messages consumed"), "{streamed}");
    let config = default_graph(specs(&["1m"]));
    // Every window of those tweets has its final rankings, as the reference computes them.
    let checked = check_snapshots(&s.topic_prefix, &seed_tweets()[..300], &config, 1_000);
    assert!(checked.finals > 0, "{checked:?}");
    assert_eq!(read_topic(&format!("{}hashtags", s.topic_prefix), 0), Vec::new(), "no hashtag occurrences");
}

/// A checkpoint waits for the broker to confirm the messages sent before it was taken, whatever
/// was sent after: the sink tells them apart by number, and the broker's confirmations, not
/// librdkafka's queue, settle them.
#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn the_messages_sent_before_a_checkpoint_are_confirmed_by_the_broker() {
    let s = Services::streaming("confirmations", 1);
    let kafka = s.kafka_config();
    let sink = KafkaSink::new(&kafka).expect("a producer");
    let topic = kafka.topic(Topic::Hashtags);
    let send = |numbers: std::ops::Range<u32>| {
        for number in numbers {
            sink.send(&topic, b"#a", number.to_string().as_bytes()).expect("sending");
        }
    };
    send(0..500);
    let before_checkpoint = sink.sent_so_far();
    send(500..1_000);
    sink.wait_for(before_checkpoint).expect("the broker confirms");
    assert!(sink.confirmed(before_checkpoint).expect("no refusals"));
    assert!(sink.report().delivered >= 500, "{:?}", sink.report());
    assert_eq!(sink.flush().expect("the broker confirms the rest").delivered, 1_000);
    assert_eq!(read_topic(&topic, 1_000).len(), 1_000);
}
