//! A worker's partitions of the `tweets` topic: assigned explicitly (no consumer group), each
//! read from a queue of its own, polled in rounds one message per partition in turn so that they
//! keep in step, and a partition far ahead of the published rankings held back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};
use trendflow_dataflows::window::format_duration;
use trendflow_dataflows::EventTime;

use crate::kafka::source::broker::{position_lost, BrokerWatch, ConsumerError};
use crate::kafka::source::watermarks::PartitionWatermarks;
use crate::kafka::{KafkaConfig, Topic};

/// What a burst read, in the order read.
pub enum Polled<'a> {
    Message(BorrowedMessage<'a>),
    /// The end of a partition, as it was when the consumer reached it.
    End(i32),
}

/// One burst of a worker's reading.
pub struct Burst<'a> {
    pub polled: Vec<Polled<'a>>,
    /// Whether the burst took everything the consumer had fetched.
    pub drained: bool,
}

/// A worker's consumer, its partitions assigned, each with a queue of its own.
pub struct PartitionQueues {
    kafka: KafkaConfig,
    topic: String,
    consumer: Arc<BaseConsumer>,
    queues: Vec<(i32, PartitionQueue<DefaultConsumerContext>)>,
}

impl PartitionQueues {
    /// A consumer that reads `partitions` of the `tweets` topic from their `stored` offsets, or
    /// the beginning. A message arriving while the worker is parked wakes it at once: the idle
    /// wait is otherwise part of every tweet's latency.
    pub fn assign(kafka: &KafkaConfig, partitions: &[i32], stored: &BTreeMap<i32, i64>) -> Result<Self> {
        let topic = kafka.topic(Topic::Tweets);
        let consumer = kafka.tailing_consumer()?;
        let mut assignment = TopicPartitionList::new();
        for partition in partitions {
            let offset = stored.get(partition).map_or(Offset::Beginning, |offset| Offset::Offset(*offset));
            assignment
                .add_partition_offset(&topic, *partition, offset)
                .with_context(|| format!("assigning partition {partition} of '{topic}'"))?;
        }
        consumer.assign(&assignment).map_err(|e| kafka.explain(e)).context("assigning partitions")?;
        let consumer = Arc::new(consumer);
        let worker_thread = std::thread::current();
        let queues = partitions
            .iter()
            .map(|&partition| {
                let mut queue = consumer
                    .split_partition_queue(&topic, partition)
                    .ok_or_else(|| anyhow!("no partition {partition} of '{topic}' to read"))?;
                let waiting = worker_thread.clone();
                queue.set_nonempty_callback(move || waiting.unpark());
                Ok((partition, queue))
            })
            .collect::<Result<_>>()?;
        Ok(PartitionQueues { kafka: kafka.clone(), topic, consumer, queues })
    }

    pub fn consumer(&self) -> &BaseConsumer {
        &self.consumer
    }

    /// Reads up to `limit` messages (and partition ends) from the partitions not `held_back`,
    /// telling `broker` whether it answers. An error of the consumer ends the burst early; one
    /// that says the stored positions are gone fails it.
    pub fn poll(&self, limit: usize, held_back: &[i32], broker: &mut BrokerWatch) -> Result<Burst<'_>> {
        let open = self.queues.iter().filter(|(partition, _)| !held_back.contains(partition));
        let mut round = Round::new(&self.consumer, open.map(|(_, queue)| queue).collect());
        let mut burst = Burst { polled: Vec::new(), drained: false };
        for _ in 0..limit {
            let Some(next) = round.next() else {
                burst.drained = true;
                break;
            };
            match next.map_err(ConsumerError::from) {
                Ok(message) => {
                    broker.heard_from();
                    burst.polled.push(Polled::Message(message));
                }
                Err(ConsumerError::End(partition)) => burst.polled.push(Polled::End(partition)),
                Err(ConsumerError::PositionLost(error)) => return Err(position_lost(&self.kafka, &self.topic, error)),
                Err(ConsumerError::BrokerAway(error)) => {
                    broker.lost(&error, Instant::now());
                    break;
                }
                Err(ConsumerError::Transient(error)) => {
                    log::warn!("reading '{}' from {}: {error}; retrying", self.topic, self.kafka);
                    break;
                }
            }
        }
        Ok(burst)
    }
}

/// One round of a worker's reading: the consumer's own queue first, where errors that concern no
/// partition (a broker away) come, then the partitions it reads this round in turn, one message
/// each, so that they keep in step.
struct Round<'a> {
    consumer: &'a BaseConsumer,
    own_queue_drained: bool,
    partitions: Vec<&'a PartitionQueue<DefaultConsumerContext>>,
    turn: usize,
}

impl<'a> Round<'a> {
    fn new(consumer: &'a BaseConsumer, partitions: Vec<&'a PartitionQueue<DefaultConsumerContext>>) -> Self {
        Round { consumer, own_queue_drained: false, partitions, turn: 0 }
    }

    /// The next message or error; `None` once every queue has nothing more for now.
    fn next(&mut self) -> Option<KafkaResult<BorrowedMessage<'a>>> {
        if !self.own_queue_drained {
            match self.consumer.poll(Duration::ZERO) {
                Some(polled) => return Some(polled),
                None => self.own_queue_drained = true,
            }
        }
        while !self.partitions.is_empty() {
            self.turn %= self.partitions.len();
            match self.partitions[self.turn].poll(Duration::ZERO) {
                Some(polled) => {
                    self.turn += 1;
                    return Some(polled);
                }
                None => {
                    self.partitions.remove(self.turn);
                }
            }
        }
        None
    }
}

/// How far, in event time, a partition may run ahead of the published rankings (beyond the
/// lateness) before the worker stops reading it.
///
/// The graph's input frontier follows the slowest partition, so the tweets of one far ahead wait
/// inside the graph, in memory, until it catches up: on a replay of a backlog, where one
/// partition's fetches can outrun another's for minutes, that was a gigabyte. Each partition has
/// a consumer queue of its own, and a worker does not read one that is this far ahead of the
/// published rankings; librdkafka keeps what it fetched for it (up to its per-partition limit,
/// `queued.max.messages.kbytes`). The slowest partition is never that far ahead, so the rankings
/// always catch up. (Pausing such a partition instead made librdkafka drop what it had fetched
/// for it, and a replay lost a third of its throughput.)
const MAX_AHEAD_MS: u64 = 600_000;

/// Which of a worker's partitions are too far ahead of the published rankings to read now.
pub struct HoldBack {
    worker: usize,
    topic: String,
    max_ahead_ms: u64,
    held_back: Vec<i32>,
}

impl HoldBack {
    /// For worker `worker`, whose partitions of `topic` may deliver tweets up to `lateness_ms` late.
    pub fn new(worker: usize, topic: String, lateness_ms: u64) -> Self {
        HoldBack { worker, topic, max_ahead_ms: lateness_ms + MAX_AHEAD_MS, held_back: Vec::new() }
    }

    /// The partitions to leave unread while the rankings are published up to `output_frontier`
    /// (`None`: all of them); a change is logged.
    pub fn partitions(&mut self, output_frontier: Option<EventTime>, marks: &PartitionWatermarks) -> &[i32] {
        let held_back = output_frontier.map_or(Vec::new(), |time| marks.ahead_of(time + self.max_ahead_ms));
        if held_back != self.held_back {
            log::debug!(
                "worker {}: holding back partitions {held_back:?} of '{}', more than {} ahead of the published rankings",
                self.worker,
                self.topic,
                format_duration(self.max_ahead_ms)
            );
            self.held_back = held_back;
        }
        &self.held_back
    }
}
