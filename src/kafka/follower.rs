//! The thread that follows the ranking topics for `serve`: it keeps the server's live views
//! ([`Followed`]) up to date, reading the latest snapshots of every partition when it starts,
//! and waits out a broker that is away while the server answers from MySQL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::{is_broker_away, KafkaConfig, Topic};
use crate::vocabulary::ViewKind;

/// How many of the latest snapshots of each partition a starting server reads, to find the open
/// windows without reading the topics from their beginning.
const BACKLOG: i64 = 1_000;

/// What a client is told while the broker does not answer.
const BROKER_AWAY: &str = "the broker is not answering";
/// What a client is told while the ranking topics cannot be read for another reason.
const CANNOT_READ: &str = "the ranking topics cannot be read; the server's log says why";

/// Where the follower stands, as the server tells its clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowerState {
    /// Connecting, or reading the backlog, and why the server is not ready: the latest window it
    /// would answer may be stale yet.
    Starting(String),
    /// The backlog is read and the broker answers.
    Ready,
    /// The broker is away, or the topics cannot be read, in words for any client: the server
    /// answers without the open window until that passes.
    Degraded(String),
}

/// A snapshot as the follower read it: its view, where it was published, and its bytes.
pub struct ReadSnapshot<'a> {
    pub kind: ViewKind,
    pub partition: i32,
    pub offset: i64,
    pub payload: &'a [u8],
}

/// What the follower keeps up to date: the server's live views.
pub trait Followed: Send + Sync + 'static {
    /// Takes in the follower's state, and the snapshot it has just read, if any.
    fn update(&self, state: FollowerState, snapshot: Option<ReadSnapshot<'_>>);
}

/// Follows the ranking topics on a thread of its own until `stop` is set, keeping `live` up to
/// date. A broker that is away is waited for: the server answers from MySQL meanwhile.
///
/// What is wrong is told to clients in words that name no broker, topic or setting (they may be
/// anyone); the details go to the log.
pub fn follow(kafka: KafkaConfig, live: Arc<impl Followed>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let result = subscribe(&kafka)
                .and_then(|(consumer, backlog)| read(&kafka, &consumer, backlog, live.as_ref(), &stop));
            if let Err(error) = result {
                log::warn!("following the ranking topics: {error:#}; trying again");
                live.update(FollowerState::Degraded(CANNOT_READ.into()), None);
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
    live: &impl Followed,
    stop: &AtomicBool,
) -> Result<()> {
    // A topic whose metadata says whether the broker is back.
    let probe = kafka.topic(Topic::Tweets);
    // The view each ranking topic carries, by its name.
    let views: HashMap<String, ViewKind> =
        ViewKind::ALL.into_iter().filter_map(|kind| Some((kafka.topic(Topic::of_view(kind)?), kind))).collect();
    let reading = |backlog: &Backlog| match backlog.is_empty() {
        true => FollowerState::Ready,
        false => FollowerState::Starting(format!(
            "reading the latest {BACKLOG} snapshots of each ranking topic's partitions"
        )),
    };
    live.update(reading(&backlog), None);
    // Whether the broker was last found away: until a message or the broker's metadata says
    // otherwise, the server is not ready.
    let mut away = false;
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(Duration::from_millis(100)) {
            // No news from a broker that was away: ask it, as no message may come for a while
            // (the stream publishes nothing until its own wait for the broker ends).
            None if away && consumer.fetch_metadata(Some(&probe), Duration::from_secs(1)).is_ok() => {
                away = false;
                live.update(reading(&backlog), None);
            }
            None => {}
            Some(Ok(message)) => {
                away = false;
                let key = (message.topic().to_string(), message.partition());
                if backlog.get(&key).is_some_and(|high| message.offset() + 1 >= *high) {
                    backlog.remove(&key);
                }
                let snapshot = message.payload().zip(views.get(message.topic())).map(|(payload, kind)| ReadSnapshot {
                    kind: *kind,
                    partition: message.partition(),
                    offset: message.offset(),
                    payload,
                });
                live.update(reading(&backlog), snapshot);
            }
            Some(Err(error)) if is_broker_away(&error) => {
                if !away {
                    log::warn!("following the ranking topics: {}", kafka.explain(error));
                }
                away = true;
                live.update(FollowerState::Degraded(BROKER_AWAY.into()), None);
            }
            Some(Err(error)) => return Err(kafka.explain(error)),
        }
    }
    Ok(())
}
