//! Writing to Kafka: a producer that counts what the broker confirmed, and the messages trendflow
//! publishes — ranking snapshots, hashtag occurrences, dead letters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::ClientContext;
use serde::Serialize;
use serde_json::json;
use trendflow_dataflows::views::{Ranking, Snapshot};
use trendflow_dataflows::window::Window;
use trendflow_dataflows::Tweet;

use crate::kafka::KafkaConfig;
use crate::time::rfc3339;

/// Counts delivery reports: the broker's word on every message, not librdkafka's queue.
#[derive(Default)]
pub struct Deliveries {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                first.get_or_insert_with(|| error.to_string());
            }
        }
    }
}

/// What the broker confirmed so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: u64,
    pub failed: u64,
    pub first_error: Option<String>,
}

/// A producer for one thread. Sending never blocks for long: a full local queue is drained by
/// polling, which is also what runs the delivery callbacks.
pub struct KafkaSink {
    producer: BaseProducer<Deliveries>,
    config: KafkaConfig,
}

impl KafkaSink {
    /// A producer with trendflow's defaults: idempotent (no duplicates from retries, order kept
    /// per partition), small batches lingering a few milliseconds. Any `-X` overrides them.
    pub fn new(config: &KafkaConfig) -> Result<Self> {
        let client = config.client_config_with(&[
            ("enable.idempotence", "true"),
            ("linger.ms", "5"),
            ("compression.type", "none"),
            ("message.timeout.ms", "120000"),
            // librdkafka queues up to 1 GiB by default; past 32 MiB, sending waits for the broker,
            // which holds the job's memory bounded when the broker is slower than the graph.
            ("queue.buffering.max.kbytes", "32768"),
        ]);
        let producer = BaseProducer::from_config_and_context(&client, Deliveries::default())
            .with_context(|| format!("creating a Kafka producer for {config}"))?;
        Ok(KafkaSink { producer, config: config.clone() })
    }

    /// Queues a message for `topic`, waiting while librdkafka's queue is full.
    pub fn send(&self, topic: &str, key: &[u8], value: &[u8]) -> Result<()> {
        let mut record = BaseRecord::to(topic).key(key).payload(value);
        let started = Instant::now();
        let mut said = false;
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    self.producer.poll(Duration::from_millis(10));
                    if !said && started.elapsed() > QUEUE_FULL_NEWS {
                        said = true;
                        log::warn!(
                            "{}: waiting for the broker to take queued messages (a message it has not \
                             confirmed within message.timeout.ms fails)",
                            self.config
                        );
                    }
                }
                Err((error, _)) => return Err(self.config.explain(error)).context(format!("producing to '{topic}'")),
            }
        }
    }

    /// Serves delivery reports without waiting.
    pub fn poll(&self) {
        self.producer.poll(Duration::ZERO);
    }

    /// What the broker confirmed so far.
    pub fn report(&self) -> DeliveryReport {
        let context = self.producer.context();
        DeliveryReport {
            delivered: context.delivered.load(Ordering::Relaxed),
            failed: context.failed.load(Ordering::Relaxed),
            first_error: context.first_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone(),
        }
    }

    /// Waits until every queued message is confirmed or has failed, and reports. It waits as long
    /// as the broker keeps answering: a broker back from a crash confirms a backlog for a while,
    /// and librdkafka fails each message after `message.timeout.ms` at the latest, so the wait
    /// ends. Fails if nothing was confirmed for the configured wait (`--kafka-wait`, at least
    /// 30 s) while messages were outstanding, or if the broker refused any.
    pub fn flush(&self) -> Result<DeliveryReport> {
        let quiet_limit = self.config.wait().max(FLUSH_QUIET_LIMIT);
        let answered = |report: &DeliveryReport| report.delivered + report.failed;
        let mut last_answered = answered(&self.report());
        let mut last_progress = Instant::now();
        while self.producer.in_flight_count() > 0 && last_progress.elapsed() < quiet_limit {
            self.producer.poll(Duration::from_millis(50));
            let now_answered = answered(&self.report());
            if now_answered > last_answered {
                last_answered = now_answered;
                last_progress = Instant::now();
            }
        }
        let report = self.report();
        let unconfirmed = self.producer.in_flight_count();
        if unconfirmed > 0 {
            bail!(
                "{}: {unconfirmed} messages still unconfirmed, and none confirmed for {quiet_limit:?}; is the broker up?",
                self.config
            );
        }
        if report.failed > 0 {
            bail!(
                "{}: the broker refused {} messages (first error: {})",
                self.config,
                report.failed,
                report.first_error.as_deref().unwrap_or("unknown")
            );
        }
        Ok(report)
    }
}

/// The shortest time a flush waits for the broker's next confirmation before it gives up.
const FLUSH_QUIET_LIMIT: Duration = Duration::from_secs(30);

/// How long sending may wait for room in the local queue before it says what it waits for.
const QUEUE_FULL_NEWS: Duration = Duration::from_secs(2);

/// The key of a window's snapshots: its spec and its end, such as `5m/1m@2021-08-29T23:55:00.000Z`.
/// All snapshots of one window share it, so a compacted topic keeps the latest (final) one.
pub fn window_key(window: &Window) -> String {
    format!("{}@{}", window.spec, rfc3339(window.end))
}

/// The message body of a ranking snapshot: the window, whether it is final, and the ranked rows;
/// for the trending view also whether the window's baseline is partial, on the snapshot and on
/// each row (as the view table and the serving layer's answers have it).
pub fn snapshot_json(snapshot: &Snapshot) -> String {
    fn body<R: Serialize>(ranking: &Ranking<R>, baseline: bool) -> String {
        let rows: Vec<serde_json::Value> = ranking
            .rows
            .iter()
            .enumerate()
            .map(|(rank, row)| {
                let mut fields = serde_json::Map::new();
                fields.insert("rank".into(), json!(rank + 1));
                if let serde_json::Value::Object(row) = serde_json::to_value(row).unwrap_or_default() {
                    fields.extend(row);
                }
                if baseline {
                    fields.insert("partial_baseline".into(), json!(ranking.partial_baseline));
                }
                serde_json::Value::Object(fields)
            })
            .collect();
        let window = &ranking.window;
        let mut body = json!({
            "window": window.spec.to_string(),
            "window_start": rfc3339(window.end.saturating_sub(window.spec.length_ms())),
            "window_end": rfc3339(window.end),
            "window_end_ms": window.end,
            "final": ranking.is_final,
            "rows": rows,
        });
        if baseline {
            body["partial_baseline"] = json!(ranking.partial_baseline);
        }
        body.to_string()
    }
    match snapshot {
        Snapshot::Hashtags(ranking) => body(ranking, false),
        Snapshot::Tweets(ranking) => body(ranking, false),
        Snapshot::Languages(ranking) => body(ranking, false),
        Snapshot::Trending(ranking) => body(ranking, true),
    }
}

/// One hashtag occurrence for the `hashtags` topic, keyed by the hashtag.
pub fn hashtag_json(tweet: &Tweet, hashtag: &str) -> String {
    json!({
        "tweet_id": tweet.id,
        "hashtag": hashtag,
        "created_at": rfc3339(tweet.created_at),
        "created_at_ms": tweet.created_at,
        "language": tweet.lang,
    })
    .to_string()
}

/// How much of a bad message a dead letter repeats: enough to find and fix it.
const DEAD_LETTER_PAYLOAD_BYTES: usize = 64 * 1024;

/// A dead letter: why the message could not be used, where it came from, and (the start of) what
/// it held, as text with invalid UTF-8 replaced.
pub fn dead_letter_json(reason: &str, topic: &str, partition: i32, offset: i64, payload: Option<&[u8]>) -> String {
    let payload = payload.unwrap_or_default();
    let shown = &payload[..payload.len().min(DEAD_LETTER_PAYLOAD_BYTES)];
    json!({
        "reason": reason,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "payload_bytes": payload.len(),
        "payload": String::from_utf8_lossy(shown),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use trendflow_dataflows::views::HashtagCount;

    #[test]
    fn a_snapshot_message_names_its_window_and_ranks() {
        let window = Window { spec: "5m/1m".parse().unwrap(), end: 1_630_281_300_000 };
        let snapshot = Snapshot::Hashtags(Ranking {
            window,
            rows: vec![
                HashtagCount { hashtag: "#a".into(), count: 3 },
                HashtagCount { hashtag: "#b".into(), count: 1 },
            ],
            is_final: true,
            partial_baseline: false,
        });
        assert_eq!(window_key(&window), "5m/1m@2021-08-29T23:55:00.000Z");
        let value: serde_json::Value = serde_json::from_str(&snapshot_json(&snapshot)).unwrap();
        assert_eq!(value["window_start"], "2021-08-29T23:50:00.000Z");
        assert_eq!(value["final"], true);
        assert_eq!(value["rows"][1], json!({"rank": 2, "hashtag": "#b", "count": 1}));
    }

    #[test]
    fn a_dead_letter_keeps_the_reason_the_source_and_a_readable_payload() {
        let value: serde_json::Value =
            serde_json::from_str(&dead_letter_json("invalid UTF-8", "tweets", 2, 41, Some(b"a\xffb"))).unwrap();
        assert_eq!(value["reason"], "invalid UTF-8");
        assert_eq!((value["partition"].as_i64(), value["offset"].as_i64()), (Some(2), Some(41)));
        assert_eq!(value["payload"], "a\u{fffd}b");
        let huge = vec![b'x'; 2 * DEAD_LETTER_PAYLOAD_BYTES];
        let value: serde_json::Value =
            serde_json::from_str(&dead_letter_json("too big", "tweets", 0, 0, Some(&huge))).unwrap();
        assert_eq!(value["payload_bytes"].as_u64(), Some(huge.len() as u64));
        assert_eq!(value["payload"].as_str().map(str::len), Some(DEAD_LETTER_PAYLOAD_BYTES));
    }
}
