//! The broker as the tests see it: topics read to their end, raw messages sent, and every
//! ranking snapshot the stream published checked against the reference.

use super::*;

/// Every message of a topic (all partitions, from the beginning) as (key, value) text, read
/// until the consumer has reached the end of every partition and holds at least `at_least`
/// messages. Fails the test, saying what it read, if that takes longer than [`LIMIT`] or
/// the topic has no partitions.
pub fn read_topic(topic: &str, at_least: usize) -> Vec<(String, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", "trendflow-tests")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .expect("a test consumer");
    let metadata =
        consumer.fetch_metadata(Some(topic), LIMIT).unwrap_or_else(|e| panic!("reading {topic}'s metadata: {e}"));
    let partitions = metadata.topics().first().map_or(&[][..], |topic| topic.partitions());
    assert!(!partitions.is_empty(), "{topic} has no partitions: was it created?");
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        assignment.add_partition_offset(topic, partition.id(), Offset::Beginning).expect("assigning");
    }
    consumer.assign(&assignment).expect("assigning partitions");
    let deadline = Instant::now() + LIMIT;
    let mut at_end = std::collections::HashSet::new();
    let mut messages = Vec::new();
    while at_end.len() < partitions.len() || messages.len() < at_least {
        assert!(
            Instant::now() < deadline,
            "read {} of at least {at_least} messages of {topic} in {LIMIT:?}, {} of {} partitions to their end",
            messages.len(),
            at_end.len(),
            partitions.len()
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                at_end.remove(&message.partition());
                let text = |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).to_string();
                messages.push((text(message.key()), text(message.payload())));
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                at_end.insert(partition);
            }
            Some(Err(error)) => panic!("reading {topic}: {error}"),
            None => {}
        }
    }
    messages
}

/// The dead letters of `topic`, read as [`read_topic`] reads, until at least `at_least` are in.
pub fn read_dead_letters(topic: &str, at_least: usize) -> Vec<DeadLetter> {
    let letters = read_topic(topic, at_least);
    letters.iter().map(|(_, value)| serde_json::from_str(value).expect("a dead letter")).collect()
}

/// How many snapshots [`check_snapshots`] checked, of all three ranking topics.
#[derive(Debug)]
pub struct CheckedSnapshots {
    pub live: usize,
    pub finals: usize,
}

/// Checks every snapshot the stream published on the ranking topics (of `topic_prefix`) against
/// the reference for the stream's views of `tweets` under `config`: each one's rows, with their
/// ranks, and the trending view's partial baseline, over the span it states — a final one's
/// window, a live one's `[span_start, as_of)`. Each window of the reference's final views has
/// exactly one final snapshot, and no other window has one. A live snapshot has rows, and none is
/// as of a tick after the last tweet's (`tick_ms`: the stream's tick).
pub fn check_snapshots(topic_prefix: &str, tweets: &[Tweet], config: &GraphConfig, tick_ms: u64) -> CheckedSnapshots {
    let all = Tweets::new(tweets);
    let finals = reference::final_views(tweets, config);
    let mut spans: HashMap<(u64, u64), SpanViews> = HashMap::new();
    let last_tick = tweets.iter().map(|tweet| (tweet.created_at / tick_ms + 1) * tick_ms).max().unwrap_or(0);
    let mut checked = CheckedSnapshots { live: 0, finals: 0 };
    for (topic, kind) in [
        ("top_hashtags", ViewKind::Hashtags),
        ("top_tweets", ViewKind::Tweets),
        ("trending_hashtags", ViewKind::Trending),
    ] {
        let mut final_windows = BTreeSet::new();
        for (key, payload) in read_topic(&format!("{topic_prefix}{topic}"), 1) {
            let snapshot = SnapshotMessage::read(kind, payload.as_bytes())
                .unwrap_or_else(|e| panic!("a snapshot on {topic} ({e}): {payload}"));
            let spec: WindowSpec = snapshot.window.parse().expect("a window spec");
            let coverage = &snapshot.coverage;
            let (length, as_of, end) = (spec.length_ms(), coverage.as_of_ms, coverage.window_end_ms);
            assert_eq!(coverage.span_start_ms, as_of.saturating_sub(length), "{key}: {payload}");
            if coverage.is_final {
                assert_eq!((coverage.span, as_of), (Span::Window, end), "{key}: {payload}");
                assert!(final_windows.insert(Window { spec, end }), "{topic} {key}: a second final snapshot");
                checked.finals += 1;
            } else {
                assert_eq!(coverage.span, Span::Rolling, "{key}: {payload}");
                assert!(
                    end - spec.slide_ms() < as_of && as_of < end,
                    "{key}: as of {as_of}, not in the slide before its window's end"
                );
                assert!(as_of <= last_tick, "{key}: live as of {as_of}, after the last tweet's tick {last_tick}");
                assert!(!snapshot.rows.is_empty(), "{key}: a live snapshot without rows");
                checked.live += 1;
            }
            let span = spans.entry((length, as_of)).or_insert_with(|| all.views_over(config, length, as_of));
            let expected = match kind {
                ViewKind::Hashtags => ViewRows::Hashtags(RankedRow::numbered(&span.hashtags, None)),
                ViewKind::Tweets => ViewRows::Tweets(RankedRow::numbered(&span.tweets, None)),
                _ => {
                    let trending = span.trending.clone().unwrap_or_default();
                    assert_eq!(snapshot.partial_baseline, Some(trending.partial_baseline), "{key}: {payload}");
                    ViewRows::Trending(RankedRow::numbered(&trending.rows, Some(trending.partial_baseline)))
                }
            };
            assert_eq!(
                snapshot.rows, expected,
                "{topic} {key}: the rows differ from the reference over [{}, {})",
                snapshot.coverage.span_start, snapshot.coverage.as_of
            );
        }
        let expected: BTreeSet<Window> = match kind {
            ViewKind::Hashtags => finals.hashtags.keys().copied().collect(),
            ViewKind::Tweets => finals.tweets.keys().copied().collect(),
            _ => finals.trending.keys().copied().collect(),
        };
        assert_eq!(final_windows, expected, "{topic}: the windows with a final snapshot");
    }
    checked
}

/// A live snapshot of the window of `spec` ending at `end`, as of a second before its end, with
/// `rows`: as `stream` publishes one before the window closes.
pub fn live_snapshot(spec: &str, end: u64, rows: Value) -> Vec<u8> {
    let length = spec.parse::<WindowSpec>().expect("a window spec").length_ms();
    let as_of = end - 1_000;
    let coverage = Coverage::rolling(end.saturating_sub(length), end, as_of.saturating_sub(length), as_of);
    let message = SnapshotMessage { window: spec.to_string(), coverage, partial_baseline: None, rows };
    serde_json::to_vec(&message).expect("a snapshot encodes")
}

/// Sends raw messages, as (partition, key, payload), waiting until the broker has them all.
/// Messages up to 4 MB may go (the stream must see, and refuse, more than its own limit).
pub fn send_messages(topic: &str, messages: &[(i32, String, Vec<u8>)]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("message.max.bytes", "4000000")
        .create()
        .expect("a test producer");
    for (partition, key, payload) in messages {
        producer
            .send(BaseRecord::to(topic).partition(*partition).key(key).payload(payload))
            .expect("queueing a message");
        producer.poll(Duration::ZERO);
    }
    producer.flush(LIMIT).expect("the broker takes the test messages");
}

/// A tweet as the seed's producer sends it to the `tweets` topic.
pub fn seed_json(tweet: &Tweet) -> Vec<u8> {
    serde_json::to_vec(&SeedTweet::from_tweet(tweet.clone())).expect("a tweet encodes as JSON")
}
