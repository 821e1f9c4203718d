//! Writing to Kafka: a producer that counts what the broker confirmed, and the messages trendflow
//! publishes — ranking snapshots, hashtag occurrences, dead letters ([`crate::vocabulary::dead_letter`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::ClientContext;
use trendflow_dataflows::Tweet;

use crate::kafka::KafkaConfig;
use crate::source::seed_tweet::SeedTweet;
use crate::vocabulary::occurrence::HashtagOccurrence;

/// Counts delivery reports, the broker's word on every message, not librdkafka's queue, and keeps
/// which messages it has yet to confirm: a checkpoint waits for those sent before it, not for
/// every message in flight, which under a steady stream is never none.
#[derive(Default)]
pub struct Deliveries {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
    unconfirmed: Mutex<Unconfirmed>,
}

/// Which messages the broker has answered, by number in the order they were sent, from the first
/// it has not; and since when it has answered none.
#[derive(Default)]
struct Unconfirmed {
    first: usize,
    answered: VecDeque<bool>,
    quiet_since: Option<Instant>,
}

impl Unconfirmed {
    /// Numbers the next message sent.
    fn sent(&mut self) -> usize {
        if self.answered.is_empty() {
            self.quiet_since = Some(Instant::now());
        }
        self.answered.push_back(false);
        self.first + self.answered.len() - 1
    }

    fn answered(&mut self, number: usize) {
        if let Some(answered) = number.checked_sub(self.first).and_then(|slot| self.answered.get_mut(slot)) {
            *answered = true;
        }
        while self.answered.front() == Some(&true) {
            self.answered.pop_front();
            self.first += 1;
        }
    }

    /// The number the next message will get: every message before it was sent.
    fn next(&self) -> usize {
        self.first + self.answered.len()
    }

    /// Whether the broker has answered every message numbered below `number`.
    fn answered_before(&self, number: usize) -> bool {
        self.answered.is_empty() || self.first >= number
    }
}

impl Deliveries {
    fn unconfirmed(&self) -> MutexGuard<'_, Unconfirmed> {
        self.unconfirmed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    /// The message's number, in the order it was sent.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, number: usize) {
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
        let mut unconfirmed = self.unconfirmed();
        unconfirmed.answered(number);
        unconfirmed.quiet_since = Some(Instant::now());
    }
}

/// The messages sent before a moment: every one numbered below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentBefore(usize);

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
        let number = self.producer.context().unconfirmed().sent();
        let mut record = BaseRecord::with_opaque_to(topic, number).key(key).payload(value);
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
                Err((error, _)) => {
                    self.producer.context().unconfirmed().answered(number);
                    return Err(self.config.explain(error)).context(format!("producing to '{topic}'"));
                }
            }
        }
    }

    /// Queues a tweet for `topic` as `produce` sends one: its row as JSON, keyed by its id.
    pub fn send_row(&self, topic: &str, row: &SeedTweet) -> Result<()> {
        let value = serde_json::to_vec(row).context("encoding a tweet")?;
        self.send(topic, row.tweet_id.to_string().as_bytes(), &value)
    }

    /// The messages sent so far: [`confirmed`](Self::confirmed) tells when the broker has them.
    pub fn sent_so_far(&self) -> SentBefore {
        SentBefore(self.producer.context().unconfirmed().next())
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

    /// Whether the broker has confirmed every message of `sent`, serving delivery reports without
    /// waiting. Fails if the broker refused any message so far, or if it confirmed nothing for
    /// the configured wait (`--kafka-wait`, at least 30 s) while messages were outstanding.
    pub fn confirmed(&self, sent: SentBefore) -> Result<bool> {
        self.poll();
        let report = self.report();
        if report.failed > 0 {
            bail!(
                "{}: the broker refused {} messages (first error: {})",
                self.config,
                report.failed,
                report.first_error.as_deref().unwrap_or("unknown")
            );
        }
        let unconfirmed = self.producer.context().unconfirmed();
        let outstanding = !unconfirmed.answered_before(sent.0);
        let quiet = unconfirmed.quiet_since.map_or(Duration::ZERO, |since| since.elapsed());
        if outstanding && quiet > self.config.wait().max(FLUSH_QUIET_LIMIT) {
            bail!(
                "{}: {} messages still unconfirmed, and none confirmed for {quiet:.0?}; is the broker up?",
                self.config,
                unconfirmed.answered.iter().filter(|answered| !**answered).count()
            );
        }
        Ok(!outstanding)
    }

    /// Waits until the broker has confirmed every message of `sent` (see
    /// [`confirmed`](Self::confirmed) for when it fails instead). It waits as long as the broker
    /// keeps answering: a broker back from a crash confirms a backlog for a while, and librdkafka
    /// fails each message after `message.timeout.ms` at the latest, so the wait ends.
    pub fn wait_for(&self, sent: SentBefore) -> Result<()> {
        while !self.confirmed(sent)? {
            self.producer.poll(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Waits until every message sent so far is confirmed, and reports.
    pub fn flush(&self) -> Result<DeliveryReport> {
        self.wait_for(self.sent_so_far())?;
        Ok(self.report())
    }
}

/// The shortest time a flush waits for the broker's next confirmation before it gives up.
const FLUSH_QUIET_LIMIT: Duration = Duration::from_secs(30);

/// How long sending may wait for room in the local queue before it says what it waits for.
const QUEUE_FULL_NEWS: Duration = Duration::from_secs(2);

/// One hashtag occurrence for the `hashtags` topic, keyed by the hashtag.
pub fn hashtag_json(tweet: &Tweet, hashtag: &str) -> serde_json::Result<String> {
    serde_json::to_string(&HashtagOccurrence::of(tweet, hashtag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::KafkaArgs;

    /// A checkpoint waits for the messages sent before it, not for every message in flight: with
    /// no broker to confirm anything, nothing before the first message is outstanding, and the
    /// first message is.
    #[test]
    fn what_was_sent_before_a_moment_is_told_apart_from_what_came_after() {
        let args = KafkaArgs {
            brokers: "127.0.0.1:9".into(),
            settings: Vec::new(),
            topic_prefix: String::new(),
            kafka_wait_secs: 1,
        };
        let sink = KafkaSink::new(&args.config().unwrap()).unwrap();
        let before = sink.sent_so_far();
        assert!(sink.confirmed(before).unwrap());
        sink.send("tweets", b"key", b"value").unwrap();
        let after = sink.sent_so_far();
        assert!(sink.confirmed(before).unwrap(), "the message came after");
        assert!(!sink.confirmed(after).unwrap(), "no broker confirmed the message");
    }

    /// The broker answers the partitions of a topic separately, so out of the order they were sent.
    #[test]
    fn messages_answered_out_of_order_are_settled_from_the_first_unanswered() {
        let mut unconfirmed = Unconfirmed::default();
        let numbers: Vec<usize> = (0..4).map(|_| unconfirmed.sent()).collect();
        assert_eq!(numbers, [0, 1, 2, 3]);
        assert!(unconfirmed.answered_before(0));
        unconfirmed.answered(1);
        unconfirmed.answered(3);
        assert!(!unconfirmed.answered_before(1), "0 is not answered");
        unconfirmed.answered(0);
        assert!(unconfirmed.answered_before(2));
        assert!(!unconfirmed.answered_before(3), "2 is not answered");
        assert!(!unconfirmed.answered_before(unconfirmed.next()));
        unconfirmed.answered(2);
        assert!(unconfirmed.answered_before(unconfirmed.next()));
        assert_eq!(unconfirmed.sent(), 4);
    }
}
