//! The thread that follows the ranking topics for `serve`: it keeps [`LiveViews`] up to date,
//! reading the latest snapshots of every partition when it starts, and waits out a broker that
//! is away while the server answers from MySQL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::{KafkaConfig, Topic};
use crate::serve::live::LiveViews;
use crate::vocabulary::ViewKind;

/// How many of the latest snapshots of each partition a starting server reads, to find the open
/// windows without reading the topics from their beginning.
const BACKLOG: i64 = 1_000;

/// What a client is told while the broker does not answer.
const BROKER_AWAY: &str = "the broker is not answering";
/// What a client is told while the ranking topics cannot be read for another reason.
const CANNOT_READ: &str = "the ranking topics cannot be read; the server's log says why";

/// Follows the ranking topics on a thread of its own until `stop` is set, keeping `live` up to
/// date. A broker that is away is waited for: the server answers from MySQL meanwhile.
///
/// What is wrong is told to clients in words that name no broker, topic or setting (they may be
/// anyone); the details go to the log.
pub fn follow(kafka: KafkaConfig, live: Arc<RwLock<LiveViews>>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let result =
                subscribe(&kafka).and_then(|(consumer, backlog)| read(&kafka, &consumer, backlog, &live, &stop));
            if let Err(error) = result {
                log::warn!("following the ranking topics: {error:#}; trying again");
                if let Ok(mut live) = live.write() {
                    live.not_ready = Some(CANNOT_READ.into());
                    live.starting = false;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    })
}

/// Where each partition of the ranking topics ended when the follower subscribed: until it has
/// read that far, it does not know the open windows, and the server is not ready.
type Backlog = HashMap<(String, i32), i64>;

/// A consumer assigned the last [`BACKLOG`] snapshots of every partition of both topics, and the
/// backlog it has to read.
fn subscribe(kafka: &KafkaConfig) -> Result<(BaseConsumer, Backlog)> {
    let consumer = kafka.consumer()?;
    let mut backlog = Backlog::new();
    let mut assignment = TopicPartitionList::new();
    for topic in ViewKind::ALL.into_iter().filter_map(Topic::of_view) {
        let name = kafka.topic(topic);
        for partition in 0..kafka.partition_count(&consumer, topic)? {
            let (low, high) = consumer
                .fetch_watermarks(&name, partition, kafka.wait())
                .map_err(|e| kafka.explain(e))
                .with_context(|| format!("reading the offsets of '{name}'"))?;
            let start = (high - BACKLOG).max(low);
            assignment
                .add_partition_offset(&name, partition, Offset::Offset(start))
                .with_context(|| format!("assigning '{name}'"))?;
            if start < high {
                backlog.insert((name.clone(), partition), high);
            }
        }
    }
    consumer.assign(&assignment).map_err(|e| kafka.explain(e))?;
    Ok((consumer, backlog))
}

/// Reads snapshots into `live` until `stop` is set, or the broker stays away; the server is
/// ready once the `backlog` is read.
fn read(
    kafka: &KafkaConfig,
    consumer: &BaseConsumer,
    mut backlog: Backlog,
    live: &RwLock<LiveViews>,
    stop: &AtomicBool,
) -> Result<()> {
    let hashtags = kafka.topic(Topic::TopHashtags);
    // The view each ranking topic carries, by its name.
    let views: HashMap<String, ViewKind> =
        ViewKind::ALL.into_iter().filter_map(|kind| Some((kafka.topic(Topic::of_view(kind)?), kind))).collect();
    let catching_up = || format!("reading the latest {BACKLOG} snapshots of each ranking topic's partitions");
    if let Ok(mut live) = live.write() {
        live.not_ready = (!backlog.is_empty()).then(catching_up);
        live.starting = !backlog.is_empty();
    }
    // Whether the broker was last found away: until a message or the broker's metadata says
    // otherwise, the server is not ready.
    let mut away = false;
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(Duration::from_millis(100)) {
            // No news from a broker that was away: ask it, as no message may come for a while
            // (the stream publishes nothing until its own wait for the broker ends).
            None if away && consumer.fetch_metadata(Some(&hashtags), Duration::from_secs(1)).is_ok() => {
                away = false;
                if let Ok(mut live) = live.write() {
                    live.not_ready = (!backlog.is_empty()).then(catching_up);
                    live.starting = !backlog.is_empty();
                }
            }
            None => {}
            Some(Ok(message)) => {
                away = false;
                let key = (message.topic().to_string(), message.partition());
                if backlog.get(&key).is_some_and(|high| message.offset() + 1 >= *high) {
                    backlog.remove(&key);
                }
                if let Ok(mut live) = live.write() {
                    live.not_ready = (!backlog.is_empty()).then(catching_up);
                    live.starting = !backlog.is_empty();
                    if let Some((payload, kind)) = message.payload().zip(views.get(message.topic())) {
                        live.record(*kind, message.partition(), message.offset(), payload);
                    }
                }
            }
            Some(Err(error)) if is_broker_away(&error) => {
                if !away {
                    log::warn!("following the ranking topics: {}", kafka.explain(error));
                }
                away = true;
                if let Ok(mut live) = live.write() {
                    live.not_ready = Some(BROKER_AWAY.into());
                    live.starting = false;
                }
            }
            Some(Err(error)) => return Err(kafka.explain(error)),
        }
    }
    Ok(())
}

fn is_broker_away(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure)
    )
}
