//! What a reading worker knows of the broker: what the consumer's errors mean, whether the broker
//! answers ([`BrokerWatch`]), whether it still has the stored positions ([`check_positions`]),
//! and how far its partitions reach ([`HighOffsets`]).

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::checkpoint::ResumePoint;
use crate::kafka::{is_broker_away, KafkaConfig, Topic};

/// The message when the broker no longer has the records at a stored position.
const POSITION_LOST: &str = "the broker no longer has the records at the stored positions (deleted by retention, \
    a recreated topic, or storage lost); rerun with --from-beginning to rebuild the views from what it has";

/// What an error of the consumer means to a worker.
pub enum ConsumerError {
    /// The consumer has read this partition to its end, as it was then: no error at all.
    End(i32),
    /// The broker no longer has the records where reading resumed: the job cannot go on.
    PositionLost(KafkaError),
    /// The broker is away, or the connection to it failed: librdkafka reconnects, and the worker
    /// waits for it as long as `--kafka-wait` allows ([`BrokerWatch`]).
    BrokerAway(KafkaError),
    /// Anything else: the worker reads again in its next round.
    Transient(KafkaError),
}

impl From<KafkaError> for ConsumerError {
    fn from(error: KafkaError) -> Self {
        match error {
            KafkaError::PartitionEOF(partition) => ConsumerError::End(partition),
            error if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AutoOffsetReset) => {
                ConsumerError::PositionLost(error)
            }
            error if is_broker_away(&error) => ConsumerError::BrokerAway(error),
            error => ConsumerError::Transient(error),
        }
    }
}

/// The error of a job that cannot resume where it stored its positions.
pub fn position_lost(kafka: &KafkaConfig, topic: &str, error: KafkaError) -> anyhow::Error {
    anyhow!("reading '{topic}' from {kafka}: {error}: {POSITION_LOST}")
}

/// Whether the broker answers, asked when the input has been quiet for a while. A consumer cannot
/// tell a broker that is away from one with nothing new (librdkafka reconnects quietly), and a
/// stream must not take the one for the other: that would end `--until-idle` early, or take
/// partitions for idle. A broker away for longer than the allowed wait ends the job.
pub struct BrokerWatch {
    kafka: KafkaConfig,
    topic: String,
    down_since: Option<Instant>,
    /// Whether a message came since the broker was last asked: then there is no need to ask.
    heard: bool,
}

impl BrokerWatch {
    /// Watches the broker of `kafka` through its `tweets` topic.
    pub fn new(kafka: &KafkaConfig) -> Self {
        BrokerWatch { kafka: kafka.clone(), topic: kafka.topic(Topic::Tweets), down_since: None, heard: false }
    }

    /// Whether the broker has not answered lately.
    pub fn is_down(&self) -> bool {
        self.down_since.is_some()
    }

    /// Records that a message came.
    pub fn heard_from(&mut self) {
        self.heard = true;
        self.answered();
    }

    /// Records that the broker answered (a message came, or metadata).
    fn answered(&mut self) {
        if let Some(since) = self.down_since.take() {
            log::warn!("{}: answering again after {:.1} s; reading on", self.kafka, since.elapsed().as_secs_f64());
        }
    }

    /// Records that the broker has not answered since `since`.
    pub fn lost(&mut self, error: &KafkaError, since: Instant) {
        if self.down_since.is_none() {
            log::warn!("{}: not answering ({error}); waiting up to {:?} for it", self.kafka, self.kafka.wait());
            self.down_since = Some(since);
        }
    }

    /// Unless a message came since the last time, asks the broker for the topic's metadata;
    /// fails once it has not answered for longer than allowed. The question may take
    /// `METADATA_PATIENCE`: a broker that answers slowly is busy, not away.
    pub fn check_if_quiet(&mut self, consumer: &BaseConsumer) -> Result<()> {
        if std::mem::take(&mut self.heard) {
            return Ok(());
        }
        let (asked, allowed) = (Instant::now(), self.kafka.wait());
        match consumer.fetch_metadata(Some(&self.topic), METADATA_PATIENCE.min(allowed)) {
            Ok(_) => self.answered(),
            Err(error) => {
                self.lost(&error, asked);
                if let Some(since) = self.down_since.filter(|since| since.elapsed() > allowed) {
                    return Err(self.kafka.explain(error)).context(format!(
                        "the broker has not answered for {:.0} s; waited as long as --kafka-wait allows",
                        since.elapsed().as_secs_f64()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// How long a quiet stream waits for the broker's answer when it asks whether the broker is there.
/// tansu, under the load of other clients, has taken more than a second to answer metadata for
/// ten seconds on end while it went on serving them; the stream took it for away, and ended.
const METADATA_PATIENCE: Duration = Duration::from_secs(5);

/// Fails unless the broker still has every stored position: otherwise a restart would skip
/// records, or (on brokers that do not report it) wait for them forever.
pub fn check_positions(kafka: &KafkaConfig, consumer: &BaseConsumer, resume: &ResumePoint) -> Result<()> {
    let topic = kafka.topic(Topic::Tweets);
    for (&partition, &offset) in &resume.offsets {
        let (low, high) = consumer
            .fetch_watermarks(&topic, partition, kafka.wait())
            .map_err(|e| kafka.explain(e))
            .with_context(|| format!("reading the offsets of partition {partition} of '{topic}'"))?;
        if offset < low || offset > high {
            bail!(
                "partition {partition} of '{topic}': position {offset} is outside the offsets {low} to {high} \
                 of {kafka}: {POSITION_LOST}"
            );
        }
    }
    Ok(())
}

/// The broker's high offsets of the `tweets` partitions, asked for on demand (at a metrics
/// scrape), by a client of their own, off the workers' way.
pub struct HighOffsets {
    client: BaseConsumer,
    topic: String,
}

impl HighOffsets {
    pub fn new(kafka: &KafkaConfig) -> Result<Self> {
        Ok(HighOffsets { client: kafka.metadata_client()?, topic: kafka.topic(Topic::Tweets) })
    }

    /// The offset after the last message of `partition`, if the broker answers within a second.
    pub fn of(&self, partition: i32) -> Option<i64> {
        self.client.fetch_watermarks(&self.topic, partition, Duration::from_secs(1)).ok().map(|(_, high)| high)
    }
}
