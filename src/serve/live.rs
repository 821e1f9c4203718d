//! The speed layer's live rankings, as `stream` publishes them to `top_hashtags` and
//! `top_tweets`: a thread follows both topics and keeps, per window spec and kind, the latest
//! snapshot of the window still open, and the final snapshot of the latest window closed. When
//! the final snapshot of the open window arrives, the window has closed; the server answers for
//! it from that final snapshot (the same rows the stream writes to its view table), and for
//! earlier closed windows from the view table.
//!
//! Every snapshot received is also a [`LiveEvent`] for the server's live push: numbered in the
//! order received, broadcast to the connected clients, and kept in a bounded buffer so that a
//! client that reconnects with the last number it saw gets what it missed.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::value::RawValue;
use serde_json::Value;
use trendflow_dataflows::EventTime;

use axum::body::Bytes;
use tokio::sync::broadcast;

use crate::kafka::{KafkaConfig, Topic};
use crate::sink::mysql::ViewKind;
use crate::snapshot_message::{SnapshotMessage, Span};

/// How many of the latest snapshots of each partition a starting server reads, to find the open
/// windows without reading the topics from their beginning.
const BACKLOG: i64 = 1_000;

/// A snapshot the server keeps: the latest of an open window, or the final one of the latest
/// closed window.
#[derive(Debug)]
pub struct LiveSnapshot {
    pub window_end: EventTime,
    /// What its rows count: the window, or for the open window the rolling span up to `as_of`.
    pub span: Span,
    pub span_start: EventTime,
    /// The event time the rows are complete to.
    pub as_of: EventTime,
    /// Its ranked rows as published.
    pub rows: Vec<Value>,
    /// The same rows as JSON text, encoded once: most requests ask for every row, and get these
    /// bytes without the rows being copied or encoded again.
    rows_json: Box<RawValue>,
    /// When this server received it.
    pub received: Instant,
}

impl LiveSnapshot {
    /// Keeps the rows of `snapshot`, taking them out of it.
    fn new(snapshot: &mut SnapshotMessage<Value>) -> serde_json::Result<Self> {
        let rows = std::mem::take(&mut snapshot.rows);
        let rows_json = serde_json::value::to_raw_value(&rows)?;
        Ok(LiveSnapshot {
            window_end: snapshot.window_end_ms,
            span: snapshot.span,
            span_start: snapshot.span_start_ms,
            as_of: snapshot.as_of_ms,
            rows,
            rows_json,
            received: Instant::now(),
        })
    }

    /// The first `k` rows as JSON.
    pub fn rows_json(&self, k: usize) -> serde_json::Result<Cow<'_, RawValue>> {
        match k >= self.rows.len() {
            true => Ok(Cow::Borrowed(&self.rows_json)),
            false => serde_json::value::to_raw_value(&self.rows[..k]).map(Cow::Owned),
        }
    }

    /// How long ago the server received it, in milliseconds.
    pub fn age_ms(&self) -> u64 {
        u64::try_from(self.received.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// How many of the latest events a reconnecting client can catch up on.
const EVENT_BUFFER: usize = 4_096;

/// One snapshot received, as the live push sends it.
#[derive(Debug)]
pub struct LiveEvent {
    /// Its number: events are numbered 1, 2, ... in the order this server received them.
    pub id: u64,
    pub spec: String,
    pub kind: ViewKind,
    /// The Server-Sent Events frame of this event (id, event name, data), encoded once and
    /// shared by every client it goes to: the fan-out to many clients copies no bytes.
    pub frame: Bytes,
}

impl LiveEvent {
    /// The event of a snapshot published as `payload`, its data the snapshot as published, every
    /// field kept. A data line ends at a line break, so a payload that holds one is encoded again
    /// as compact JSON, which holds none (a string's are escaped).
    fn new(id: u64, spec: String, kind: ViewKind, payload: &[u8]) -> serde_json::Result<Self> {
        let data = match payload.iter().any(|byte| matches!(byte, b'\n' | b'\r')) {
            true => serde_json::to_vec(&serde_json::from_slice::<Value>(payload)?)?,
            false => payload.to_vec(),
        };
        let mut frame = format!("id: {id}\nevent: {}\ndata: ", kind.name()).into_bytes();
        frame.extend(data);
        frame.extend(b"\n\n");
        Ok(LiveEvent { id, spec, kind, frame: Bytes::from(frame) })
    }
}

/// What the follower knows: open windows' snapshots by (window spec, kind), the latest events,
/// and whether the broker answers.
#[derive(Debug)]
pub struct LiveViews {
    open: HashMap<(String, ViewKind), LiveSnapshot>,
    closed: HashMap<(String, ViewKind), LiveSnapshot>,
    recent: VecDeque<Arc<LiveEvent>>,
    events: broadcast::Sender<Arc<LiveEvent>>,
    /// `None` once the backlog is read and while the broker answers; otherwise why not.
    pub not_ready: Option<String>,
    /// Whether the follower is still connecting or reading the backlog: the latest window it
    /// would answer may be stale yet. A broker found away is not starting: the server is then
    /// degraded, answering without the open window, until it returns.
    pub starting: bool,
    /// Snapshots received since the server started: the last event's id.
    pub received: u64,
}

impl Default for LiveViews {
    fn default() -> Self {
        LiveViews {
            open: HashMap::new(),
            closed: HashMap::new(),
            recent: VecDeque::with_capacity(EVENT_BUFFER),
            events: broadcast::channel(EVENT_BUFFER).0,
            not_ready: Some("not connected yet".into()),
            starting: true,
            received: 0,
        }
    }
}

impl LiveViews {
    /// The open window of `spec` for `kind`, if a live snapshot of it arrived.
    pub fn open(&self, spec: &str, kind: ViewKind) -> Option<&LiveSnapshot> {
        self.open.get(&(spec.to_string(), kind))
    }

    /// The events after `last_seen` still buffered, and a receiver of every later one: what a
    /// client that saw event `last_seen` gets next (`None`: a new client, which gets only what
    /// comes from now on), and the id it has seen. Both under the same lock, so that no event falls
    /// between them.
    pub fn subscribe(&self, last_seen: Option<u64>) -> (Vec<Arc<LiveEvent>>, broadcast::Receiver<Arc<LiveEvent>>, u64) {
        let last_seen = last_seen.unwrap_or(self.received);
        let missed = self.recent.iter().filter(|event| event.id > last_seen).cloned().collect();
        (missed, self.events.subscribe(), last_seen)
    }

    /// The final snapshot of the latest window of `spec` that closed for `kind` while the
    /// server followed the topics.
    pub fn closed(&self, spec: &str, kind: ViewKind) -> Option<&LiveSnapshot> {
        self.closed.get(&(spec.to_string(), kind))
    }

    /// The window specs with an open or a closed window.
    pub fn specs(&self) -> impl Iterator<Item = &str> {
        self.open.keys().chain(self.closed.keys()).map(|(spec, _)| spec.as_str())
    }

    /// Takes in one snapshot of `kind` as published: a newer live one replaces the open window's,
    /// a final one closes it. A message that is no snapshot is logged and left out.
    pub fn record(&mut self, kind: ViewKind, payload: &[u8]) {
        let mut snapshot: SnapshotMessage<Value> = match serde_json::from_slice(payload) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                log::warn!(
                    "a message on a ranking topic that is no snapshot ({error}): {}",
                    String::from_utf8_lossy(payload)
                );
                return;
            }
        };
        let (spec, window_end, is_final) = (snapshot.window.clone(), snapshot.window_end_ms, snapshot.is_final);
        // The event's frame holds the snapshot as published; the snapshot kept holds its rows.
        let encoded = LiveEvent::new(self.received + 1, spec.clone(), kind, payload)
            .and_then(|event| LiveSnapshot::new(&mut snapshot).map(|received| (event, received)));
        let (event, received) = match encoded {
            Ok(encoded) => encoded,
            Err(error) => {
                log::warn!("a ranking snapshot that does not encode ({error}): {}", String::from_utf8_lossy(payload));
                return;
            }
        };
        let event = Arc::new(event);
        self.received = event.id;
        if self.recent.len() == EVENT_BUFFER {
            self.recent.pop_front();
        }
        self.recent.push_back(event.clone());
        // No receiver is no error: nobody is connected.
        let _ = self.events.send(event);
        let key = (spec, kind);
        // A window that closed empty has no rows in the view tables either: it is not served.
        let empty = received.rows.is_empty();
        let kept = if is_final { &mut self.closed } else { &mut self.open };
        if !(is_final && empty) && kept.get(&key).is_none_or(|kept| kept.window_end <= window_end) {
            kept.insert(key.clone(), received);
        }
        if is_final && self.open.get(&key).is_some_and(|open| open.window_end <= window_end) {
            self.open.remove(&key);
        }
    }
}

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
    for topic in [Topic::TopHashtags, Topic::TopTweets, Topic::TrendingHashtags] {
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
    let trending = kafka.topic(Topic::TrendingHashtags);
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
                let kind = match message.topic() {
                    topic if topic == hashtags => ViewKind::Hashtags,
                    topic if topic == trending => ViewKind::Trending,
                    _ => ViewKind::Tweets,
                };
                if let Ok(mut live) = live.write() {
                    live.not_ready = (!backlog.is_empty()).then(catching_up);
                    live.starting = !backlog.is_empty();
                    if let Some(payload) = message.payload() {
                        live.record(kind, payload);
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::time::rfc3339;

    /// A `5m/1m` snapshot of the window ending at `end`, live as of a second before it.
    fn message(end: u64, is_final: bool, rows: Value) -> SnapshotMessage<Value> {
        let as_of = if is_final { end } else { end - 1_000 };
        SnapshotMessage {
            window: "5m/1m".into(),
            window_start: rfc3339(end.saturating_sub(300_000)),
            window_end: rfc3339(end),
            window_end_ms: end,
            is_final,
            span: if is_final { Span::Window } else { Span::Rolling },
            span_start: rfc3339(as_of.saturating_sub(300_000)),
            span_start_ms: as_of.saturating_sub(300_000),
            as_of: rfc3339(as_of),
            as_of_ms: as_of,
            partial_baseline: None,
            rows: rows.as_array().cloned().unwrap_or_default(),
        }
    }

    fn snapshot(end: u64, is_final: bool, top: &str) -> Vec<u8> {
        serde_json::to_vec(&message(end, is_final, json!([{ "rank": 1, "hashtag": top }]))).unwrap()
    }

    #[test]
    fn the_newest_live_snapshot_is_the_open_window_until_its_final_one_closes_it() {
        let mut live = LiveViews::default();
        live.record(ViewKind::Hashtags, &snapshot(120_000, false, "a"));
        live.record(ViewKind::Hashtags, &snapshot(120_000, false, "b"));
        live.record(ViewKind::Hashtags, &snapshot(60_000, false, "old"));
        let open = live.open("5m/1m", ViewKind::Hashtags).unwrap();
        assert_eq!((open.window_end, open.rows[0]["hashtag"].as_str()), (120_000, Some("b")));
        assert!(live.open("5m/1m", ViewKind::Tweets).is_none(), "kinds are kept apart");
        live.record(ViewKind::Hashtags, &snapshot(60_000, true, "old"));
        assert!(live.open("5m/1m", ViewKind::Hashtags).is_some(), "an earlier window's close leaves it open");
        live.record(ViewKind::Hashtags, &snapshot(120_000, true, "b"));
        assert!(live.open("5m/1m", ViewKind::Hashtags).is_none());
        let closed = live.closed("5m/1m", ViewKind::Hashtags).unwrap();
        assert_eq!((closed.window_end, closed.rows[0]["hashtag"].as_str()), (120_000, Some("b")));
        live.record(ViewKind::Hashtags, &snapshot(60_000, true, "late copy"));
        assert_eq!(live.closed("5m/1m", ViewKind::Hashtags).unwrap().window_end, 120_000, "the latest stays");
        live.record(ViewKind::Hashtags, &serde_json::to_vec(&message(360_000, true, json!([]))).unwrap());
        assert_eq!(
            live.closed("5m/1m", ViewKind::Hashtags).unwrap().window_end,
            120_000,
            "an empty window is not kept"
        );
        live.record(ViewKind::Hashtags, br#"{ "window": "5m/1m" }"#);
        assert_eq!(live.received, 7, "a message that is no snapshot is not counted");
    }

    #[test]
    fn a_snapshot_keeps_its_rows_encoded_once_and_shortens_them_on_request() {
        let mut live = LiveViews::default();
        let rows = json!([{ "rank": 1, "hashtag": "a", "count": 3 }, { "rank": 2, "hashtag": "b", "count": 2 }]);
        live.record(ViewKind::Hashtags, &serde_json::to_vec(&message(360_000, false, rows.clone())).unwrap());
        let open = live.open("5m/1m", ViewKind::Hashtags).unwrap();
        let all = open.rows_json(1_000).unwrap();
        assert!(matches!(all, Cow::Borrowed(_)), "every row: the bytes encoded on receipt");
        assert_eq!(serde_json::from_str::<Value>(all.get()).unwrap(), rows);
        let first = open.rows_json(1).unwrap();
        assert_eq!(serde_json::from_str::<Value>(first.get()).unwrap(), json!([rows[0]]));
    }

    #[test]
    fn an_event_is_one_server_sent_events_frame_whose_data_is_the_snapshot() {
        let mut live = LiveViews::default();
        let (_, mut events, _) = live.subscribe(None);
        // A line break inside a hashtag, or between the fields, must not end the data line early.
        let snapshot =
            serde_json::to_vec_pretty(&message(360_000, false, json!([{ "hashtag": "line\nbreak" }]))).unwrap();
        live.record(ViewKind::Tweets, &snapshot);
        let event = events.try_recv().unwrap();
        let frame = std::str::from_utf8(&event.frame).unwrap();
        let lines: Vec<&str> = frame.strip_suffix("\n\n").unwrap().split('\n').collect();
        assert_eq!(lines[..2], ["id: 1", "event: tweets"]);
        assert_eq!(lines.len(), 3, "{frame}");
        let data = lines[2].strip_prefix("data: ").unwrap();
        assert_eq!(serde_json::from_str::<Value>(data).unwrap(), serde_json::from_slice::<Value>(&snapshot).unwrap());
    }

    #[test]
    fn a_client_gets_the_events_after_the_last_it_saw_and_every_later_one() {
        let mut live = LiveViews::default();
        for end in [360_000, 420_000, 480_000] {
            live.record(ViewKind::Hashtags, &snapshot(end, false, "a"));
        }
        let (missed, mut later, _) = live.subscribe(Some(1));
        assert_eq!(missed.iter().map(|event| event.id).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(live.subscribe(None).0.len(), 0, "a new client gets only what comes next");
        live.record(ViewKind::Tweets, &snapshot(480_000, false, "b"));
        let next = later.try_recv().unwrap();
        assert_eq!((next.id, next.kind, next.spec.as_str()), (4, ViewKind::Tweets, "5m/1m"));
        assert_eq!(live.subscribe(Some(4)).0.len(), 0);
        for end in 0..EVENT_BUFFER as u64 {
            live.record(ViewKind::Hashtags, &snapshot(300_000 + end * 60_000, false, "c"));
        }
        assert_eq!(live.subscribe(Some(0)).0.len(), EVENT_BUFFER, "the buffer is bounded");
    }
}
