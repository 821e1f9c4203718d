//! Reading the `tweets` partitions: each timely worker owns the partitions whose number modulo the
//! worker count is its index, assigned explicitly (no consumer group), and reads them from the
//! stored positions or the beginning.
//!
//! A worker reads in rounds, one message per partition in turn, and feeds the graph what each
//! tweet contributes; between rounds it advances the graph's input frontier to its watermark
//! ([`PartitionWatermarks`]), or, while its partitions are all idle, to the least watermark of the
//! workers that are not, so that it does not hold their windows open. It holds back a partition
//! far ahead of the published rankings, drops copies of recent tweets, watches whether the broker
//! answers, and every `checkpoint_every` hands the harness a [`Checkpoint`]. What the job does
//! with the tweets besides ranking them — archiving them, publishing their hashtags,
//! dead-lettering what is not a tweet — it does on the [`SourceEvent`]s the reader hands it.
//!
//! **Copies and conflicts.** The master dataset is immutable (first write wins), and the stream
//! counts a tweet once, at its first event time, as the batch layer does. A tweet whose id was
//! read before is a *copy* if its values are the same (dropped, counted as a duplicate) and a
//! *conflict* if they differ (dead-lettered with the reason, never fed to the graph nor archived).
//! A worker tells which by the tweets it remembers ([`RecentIds`]) and, with the archive on, by
//! the master dataset: the ids of a burst's tweets it does not remember are looked up there, in
//! one query by primary key. A stored row with other values makes a conflict; one with the same
//! values does not, and the tweet is fed: that is a restart reading again what it archived
//! before, or a tweet first loaded by `db load`.
//!
//! The rule for the race between the archive's thread and the lookup: a worker forgets a tweet
//! only once its event time is behind the input frontier *and* a checkpoint's flush has found
//! the archive holding it (`Flushed` answered durable). Until then memory answers for it; after,
//! the master dataset does. So a conflicting copy finds its first in one or the other, however
//! slow the archive. With `--no-archive` there is no master dataset to consult: memory forgets a
//! tweet at the frontier, and conflicts are caught only within the lateness; a copy with another
//! event time that comes later is counted again at its time. Either way, copies are caught by the
//! worker that reads them: a producer that sends one id to two partitions may have it counted
//! twice by the stream, though the archive still stores only the first (and logs the conflict).
//!
//! The lookup costs one primary-key `SELECT` per burst of messages that holds a tweet the worker
//! does not remember, and nothing with `--no-archive`. Against MariaDB on the same host (2 busy
//! cores, 8,759 tweets stored, none of the ids found) it took 0.11 ms for a burst of one tweet,
//! 0.23 ms for 64, and about 2 µs a tweet for bursts of hundreds or thousands.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use trendflow_dataflows::hashtags::hashtag_symbols;
use trendflow_dataflows::symbol::Symbol;
use trendflow_dataflows::window::format_duration;
use trendflow_dataflows::{Contribution, EventTime, Tweet};

use crate::checkpoint::{Checkpoint, ResumePoint};
use crate::db::MysqlConfig;
use crate::harness::recovery::{StartClock, WorkerStep};
use crate::harness::worker::Feed;
use crate::kafka::{KafkaConfig, Topic};
use crate::sink::mysql::{conflict_reason, FirstCopy, KeptTweet, StoredTweets};
use crate::source::formats::Format;
use crate::source::kafka::replay::{Positions, RecentIds, Sighting, TweetFingerprint};
use crate::source::kafka::watermarks::PartitionWatermarks;
use crate::source::kafka::{decode, Decoded};
use crate::source::seed_tweet::Ingestion;
use crate::time::{rfc3339, wall_clock_ms};

/// What a worker's reading hands the job, besides what it feeds the graph.
pub enum SourceEvent<'a> {
    /// A tweet read for the first time (an earlier run did not handle it): the job archives it,
    /// publishes its hashtags. They come extracted, once; the graph gets the same ones.
    Tweet(&'a ReadTweet),
    /// A message that holds no usable tweet, a tweet that came late, or one whose id was stored
    /// or read already with other values (a conflict: first write wins).
    Rejected(Rejection<'a>),
    /// A round of reading ended: the job looks after its sinks.
    RoundEnded,
    /// A checkpoint follows: what the job wrote for the tweets read so far must be durable first.
    /// The job starts making it so.
    Flush,
    /// Whether what the job wrote before the last `Flush` is durable yet: the job answers in
    /// `durable`, without waiting. The worker reads on meanwhile, asking each round (a checkpoint
    /// is not worth a stall of the broker's round trip every time one is taken); it waits only
    /// for its last checkpoint, asking until the answer is yes.
    Flushed { durable: &'a mut bool },
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
    pub reason: String,
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

/// How the workers read the `tweets` topic; one for all of a process's workers.
pub struct TweetsReader {
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
    /// Set by a signal: stop after a last checkpoint.
    pub stop: Arc<AtomicBool>,
    /// Where reading resumes, and how much event time a ranking spans.
    pub resume: ResumePoint,
    pub horizon_ms: u64,
    pub checkpoint_every: Duration,
    pub counts: Arc<ReadCounts>,
    pub started: Instant,
    /// When each step of the start ended; the last worker to catch up prints them, prefixed by
    /// `speaker`.
    pub clock: Arc<StartClock>,
    pub speaker: String,
}

/// How many messages a worker reads before it lets the graph catch up.
const BURST: usize = 8_192;

/// How long a worker with no new input lets the dataflow sleep before it looks again, unless a
/// message wakes it first: what an idle job's own work (publishing closed windows, idle
/// partitions' watermarks) waits at worst, against the CPU it burns.
const MAX_PARK: Duration = Duration::from_millis(5);

/// How often a stopping worker asks whether what it wrote before its last checkpoint is durable.
const FLUSHED_POLL: Duration = Duration::from_millis(1);

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

/// The message when the broker no longer has the records at a stored position.
const POSITION_LOST: &str = "the broker no longer has the records at the stored positions (deleted by retention, \
    a recreated topic, or storage lost); rerun with --from-beginning to rebuild the views from what it has";

impl TweetsReader {
    /// Worker `worker`'s loop (of `peers`): read its partitions, feed the graph, hand the job
    /// `on_event`s, until the input is idle (with `until_idle`), a signal arrives, or the run
    /// stops.
    pub fn read(
        &self,
        worker: usize,
        peers: usize,
        feed: &mut dyn Feed<Checkpoint>,
        on_event: &mut dyn FnMut(SourceEvent) -> Result<()>,
    ) -> Result<()> {
        let owned: Vec<i32> = (0..self.partitions).filter(|p| *p as usize % peers == worker).collect();
        let mut positions = Positions::new(worker, &owned, &self.resume, self.horizon_ms);
        if owned.is_empty() {
            for step in [WorkerStep::Ready, WorkerStep::Replayed, WorkerStep::CaughtUp] {
                self.reached(step);
            }
            if let Some(checkpoint) = positions.checkpoint(feed.output_frontier(), true) {
                feed.checkpoint(checkpoint);
            }
            return Ok(());
        }
        let kafka = &self.kafka;
        let topic = kafka.topic(Topic::Tweets);
        let consumer = Arc::new(assign(kafka, &topic, &owned, &self.resume.offsets)?);
        // A message arriving while the worker is parked (for at most MAX_PARK) wakes it at once:
        // the idle wait is otherwise part of every tweet's latency.
        let worker_thread = std::thread::current();
        let queues: Vec<(i32, PartitionQueue<DefaultConsumerContext>)> = owned
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
        let mut marks = PartitionWatermarks::new(&owned, self.lateness_ms, self.idle_after, Instant::now());
        let mut reported = None;
        let mut recent = RecentIds::new(self.master.is_some());
        let mut master = self.master.as_ref().map(StoredTweets::open).transpose()?;
        // What the worker had remembered when it last asked the job to flush the archive.
        let mut flushed = recent.mark();
        let counts = &self.counts;
        let mut caught_up = true;
        let mut broker = BrokerWatch::new(kafka.wait());
        let max_ahead_ms = self.lateness_ms + MAX_AHEAD_MS;
        let mut previously_held_back = Vec::new();
        let mut heard_since_checkpoint = false;
        // A checkpoint taken, waiting for what the job wrote before it to be durable.
        let mut awaiting: Option<Checkpoint> = None;
        self.reached(WorkerStep::Ready);
        // How far this run's start has got: the messages of an earlier run read again, and each
        // partition read to its end once.
        let (mut replayed, mut caught_up_once, mut read_to_end) = (false, false, BTreeSet::new());
        loop {
            if feed.stopping() {
                return Ok(());
            }
            let mut idle_round = true;
            // Backpressure: no new input until the graph has processed what it was given, and
            // none from a partition far ahead of the others.
            let burst = if caught_up { BURST } else { 0 };
            let held_back = feed.output_frontier().map_or(Vec::new(), |time| marks.ahead_of(time + max_ahead_ms));
            if held_back != previously_held_back {
                log::debug!(
                    "worker {worker}: holding back partitions {held_back:?} of '{topic}', more than {} ahead of the published rankings",
                    format_duration(max_ahead_ms)
                );
                previously_held_back.clone_from(&held_back);
            }
            let open = queues.iter().filter(|(partition, _)| !held_back.contains(partition)).map(|(_, queue)| queue);
            let mut round = Round::new(&consumer, open.collect());
            let mut drained = false;
            // The burst's messages, read first and then handled together: the master dataset is
            // asked about all their tweets at once.
            let mut polled = Vec::new();
            for _ in 0..burst {
                let Some(next) = round.next() else {
                    drained = true;
                    break;
                };
                let message = match next {
                    Err(KafkaError::PartitionEOF(partition)) => {
                        read_to_end.insert(partition);
                        polled.push(Polled::End(partition));
                        continue;
                    }
                    Err(error) if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AutoOffsetReset) => {
                        bail!("reading '{topic}' from {kafka}: {error}: {POSITION_LOST}");
                    }
                    Err(error)
                        if matches!(
                            error.rdkafka_error_code(),
                            Some(RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure)
                        ) =>
                    {
                        broker.lost(kafka, &error, Instant::now());
                        break;
                    }
                    Err(error) => {
                        log::warn!("reading '{topic}' from {kafka}: {error}; retrying");
                        break;
                    }
                    Ok(message) => {
                        broker.answered(kafka);
                        message
                    }
                };
                idle_round = false;
                heard_since_checkpoint = true;
                counts.consumed.fetch_add(1, Ordering::Relaxed);
                // The record's timestamp, which a replay reads again: the same verdict every time.
                let at = message.timestamp().to_millis().and_then(|ms| u64::try_from(ms).ok());
                let ingestion =
                    Ingestion { at: at.unwrap_or_else(wall_clock_ms), max_event_ahead_ms: self.max_event_ahead_ms };
                let decoded = decode(message.payload(), self.format, ingestion);
                let time = match &decoded {
                    Ok(Decoded::Tweet(tweet, _)) => Some(tweet.created_at),
                    _ => None,
                };
                let handled = positions.read(message.partition(), message.offset(), time);
                if handled {
                    self.clock.replayed_one();
                }
                polled.push(Polled::Message { message, decoded, handled, ingested_at: ingestion.at });
            }
            let frontier = feed.frontier();
            recent.forget_before(frontier);
            let stored = match master.as_mut() {
                Some(master) => master.kept(&unremembered_ids(&polled, &recent))?,
                None => HashMap::new(),
            };
            for polled in polled {
                let (message, decoded, handled, ingested_at) = match polled {
                    Polled::Message { message, decoded, handled, ingested_at } => {
                        (message, decoded, handled, ingested_at)
                    }
                    // In its place among the messages: a tweet taken in after it clears it again.
                    Polled::End(partition) => {
                        marks.reached_end(partition);
                        continue;
                    }
                };
                let (partition, offset) = (message.partition(), message.offset());
                let rejected = |reason: String| {
                    SourceEvent::Rejected(Rejection {
                        reason,
                        partition,
                        offset,
                        key: message.key(),
                        payload: message.payload(),
                    })
                };
                // What an earlier run handled before it stopped only needs to reach the graph again.
                let (tweet, date_time) = match decoded {
                    Ok(Decoded::Tweet(tweet, date_time)) => (tweet, date_time),
                    Ok(Decoded::Skipped(_)) | Err(_) if handled => continue,
                    Ok(Decoded::Skipped(_)) => {
                        counts.skipped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Err(reason) => {
                        on_event(rejected(reason))?;
                        continue;
                    }
                };
                let time = tweet.created_at;
                let fingerprint = TweetFingerprint::of(&tweet);
                // A conflict, like any input refused, leaves its partition's watermark alone: one
                // restamped years ahead must not make every later tweet late.
                match sighting(&recent, &stored, &tweet, &fingerprint) {
                    Sighting::New => {
                        marks.observe(partition, time);
                        recent.remember(tweet.id, fingerprint);
                    }
                    Sighting::Copy => {
                        marks.observe(partition, time);
                        counts.duplicates.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    // An earlier run dead-lettered it already.
                    Sighting::Conflict(_) if handled => continue,
                    Sighting::Conflict(reason) => {
                        on_event(rejected(reason))?;
                        continue;
                    }
                }
                let hashtags = hashtag_symbols(&tweet.text);
                let read = ReadTweet { tweet, hashtags, date_time, ingested_at };
                if !handled {
                    on_event(SourceEvent::Tweet(&read))?;
                }
                if feed.push(time, Contribution::with_hashtags(read.tweet, read.hashtags)).is_err() {
                    on_event(rejected(late_reason(time, frontier)))?;
                }
            }
            let now = Instant::now();
            if !idle_round {
                counts.record_arrivals(self.started, now);
            }
            if !replayed && positions.replayed() {
                replayed = true;
                self.reached(WorkerStep::Replayed);
            }
            if replayed && !caught_up_once && read_to_end.len() == owned.len() {
                caught_up_once = true;
                self.reached(WorkerStep::CaughtUp);
            }
            // Quiet time while the broker is away is not quiet input.
            marks.end_round(drained && !broker.is_down(), now);
            let watermark = marks.watermark();
            if watermark != reported {
                feed.report_watermark(watermark);
                reported = watermark;
            }
            if let Some(time) = watermark.or_else(|| feed.cluster_watermark()) {
                feed.advance_to(time);
            }
            caught_up = feed.step();
            if idle_round && caught_up {
                feed.park(MAX_PARK);
            }
            on_event(SourceEvent::RoundEnded)?;
            let idle = self.until_idle.is_some_and(|limit| marks.quiet_for() >= limit);
            let last = idle || self.stop.load(Ordering::Relaxed);
            let due = awaiting.is_none() && now.duration_since(positions.taken()) >= self.checkpoint_every;
            if last || due {
                if !std::mem::take(&mut heard_since_checkpoint) {
                    broker.check(&consumer, kafka, &topic)?;
                }
                self.record_partitions(&marks, &positions);
                // What the positions have passed must be durable before a restart may skip it. A
                // later checkpoint takes the place of one still waiting for that.
                on_event(SourceEvent::Flush)?;
                flushed = recent.mark();
                if let Some(checkpoint) = positions.checkpoint(feed.output_frontier(), last) {
                    awaiting = Some(checkpoint);
                }
            }
            if let Some(checkpoint) = awaiting.take() {
                let mut durable = false;
                loop {
                    on_event(SourceEvent::Flushed { durable: &mut durable })?;
                    if durable || !last {
                        break;
                    }
                    std::thread::sleep(FLUSHED_POLL);
                }
                match durable {
                    true => {
                        recent.archived(flushed);
                        feed.checkpoint(checkpoint);
                    }
                    false => awaiting = Some(checkpoint),
                }
            }
            if last {
                break;
            }
        }
        // Report idleness so that no other worker waits for this one's watermark any more.
        feed.report_watermark(None);
        Ok(())
    }

    /// Records each of the worker's partitions' watermark and position, for the metrics.
    fn record_partitions(&self, marks: &PartitionWatermarks, positions: &Positions) {
        let statuses = marks.each().map(|(partition, watermark)| {
            (partition, PartitionStatus { watermark, next_offset: positions.next_offset(partition) })
        });
        if let Ok(mut all) = self.counts.partitions.lock() {
            all.extend(statuses);
        }
    }

    /// Records that this worker reached `step` of its start; the last local worker to catch up
    /// prints how long each step took.
    fn reached(&self, step: WorkerStep) {
        if self.clock.worker_reached(step) && step == WorkerStep::CaughtUp {
            println!("{}started: {}", self.speaker, self.clock.summary());
        }
    }
}

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

/// Whether the broker answers, asked when the input has been quiet for a while. A consumer cannot
/// tell a broker that is away from one with nothing new (librdkafka reconnects quietly), and a
/// stream must not take the one for the other: that would end `--until-idle` early, or take
/// partitions for idle. A broker away for longer than the allowed wait ends the job.
struct BrokerWatch {
    down_since: Option<Instant>,
    allowed: Duration,
}

impl BrokerWatch {
    fn new(allowed: Duration) -> Self {
        BrokerWatch { down_since: None, allowed }
    }

    fn is_down(&self) -> bool {
        self.down_since.is_some()
    }

    /// Records that the broker answered (a message came, or metadata).
    fn answered(&mut self, kafka: &KafkaConfig) {
        if let Some(since) = self.down_since.take() {
            log::warn!("{kafka}: answering again after {:.1} s; reading on", since.elapsed().as_secs_f64());
        }
    }

    /// Records that the broker has not answered since `since`.
    fn lost(&mut self, kafka: &KafkaConfig, error: &KafkaError, since: Instant) {
        if self.down_since.is_none() {
            log::warn!("{kafka}: not answering ({error}); waiting up to {:?} for it", self.allowed);
            self.down_since = Some(since);
        }
    }

    /// Asks the broker for the topic's metadata; fails once it has not answered for longer than
    /// allowed. The question may take [`METADATA_PATIENCE`]: a broker that answers slowly is
    /// busy, not away.
    fn check(&mut self, consumer: &BaseConsumer, kafka: &KafkaConfig, topic: &str) -> Result<()> {
        let asked = Instant::now();
        match consumer.fetch_metadata(Some(topic), METADATA_PATIENCE.min(self.allowed)) {
            Ok(_) => self.answered(kafka),
            Err(error) => {
                self.lost(kafka, &error, asked);
                if let Some(since) = self.down_since.filter(|since| since.elapsed() > self.allowed) {
                    return Err(kafka.explain(error)).context(format!(
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

/// A consumer that reads `partitions` of `topic` from their stored offsets, or the beginning.
fn assign(
    kafka: &KafkaConfig,
    topic: &str,
    partitions: &[i32],
    stored: &std::collections::BTreeMap<i32, i64>,
) -> Result<BaseConsumer> {
    let consumer = kafka.tailing_consumer()?;
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        let offset = stored.get(partition).map_or(Offset::Beginning, |offset| Offset::Offset(*offset));
        assignment
            .add_partition_offset(topic, *partition, offset)
            .with_context(|| format!("assigning partition {partition} of '{topic}'"))?;
    }
    consumer.assign(&assignment).map_err(|e| kafka.explain(e)).context("assigning partitions")?;
    Ok(consumer)
}

/// What a burst read, in the order read, to be handled together.
enum Polled<'a> {
    /// A message, decoded.
    Message {
        message: BorrowedMessage<'a>,
        decoded: Result<Decoded, String>,
        /// Whether an earlier run handled it before it stopped.
        handled: bool,
        ingested_at: EventTime,
    },
    /// The end of a partition, as it was when the consumer reached it.
    End(i32),
}

/// The ids of the burst's tweets that `recent` does not remember, once each: those the master
/// dataset is asked about.
fn unremembered_ids(polled: &[Polled], recent: &RecentIds) -> Vec<u64> {
    let mut ids: Vec<u64> = polled
        .iter()
        .filter_map(|polled| match polled {
            Polled::Message { decoded: Ok(Decoded::Tweet(tweet, _)), .. } if !recent.knows(tweet.id) => Some(tweet.id),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// What `tweet` is: to the tweets the worker remembers, or else to the master dataset's values of
/// the burst's other tweets (`stored`).
fn sighting(
    recent: &RecentIds,
    stored: &HashMap<u64, KeptTweet>,
    tweet: &Tweet,
    fingerprint: &TweetFingerprint,
) -> Sighting {
    match recent.sighting(tweet.id, fingerprint) {
        Sighting::New => match stored.get(&tweet.id).map(|kept| kept.differences(tweet)) {
            Some(differences) if !differences.is_empty() => {
                Sighting::Conflict(conflict_reason(tweet.id, FirstCopy::Stored, &differences))
            }
            _ => Sighting::New,
        },
        remembered => remembered,
    }
}

fn late_reason(time: EventTime, frontier: EventTime) -> String {
    format!("late: event time {} is behind the watermark {}", rfc3339(time), rfc3339(frontier))
}
