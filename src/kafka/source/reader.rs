//! Reading the `tweets` partitions: each timely worker owns the partitions whose number modulo the
//! worker count is its index, and reads them in rounds, a burst of messages at a time, feeding the
//! graph what each tweet contributes. Each part of that has a module of its own:
//!
//! - [`polling`](super::polling): the worker's consumer, its partitions assigned explicitly (no
//!   consumer group) and read from the stored positions or the beginning, one message per
//!   partition in turn; a partition far ahead of the published rankings held back;
//! - [`broker`](super::broker): what the consumer's errors mean, and whether the broker answers;
//! - [`dedup`](super::dedup): copies of tweets read before dropped, conflicts refused;
//! - [`watermarks`](super::watermarks): how complete the worker's input is. Between rounds the
//!   worker advances the graph's input frontier to its watermark, or, while its partitions are
//!   all idle, to the least watermark of the workers that are not, so that it does not hold their
//!   windows open;
//! - [`replay`](super::replay): where a restart must read again from;
//! - [`checkpointing`](super::checkpointing): every `checkpoint_every`, a checkpoint handed to the
//!   harness once the job says what it wrote before it is durable.
//!
//! What the job does with the tweets besides ranking them — archiving them, publishing their
//! hashtags, dead-lettering what is not a tweet — it does as the worker's [`ReadHandler`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use rdkafka::message::{BorrowedMessage, Message};
use trendflow_dataflows::hashtags::hashtag_symbols;
use trendflow_dataflows::symbol::Symbol;
use trendflow_dataflows::{Contribution, EventTime, Tweet};

use crate::checkpoint::{Checkpoint, ResumePoint};
use crate::harness::recovery::{StartClock, WorkerStep};
use crate::harness::worker::Feed;
use crate::kafka::source::broker::BrokerWatch;
use crate::kafka::source::checkpointing::{Checkpoints, Durability};
use crate::kafka::source::dedup::{SeenTweets, Sighting};
use crate::kafka::source::polling::{HoldBack, PartitionQueues, Polled};
use crate::kafka::source::replay::Positions;
use crate::kafka::source::watermarks::PartitionWatermarks;
use crate::kafka::source::{decode, Decoded};
use crate::kafka::{KafkaConfig, Topic};
use crate::mysql::MysqlConfig;
use crate::source::formats::Format;
use crate::source::seed_tweet::Ingestion;
use crate::time::{rfc3339, wall_clock_ms};
use crate::vocabulary::rejection::{Reason, RejectionKind};

/// What the job does with what a worker reads, besides ranking it; and, as its [`Durability`],
/// its word on whether that is durable yet, which each checkpoint waits for.
pub trait ReadHandler: Durability {
    /// A tweet read for the first time (an earlier run did not handle it): the job archives it,
    /// publishes its hashtags. They come extracted, once; the graph gets the same ones.
    fn tweet(&mut self, tweet: &ReadTweet) -> Result<()>;

    /// A message that holds no usable tweet, a tweet that came late, or one whose id was stored
    /// or read already with other values (a conflict: first write wins).
    fn rejected(&mut self, rejection: Rejection<'_>) -> Result<()>;

    /// A round of reading ended: the job looks after its sinks.
    fn round_ended(&mut self) -> Result<()>;
}

/// A tweet as read from the topic, with what the archive keeps of it.
pub struct ReadTweet {
    pub tweet: Tweet,
    pub hashtags: Vec<Symbol>,
    /// The `date_time` text the tweet came with, kept as sent.
    pub date_time: String,
    /// The record's timestamp (or the wall clock when it has none), in ms since the epoch.
    pub ingested_at: EventTime,
}

/// A message the job dead-letters: where it is, what it holds, and why it is no good.
pub struct Rejection<'a> {
    pub reason: Reason,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
}

/// Where one partition's reading stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartitionStatus {
    /// The latest event time it delivered, less the lateness.
    pub watermark: Option<EventTime>,
    /// The offset after the last message read (or where reading starts).
    pub next_offset: Option<i64>,
}

/// What the workers counted while reading, shared with the job's summary and metrics.
#[derive(Default)]
pub struct ReadCounts {
    /// Each partition's status as of its worker's last checkpoint (about once a second).
    pub partitions: Mutex<BTreeMap<i32, PartitionStatus>>,
    pub consumed: AtomicU64,
    /// Messages that hold no tweet, rightly: deletion notices, likes.
    pub skipped: AtomicU64,
    pub duplicates: AtomicU64,
    /// When the first and the last message arrived, in microseconds since reading started: the
    /// consuming rate is over that span, not over the idle wait that ends a job.
    first_message_us: AtomicU64,
    last_message_us: AtomicU64,
}

impl ReadCounts {
    fn record_arrivals(&self, started: Instant, now: Instant) {
        let at = now.duration_since(started).as_micros() as u64;
        let _ = self.first_message_us.compare_exchange(0, at.max(1), Ordering::Relaxed, Ordering::Relaxed);
        self.last_message_us.fetch_max(at, Ordering::Relaxed);
    }

    /// The time between the first message and the last.
    pub fn active(&self) -> Duration {
        let first = self.first_message_us.load(Ordering::Relaxed);
        Duration::from_micros(self.last_message_us.load(Ordering::Relaxed).saturating_sub(first))
    }
}

/// How the workers read the `tweets` topic: settings, validated from the job's flags.
#[derive(Clone)]
pub struct ReadSettings {
    pub kafka: KafkaConfig,
    /// The master dataset the job archives into, where the ids of tweets a worker no longer
    /// remembers are looked up; `None` with `--no-archive`.
    pub master: Option<MysqlConfig>,
    pub partitions: i32,
    pub lateness_ms: u64,
    /// How far a tweet's event time may be ahead of its record's timestamp.
    pub max_event_ahead_ms: u64,
    pub format: Format,
    /// A partition quiet for this long stops holding back the watermark.
    pub idle_after: Duration,
    /// With a limit, the input counts as complete once every partition is quiet for that long.
    pub until_idle: Option<Duration>,
    pub checkpoint_every: Duration,
    /// How much event time a ranking spans: a checkpoint rebuilds that much before what is
    /// published.
    pub horizon_ms: u64,
}

/// What a process's reading workers share with the job while they run.
pub struct ReadHandles {
    /// Set by a signal: stop after a last checkpoint.
    pub stop: Arc<AtomicBool>,
    pub counts: Arc<ReadCounts>,
    /// When each step of the start ended: it reports the start once every local worker caught up.
    pub clock: Arc<StartClock>,
}

/// How the workers read the `tweets` topic; one for all of a process's workers.
pub struct TweetsReader {
    settings: ReadSettings,
    /// Where reading resumes.
    resume: ResumePoint,
    handles: ReadHandles,
    started: Instant,
}

/// How many messages a worker reads before it lets the graph catch up.
const BURST: usize = 8_192;

/// How long a worker with no new input lets the dataflow sleep before it looks again, unless a
/// message wakes it first: what an idle job's own work (publishing closed windows, idle
/// partitions' watermarks) waits at worst, against the CPU it burns.
const MAX_PARK: Duration = Duration::from_millis(5);

impl TweetsReader {
    /// A reader with `settings`, resuming at `resume`.
    pub fn new(settings: ReadSettings, resume: ResumePoint, handles: ReadHandles) -> Self {
        TweetsReader { settings, resume, handles, started: Instant::now() }
    }

    /// Worker `worker`'s loop (of `peers`): read its partitions, feed the graph, hand `job` what
    /// it must write, until the input is idle (with `until_idle`), a signal arrives, or the run
    /// stops.
    pub fn read<H: ReadHandler>(
        &self,
        worker: usize,
        peers: usize,
        feed: &mut dyn Feed<Checkpoint>,
        job: &mut H,
    ) -> Result<()> {
        let owned: Vec<i32> = (0..self.settings.partitions).filter(|p| *p as usize % peers == worker).collect();
        if owned.is_empty() {
            return self.read_nothing(worker, feed);
        }
        let queues = PartitionQueues::assign(&self.settings.kafka, &owned, &self.resume.offsets)?;
        let mut reading = WorkerReading::start(self, worker, &owned)?;
        loop {
            if feed.stopping() {
                return Ok(());
            }
            if reading.round(&queues, feed, job)? {
                break;
            }
        }
        // Report idleness so that no other worker waits for this one's watermark any more.
        feed.report_watermark(None);
        Ok(())
    }

    /// A worker without partitions: started and caught up at once, with a last checkpoint.
    fn read_nothing(&self, worker: usize, feed: &mut dyn Feed<Checkpoint>) -> Result<()> {
        for step in [WorkerStep::Ready, WorkerStep::Replayed, WorkerStep::CaughtUp] {
            self.reached(step);
        }
        let mut positions = Positions::new(worker, &[], &self.resume, self.settings.horizon_ms);
        if let Some(checkpoint) = positions.checkpoint(feed.output_frontier(), true) {
            feed.checkpoint(checkpoint);
        }
        Ok(())
    }

    /// Records that this worker reached `step` of its start: the clock reports the start once
    /// every local worker has caught up.
    fn reached(&self, step: WorkerStep) {
        self.handles.clock.worker_reached(step);
    }
}

/// One worker's reading of its partitions, round by round.
struct WorkerReading<'r, H: Durability> {
    reader: &'r TweetsReader,
    marks: PartitionWatermarks,
    /// The watermark last reported to the other workers.
    reported: Option<EventTime>,
    seen: SeenTweets,
    positions: Positions,
    broker: BrokerWatch,
    hold_back: HoldBack,
    checkpoints: Checkpoints<H>,
    start: StartProgress,
    /// Whether the graph had caught up with the input when the last round stepped it.
    caught_up: bool,
}

/// A message of a burst, decoded.
struct ReadMessage<'a> {
    message: BorrowedMessage<'a>,
    decoded: Result<Decoded, Reason>,
    /// Whether an earlier run handled it before it stopped.
    handled: bool,
    ingested_at: EventTime,
}

impl<'r, H: ReadHandler> WorkerReading<'r, H> {
    /// Worker `worker`'s reading of its `partitions`, ready once connected to the master dataset.
    fn start(reader: &'r TweetsReader, worker: usize, partitions: &[i32]) -> Result<Self> {
        let settings = &reader.settings;
        let reading = WorkerReading {
            reader,
            marks: PartitionWatermarks::new(partitions, settings.lateness_ms, settings.idle_after, Instant::now()),
            reported: None,
            seen: SeenTweets::open(settings.master.as_ref())?,
            positions: Positions::new(worker, partitions, &reader.resume, settings.horizon_ms),
            broker: BrokerWatch::new(&settings.kafka),
            hold_back: HoldBack::new(worker, settings.kafka.topic(Topic::Tweets), settings.lateness_ms),
            checkpoints: Checkpoints::new(settings.checkpoint_every),
            start: StartProgress { partitions: partitions.len(), ..StartProgress::default() },
            caught_up: true,
        };
        reader.reached(WorkerStep::Ready);
        Ok(reading)
    }

    /// One round: a burst of messages read and handled, the input frontier advanced, the graph
    /// stepped, a checkpoint taken when due. Returns whether it was the worker's last.
    fn round(&mut self, queues: &PartitionQueues, feed: &mut dyn Feed<Checkpoint>, job: &mut H) -> Result<bool> {
        // Backpressure: no new input until the graph has processed what it was given, and none
        // from a partition far ahead of the others.
        let limit = if self.caught_up { BURST } else { 0 };
        let held_back = self.hold_back.partitions(feed.output_frontier(), &self.marks);
        let burst = queues.poll(limit, held_back, &mut self.broker)?;
        let quiet = !burst.polled.iter().any(|polled| matches!(polled, Polled::Message(_)));
        self.handle(burst.polled, feed, job)?;
        let now = Instant::now();
        if !quiet {
            self.reader.handles.counts.record_arrivals(self.reader.started, now);
        }
        self.start.after_round(self.reader, &self.positions);
        self.advance(feed, burst.drained, now);
        self.caught_up = feed.step();
        if quiet && self.caught_up {
            feed.park(MAX_PARK);
        }
        job.round_ended()?;
        let last = self.is_last();
        if last || self.checkpoints.due(&self.positions, now) {
            self.broker.check_if_quiet(queues.consumer())?;
            self.record_partitions();
            let output_frontier = feed.output_frontier();
            self.checkpoints.take(job, &mut self.positions, &self.seen, output_frontier, last)?;
        }
        self.checkpoints.hand_over(job, &mut self.seen, feed, last)?;
        Ok(last)
    }

    /// Handles a burst in the order read. The master dataset is asked about all its tweets at
    /// once.
    fn handle(&mut self, polled: Vec<Polled<'_>>, feed: &mut dyn Feed<Checkpoint>, job: &mut H) -> Result<()> {
        let burst: Vec<Result<ReadMessage, i32>> = polled
            .into_iter()
            .map(|polled| match polled {
                Polled::Message(message) => Ok(self.decode(message)),
                Polled::End(partition) => Err(partition),
            })
            .collect();
        let frontier = feed.frontier();
        let tweets = burst.iter().filter_map(|read| match read {
            Ok(ReadMessage { decoded: Ok(Decoded::Tweet(tweet, _)), .. }) => Some(tweet),
            _ => None,
        });
        self.seen.look_up(tweets, frontier)?;
        for read in burst {
            match read {
                Ok(message) => self.take(message, frontier, feed, job)?,
                // In its place among the messages: a tweet taken in after it clears it again.
                Err(partition) => {
                    self.marks.reached_end(partition);
                    self.start.read_to_end.insert(partition);
                }
            }
        }
        Ok(())
    }

    /// Decodes `message`, and notes where its partition's reading stands.
    fn decode<'m>(&mut self, message: BorrowedMessage<'m>) -> ReadMessage<'m> {
        let settings = &self.reader.settings;
        self.reader.handles.counts.consumed.fetch_add(1, Ordering::Relaxed);
        // The record's timestamp, which a replay reads again: the same verdict every time.
        let at = message.timestamp().to_millis().and_then(|ms| u64::try_from(ms).ok());
        let ingestion =
            Ingestion { at: at.unwrap_or_else(wall_clock_ms), max_event_ahead_ms: settings.max_event_ahead_ms };
        let decoded = decode(message.payload(), settings.format, ingestion);
        let time = match &decoded {
            Ok(Decoded::Tweet(tweet, _)) => Some(tweet.created_at),
            _ => None,
        };
        let handled = self.positions.read(message.partition(), message.offset(), time);
        if handled {
            self.reader.handles.clock.replayed_one();
        }
        ReadMessage { message, decoded, handled, ingested_at: ingestion.at }
    }

    /// Takes one message in: its tweet to the job and the graph, unless it is a copy, or to the
    /// dead letters with the reason it is no good. What an earlier run handled before it stopped
    /// only needs to reach the graph again.
    fn take(
        &mut self,
        read: ReadMessage<'_>,
        frontier: EventTime,
        feed: &mut dyn Feed<Checkpoint>,
        job: &mut H,
    ) -> Result<()> {
        let counts = &self.reader.handles.counts;
        let ReadMessage { message, decoded, handled, ingested_at } = read;
        let (tweet, date_time) = match decoded {
            Ok(Decoded::Tweet(tweet, date_time)) => (tweet, date_time),
            Ok(Decoded::Skipped(_)) | Err(_) if handled => return Ok(()),
            Ok(Decoded::Skipped(_)) => {
                counts.skipped.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            Err(reason) => return job.rejected(rejection(&message, reason)),
        };
        let (partition, time) = (message.partition(), tweet.created_at);
        // A conflict, like any input refused, leaves its partition's watermark alone: one
        // restamped years ahead must not make every later tweet late.
        match self.seen.sight(&tweet) {
            Sighting::New => self.marks.observe(partition, time),
            Sighting::Copy => {
                self.marks.observe(partition, time);
                counts.duplicates.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            // An earlier run dead-lettered it already.
            Sighting::Conflict(_) if handled => return Ok(()),
            Sighting::Conflict(reason) => return job.rejected(rejection(&message, reason)),
        }
        let hashtags = hashtag_symbols(&tweet.text);
        let read = ReadTweet { tweet, hashtags, date_time, ingested_at };
        if !handled {
            job.tweet(&read)?;
        }
        match feed.push(time, Contribution::with_hashtags(read.tweet, read.hashtags)) {
            Ok(()) => Ok(()),
            Err(_) => job.rejected(rejection(&message, late_reason(time, frontier))),
        }
    }

    /// Ends the round at `now` for the watermarks; tells the other workers this one's watermark
    /// if it moved, and advances the input frontier to it, or, while all the worker's partitions
    /// are idle, to the least watermark of the workers that are not.
    fn advance(&mut self, feed: &mut dyn Feed<Checkpoint>, drained: bool, now: Instant) {
        // Quiet time while the broker is away is not quiet input.
        self.marks.end_round(drained && !self.broker.is_down(), now);
        let watermark = self.marks.watermark();
        if watermark != self.reported {
            feed.report_watermark(watermark);
            self.reported = watermark;
        }
        if let Some(time) = watermark.or_else(|| feed.cluster_watermark()) {
            feed.advance_to(time);
        }
    }

    /// Whether this round is the worker's last: its input has been idle as long as `until_idle`
    /// allows, or a signal came.
    fn is_last(&self) -> bool {
        let idle = self.reader.settings.until_idle.is_some_and(|limit| self.marks.quiet_for() >= limit);
        idle || self.reader.handles.stop.load(Ordering::Relaxed)
    }

    /// Records each of the worker's partitions' watermark and position, for the metrics.
    fn record_partitions(&self) {
        let statuses = self.marks.each().map(|(partition, watermark)| {
            (partition, PartitionStatus { watermark, next_offset: self.positions.next_offset(partition) })
        });
        if let Ok(mut all) = self.reader.handles.counts.partitions.lock() {
            all.extend(statuses);
        }
    }
}

/// How far a worker's start has got: the messages of an earlier run read again, and each of its
/// partitions read to its end once.
#[derive(Default)]
struct StartProgress {
    partitions: usize,
    read_to_end: BTreeSet<i32>,
    replayed: bool,
    caught_up: bool,
}

impl StartProgress {
    /// Tells `reader` the steps of the start the worker has reached in this round.
    fn after_round(&mut self, reader: &TweetsReader, positions: &Positions) {
        if !self.replayed && positions.replayed() {
            self.replayed = true;
            reader.reached(WorkerStep::Replayed);
        }
        if self.replayed && !self.caught_up && self.read_to_end.len() == self.partitions {
            self.caught_up = true;
            reader.reached(WorkerStep::CaughtUp);
        }
    }
}

/// What the job dead-letters of `message`, and why.
fn rejection<'m>(message: &'m BorrowedMessage<'_>, reason: Reason) -> Rejection<'m> {
    Rejection {
        reason,
        partition: message.partition(),
        offset: message.offset(),
        key: message.key(),
        payload: message.payload(),
    }
}

fn late_reason(time: EventTime, frontier: EventTime) -> Reason {
    let detail = format!("late: event time {} is behind the watermark {}", rfc3339(time), rfc3339(frontier));
    Reason::new(RejectionKind::Late, detail)
}
