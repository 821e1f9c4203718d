//! The speed layer's live rankings, as `stream` publishes them to the ranking topics: the
//! follower ([`crate::kafka::follower`]) keeps, per window spec and kind, the latest
//! snapshot of the window still open, and the final snapshot of the latest window closed. When
//! the final snapshot of the open window arrives, the window has closed; the server answers for
//! it from that final snapshot (the same rows the stream writes to its view table), and for
//! earlier closed windows from the view table.
//!
//! Every snapshot received is also a [`LiveEvent`] for the server's live push: broadcast to the
//! connected clients, and kept in a bounded buffer so that a client that reconnects with the last
//! id it saw gets what it missed. An id is a [`Cursor`], built from the broker's offsets, which
//! every server following the topics shares: a client resumes on any server, a restarted one
//! too; where a server cannot tell what the client missed, it sends a `reset` event instead.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use clap::ValueEnum;
use serde_json::value::RawValue;
use serde_json::Value;
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::EventTime;

use axum::body::Bytes;
use tokio::sync::broadcast;

use crate::kafka::follower::{Followed, FollowerState, ReadSnapshot};
use crate::vocabulary::snapshot::{Coverage, SnapshotMessage, ViewRows};
use crate::vocabulary::ViewKind;

/// A snapshot the server keeps: the latest of an open window, or the final one of the latest
/// closed window.
#[derive(Debug)]
pub struct LiveSnapshot {
    /// The window, and what its rows count: the window, or for the open window the rolling span
    /// up to `as_of`.
    pub coverage: Coverage,
    /// Its ranked rows as published.
    pub rows: ViewRows,
    /// The same rows as JSON text, encoded once: most requests ask for every row, and get these
    /// bytes without the rows being copied or encoded again.
    rows_json: Box<RawValue>,
    /// When this server received it.
    pub received: Instant,
}

impl LiveSnapshot {
    /// Keeps the rows of `snapshot`, taking them out of it.
    fn new(snapshot: SnapshotMessage) -> serde_json::Result<Self> {
        let rows_json = serde_json::value::to_raw_value(&snapshot.rows)?;
        Ok(LiveSnapshot { coverage: snapshot.coverage, rows: snapshot.rows, rows_json, received: Instant::now() })
    }

    /// The end of its window.
    pub fn window_end(&self) -> EventTime {
        self.coverage.window_end_ms
    }

    /// The first `k` rows as JSON.
    pub fn rows_json(&self, k: usize) -> serde_json::Result<Cow<'_, RawValue>> {
        match k >= self.rows.len() {
            true => Ok(Cow::Borrowed(&self.rows_json)),
            false => serde_json::value::to_raw_value(&self.rows.first(k)).map(Cow::Owned),
        }
    }

    /// How long ago the server received it, in milliseconds.
    pub fn age_ms(&self) -> u64 {
        u64::try_from(self.received.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// How many of the latest events a reconnecting client can catch up on.
const EVENT_BUFFER: usize = 4_096;

/// A partition of a ranking topic: the kind of view its topic carries, and its number.
pub type PartitionKey = (ViewKind, i32);

/// Where a live push stands: for each partition of the ranking topics, the offset of the latest
/// snapshot delivered. Offsets are the broker's, the same for every server, so a position given
/// by one server means the same to another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor(BTreeMap<PartitionKey, i64>);

impl Cursor {
    /// As an event id: `kind.partition.offset` for each partition, comma-separated.
    pub fn encode(&self) -> String {
        let parts: Vec<String> =
            self.0.iter().map(|((kind, partition), offset)| format!("{}.{partition}.{offset}", kind.name())).collect();
        parts.join(",")
    }

    /// An id as [`Cursor::encode`] writes it; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let mut positions = BTreeMap::new();
        for part in text.trim().split(',').filter(|part| !part.is_empty()) {
            let mut fields = part.split('.');
            let (kind, partition, offset) = (fields.next()?, fields.next()?, fields.next()?);
            if fields.next().is_some() {
                return None;
            }
            let kind = ViewKind::from_str(kind, true).ok()?;
            positions.insert((kind, partition.parse().ok()?), offset.parse().ok()?);
        }
        Some(Cursor(positions))
    }

    /// Whether `event` is at or before this position: delivered already.
    pub fn has_passed(&self, event: &LiveEvent) -> bool {
        self.0.get(&event.partition).is_some_and(|offset| *offset >= event.offset)
    }

    /// Moves past `event`.
    pub fn advance(&mut self, event: &LiveEvent) {
        self.0.insert(event.partition, event.offset);
    }
}

/// One snapshot received, as the live push sends it.
#[derive(Debug)]
pub struct LiveEvent {
    /// Where it was published: its partition, and its offset there.
    pub partition: PartitionKey,
    pub offset: i64,
    pub spec: WindowSpec,
    pub kind: ViewKind,
    /// The Server-Sent Events frame of this event (its id — the server's [`Cursor`] once it
    /// arrived —, event name, data), encoded once and shared by every client it goes to: the
    /// fan-out to many clients copies no bytes.
    pub frame: Bytes,
}

impl LiveEvent {
    /// The event of a snapshot published as `payload` at `offset` of `partition`, the server then
    /// at `position`; its data the snapshot as published, every field kept. A data line ends at a
    /// line break, so a payload that holds one is encoded again as compact JSON, which holds none
    /// (a string's are escaped).
    fn new(
        position: &Cursor,
        partition: PartitionKey,
        offset: i64,
        spec: WindowSpec,
        payload: &[u8],
    ) -> serde_json::Result<Self> {
        let data = match payload.iter().any(|byte| matches!(byte, b'\n' | b'\r')) {
            true => serde_json::to_vec(&serde_json::from_slice::<Value>(payload)?)?,
            false => payload.to_vec(),
        };
        let kind = partition.0;
        let mut frame = format!("id: {}\nevent: {}\ndata: ", position.encode(), kind.name()).into_bytes();
        frame.extend(data);
        frame.extend(b"\n\n");
        Ok(LiveEvent { partition, offset, spec, kind, frame: Bytes::from(frame) })
    }
}

/// What a live-push client gets when it connects.
pub struct Subscription {
    /// The buffered events it missed, in order.
    pub missed: Vec<Arc<LiveEvent>>,
    /// Every later event.
    pub later: broadcast::Receiver<Arc<LiveEvent>>,
    /// Where it stands: what it has been sent.
    pub cursor: Cursor,
    /// A `reset` event to send first, when the server cannot tell what the client missed: its
    /// id too old for the buffer, or ahead of anything this server has seen.
    pub reset: Option<Bytes>,
}

/// What the follower knows: open windows' snapshots by (window spec, kind), the latest events,
/// and whether the broker answers.
#[derive(Debug)]
pub struct LiveViews {
    open: HashMap<(WindowSpec, ViewKind), LiveSnapshot>,
    closed: HashMap<(WindowSpec, ViewKind), LiveSnapshot>,
    recent: VecDeque<Arc<LiveEvent>>,
    events: broadcast::Sender<Arc<LiveEvent>>,
    /// `None` once the backlog is read and while the broker answers; otherwise why not.
    pub not_ready: Option<String>,
    /// Whether the follower is still connecting or reading the backlog: the latest window it
    /// would answer may be stale yet. A broker found away is not starting: the server is then
    /// degraded, answering without the open window, until it returns.
    pub starting: bool,
    /// Where the server stands: the latest offset received of each partition.
    position: Cursor,
    /// Snapshots received since the server started.
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
            position: Cursor::default(),
            received: 0,
        }
    }
}

impl Followed for RwLock<LiveViews> {
    fn update(&self, state: FollowerState, snapshot: Option<ReadSnapshot<'_>>) {
        let Ok(mut live) = self.write() else { return };
        (live.not_ready, live.starting) = match state {
            FollowerState::Starting(why) => (Some(why), true),
            FollowerState::Ready => (None, false),
            FollowerState::Degraded(why) => (Some(why), false),
        };
        if let Some(snapshot) = snapshot {
            live.record(snapshot.kind, snapshot.partition, snapshot.offset, snapshot.payload);
        }
    }
}

impl LiveViews {
    /// The open window of `spec` for `kind`, if a live snapshot of it arrived.
    pub fn open(&self, spec: WindowSpec, kind: ViewKind) -> Option<&LiveSnapshot> {
        self.open.get(&(spec, kind))
    }

    /// What a client that saw up to `last_seen` gets: the buffered events after it and a receiver
    /// of every later one (`None`: a new client, which gets only what comes from now on). Both
    /// under the same lock, so that no event falls between them. A position this server cannot
    /// resume from — older than its buffer in some partition, or ahead of what it has received —
    /// gets a `reset` event and the server's position instead: the client reloads what it shows.
    pub fn subscribe(&self, last_seen: Option<&Cursor>) -> Subscription {
        let fresh = |reset| Subscription {
            missed: Vec::new(),
            later: self.events.subscribe(),
            cursor: self.position.clone(),
            reset,
        };
        let Some(seen) = last_seen else { return fresh(None) };
        // Each partition's offsets grow in the buffer: its first event there is its oldest.
        let mut oldest: BTreeMap<PartitionKey, i64> = BTreeMap::new();
        for event in &self.recent {
            oldest.entry(event.partition).or_insert(event.offset);
        }
        let missed_some = seen.0.iter().any(|(key, offset)| oldest.get(key).is_some_and(|first| *offset < first - 1));
        let ahead = seen.0.iter().any(|(key, offset)| self.position.0.get(key).is_none_or(|newest| offset > newest));
        if missed_some || ahead {
            let frame = format!("id: {}\nevent: reset\ndata: {{}}\n\n", self.position.encode());
            return fresh(Some(Bytes::from(frame)));
        }
        let missed = self.recent.iter().filter(|event| !seen.has_passed(event)).cloned().collect();
        Subscription { missed, later: self.events.subscribe(), cursor: seen.clone(), reset: None }
    }

    /// The final snapshot of the latest window of `spec` that closed for `kind` while the
    /// server followed the topics.
    pub fn closed(&self, spec: WindowSpec, kind: ViewKind) -> Option<&LiveSnapshot> {
        self.closed.get(&(spec, kind))
    }

    /// The window specs with an open or a closed window.
    pub fn specs(&self) -> impl Iterator<Item = WindowSpec> + '_ {
        self.open.keys().chain(self.closed.keys()).map(|(spec, _)| *spec)
    }

    /// Takes in one snapshot of `kind` as published at `offset` of `partition`: a newer live one
    /// replaces the open window's, a final one closes it. A message that is no snapshot is logged
    /// and left out.
    pub fn record(&mut self, kind: ViewKind, partition: i32, offset: i64, payload: &[u8]) {
        let snapshot = match SnapshotMessage::read(kind, payload) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                log::warn!(
                    "a message on a ranking topic that is no snapshot ({error}): {}",
                    String::from_utf8_lossy(payload)
                );
                return;
            }
        };
        let Ok(spec) = snapshot.window.parse::<WindowSpec>() else {
            log::warn!("a ranking snapshot of no window spec: {}", String::from_utf8_lossy(payload));
            return;
        };
        let (window_end, is_final) = (snapshot.coverage.window_end_ms, snapshot.coverage.is_final);
        // The event's frame holds the snapshot as published; the snapshot kept holds its rows.
        let mut position = self.position.clone();
        position.0.insert((kind, partition), offset);
        let encoded = LiveEvent::new(&position, (kind, partition), offset, spec, payload)
            .and_then(|event| LiveSnapshot::new(snapshot).map(|received| (event, received)));
        let (event, received) = match encoded {
            Ok(encoded) => encoded,
            Err(error) => {
                log::warn!("a ranking snapshot that does not encode ({error}): {}", String::from_utf8_lossy(payload));
                return;
            }
        };
        let event = Arc::new(event);
        self.position = position;
        self.received += 1;
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
        if !(is_final && empty) && kept.get(&key).is_none_or(|kept| kept.window_end() <= window_end) {
            kept.insert(key, received);
        }
        if is_final && self.open.get(&key).is_some_and(|open| open.window_end() <= window_end) {
            self.open.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// A `5m/1m` snapshot of the window ending at `end`, live as of a second before it.
    fn message(end: u64, is_final: bool, rows: Value) -> SnapshotMessage<Value> {
        let start = end.saturating_sub(300_000);
        let coverage = match is_final {
            true => Coverage::closed(start, end),
            false => Coverage::rolling(start, end, (end - 1_000).saturating_sub(300_000), end - 1_000),
        };
        SnapshotMessage { window: "5m/1m".into(), coverage, partial_baseline: None, rows }
    }

    fn spec() -> WindowSpec {
        "5m/1m".parse().unwrap()
    }

    /// The next offset of the test's partition 0.
    fn next_offset() -> i64 {
        static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// A snapshot of top hashtags whose first is `top`.
    fn snapshot(end: u64, is_final: bool, top: &str) -> Vec<u8> {
        serde_json::to_vec(&message(end, is_final, json!([{ "rank": 1, "hashtag": top, "count": 1 }]))).unwrap()
    }

    /// A snapshot of top tweets whose first is `top`.
    fn tweets(end: u64, top: u64) -> Vec<u8> {
        let rows = json!([{ "rank": 1, "tweet_id": top, "retweets": 2, "hashtags": 1 }]);
        serde_json::to_vec(&message(end, false, rows)).unwrap()
    }

    /// The first hashtag of a ranking of hashtags.
    fn first_hashtag(snapshot: &LiveSnapshot) -> Option<&str> {
        match &snapshot.rows {
            ViewRows::Hashtags(rows) => rows.first().map(|ranked| ranked.row.hashtag.as_str()),
            _ => None,
        }
    }

    #[test]
    fn the_newest_live_snapshot_is_the_open_window_until_its_final_one_closes_it() {
        let mut live = LiveViews::default();
        live.record(ViewKind::Hashtags, 0, next_offset(), &snapshot(120_000, false, "a"));
        live.record(ViewKind::Hashtags, 0, next_offset(), &snapshot(120_000, false, "b"));
        live.record(ViewKind::Hashtags, 0, next_offset(), &snapshot(60_000, false, "old"));
        let open = live.open(spec(), ViewKind::Hashtags).unwrap();
        assert_eq!((open.window_end(), first_hashtag(open)), (120_000, Some("b")));
        assert!(live.open(spec(), ViewKind::Tweets).is_none(), "kinds are kept apart");
        live.record(ViewKind::Hashtags, 0, next_offset(), &snapshot(60_000, true, "old"));
        assert!(live.open(spec(), ViewKind::Hashtags).is_some(), "an earlier window's close leaves it open");
        live.record(ViewKind::Hashtags, 0, next_offset(), &snapshot(120_000, true, "b"));
        assert!(live.open(spec(), ViewKind::Hashtags).is_none());
        let closed = live.closed(spec(), ViewKind::Hashtags).unwrap();
        assert_eq!((closed.window_end(), first_hashtag(closed)), (120_000, Some("b")));
        live.record(ViewKind::Hashtags, 0, next_offset(), &snapshot(60_000, true, "late copy"));
        assert_eq!(live.closed(spec(), ViewKind::Hashtags).unwrap().window_end(), 120_000, "the latest stays");
        live.record(
            ViewKind::Hashtags,
            0,
            next_offset(),
            &serde_json::to_vec(&message(360_000, true, json!([]))).unwrap(),
        );
        assert_eq!(
            live.closed(spec(), ViewKind::Hashtags).unwrap().window_end(),
            120_000,
            "an empty window is not kept"
        );
        live.record(ViewKind::Hashtags, 0, next_offset(), br#"{ "window": "5m/1m" }"#);
        live.record(ViewKind::Hashtags, 0, next_offset(), &tweets(420_000, 9));
        assert_eq!(live.received, 7, "a message that is no snapshot of the topic's view is not counted");
    }

    #[test]
    fn a_snapshot_keeps_its_rows_encoded_once_and_shortens_them_on_request() {
        let mut live = LiveViews::default();
        let rows = json!([{ "rank": 1, "hashtag": "a", "count": 3 }, { "rank": 2, "hashtag": "b", "count": 2 }]);
        live.record(
            ViewKind::Hashtags,
            0,
            next_offset(),
            &serde_json::to_vec(&message(360_000, false, rows.clone())).unwrap(),
        );
        let open = live.open(spec(), ViewKind::Hashtags).unwrap();
        let all = open.rows_json(1_000).unwrap();
        assert!(matches!(all, Cow::Borrowed(_)), "every row: the bytes encoded on receipt");
        assert_eq!(serde_json::from_str::<Value>(all.get()).unwrap(), rows);
        let first = open.rows_json(1).unwrap();
        assert_eq!(serde_json::from_str::<Value>(first.get()).unwrap(), json!([rows[0]]));
    }

    #[test]
    fn an_event_is_one_server_sent_events_frame_whose_data_is_the_snapshot() {
        let mut live = LiveViews::default();
        let mut events = live.subscribe(None).later;
        // A line break inside a hashtag, or between the fields, must not end the data line early.
        let snapshot = serde_json::to_vec_pretty(&message(
            360_000,
            false,
            json!([{ "rank": 1, "hashtag": "line\nbreak", "count": 1 }]),
        ))
        .unwrap();
        live.record(ViewKind::Hashtags, 0, next_offset(), &snapshot);
        let event = events.try_recv().unwrap();
        let frame = std::str::from_utf8(&event.frame).unwrap();
        let lines: Vec<&str> = frame.strip_suffix("\n\n").unwrap().split('\n').collect();
        assert!(lines[0].starts_with("id: hashtags.0."), "{frame}");
        assert_eq!(lines[1], "event: hashtags");
        assert_eq!(lines.len(), 3, "{frame}");
        let data = lines[2].strip_prefix("data: ").unwrap();
        assert_eq!(serde_json::from_str::<Value>(data).unwrap(), serde_json::from_slice::<Value>(&snapshot).unwrap());
    }

    #[test]
    fn a_client_gets_the_events_after_the_position_it_saw_and_every_later_one() {
        let mut live = LiveViews::default();
        for (offset, end) in [(10, 360_000), (11, 420_000), (12, 480_000)] {
            live.record(ViewKind::Hashtags, 0, offset, &snapshot(end, false, "a"));
        }
        let seen = Cursor::parse("hashtags.0.10").unwrap();
        let mut subscription = live.subscribe(Some(&seen));
        assert!(subscription.reset.is_none());
        assert_eq!(subscription.missed.iter().map(|event| event.offset).collect::<Vec<_>>(), [11, 12]);
        assert_eq!(live.subscribe(None).missed.len(), 0, "a new client gets only what comes next");
        live.record(ViewKind::Tweets, 3, 7, &tweets(480_000, 5));
        let next = subscription.later.try_recv().unwrap();
        assert_eq!((next.partition, next.offset, next.spec), ((ViewKind::Tweets, 3), 7, spec()));
        let now = Cursor::parse("hashtags.0.12,tweets.3.7").unwrap();
        assert_eq!(now.encode(), "hashtags.0.12,tweets.3.7");
        assert_eq!(live.subscribe(Some(&now)).missed.len(), 0);
        for offset in 13..13 + EVENT_BUFFER as i64 {
            live.record(ViewKind::Hashtags, 0, offset, &snapshot(300_000 + offset as u64 * 60_000, false, "c"));
        }
        let behind = live.subscribe(Some(&Cursor::parse("hashtags.0.12,tweets.3.7").unwrap()));
        assert_eq!(behind.missed.len(), EVENT_BUFFER, "the buffer is bounded, and holds all it missed");
        assert!(behind.reset.is_none());
    }

    #[test]
    fn a_position_the_server_cannot_resume_from_gets_a_reset_and_the_servers_position() {
        let mut live = LiveViews::default();
        for offset in 500..503 {
            live.record(ViewKind::Hashtags, 1, offset, &snapshot(360_000, false, "a"));
        }
        // Older than the buffer: what lies between is unknown.
        let old = live.subscribe(Some(&Cursor::parse("hashtags.1.100").unwrap()));
        // Ahead of what this server received: another cluster's, or made up.
        let ahead = live.subscribe(Some(&Cursor::parse("hashtags.1.99999999").unwrap()));
        let elsewhere = live.subscribe(Some(&Cursor::parse("trending.4.2").unwrap()));
        for subscription in [old, ahead, elsewhere] {
            assert!(subscription.missed.is_empty());
            assert_eq!(subscription.cursor.encode(), "hashtags.1.502");
            let reset = String::from_utf8(subscription.reset.expect("a reset").to_vec()).unwrap();
            assert_eq!(reset, "id: hashtags.1.502\nevent: reset\ndata: {}\n\n");
        }
        // The event just before the buffer's first is no gap.
        assert!(live.subscribe(Some(&Cursor::parse("hashtags.1.499").unwrap())).reset.is_none());
        for id in ["", "hashtags.1", "views.0.1", "hashtags.x.1", "hashtags.0.1.2", "9"] {
            assert!(id.is_empty() == Cursor::parse(id).is_some(), "{id:?}");
        }
    }
}
