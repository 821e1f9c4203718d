//! `trendflow stream`: the speed layer. Tweets from Kafka through the graph, rankings out to Kafka
//! and MySQL as they change.
//!
//! Each timely worker owns the `tweets` partitions whose number modulo the worker count is its
//! index, assigned explicitly (no consumer group). It reads them from the beginning, decodes
//! every message, and advances the graph's input frontier to its watermark
//! ([`PartitionWatermarks`]); a worker whose partitions are all idle follows the least watermark of
//! the workers that are not, so that it does not hold their windows open. Messages that are not
//! tweets, and tweets behind the frontier, go to the dead-letter topic with the reason. Good
//! tweets are archived into MySQL's master dataset, so the batch layer sees them too.
//!
//! Live rankings of hashtags and tweets go to `top_hashtags` / `top_tweets` whenever they change;
//! when a window closes its final ranking goes there with `final: true`, and into the view tables
//! with layer `speed`. With `--until-idle` the job treats quiet input as complete: it closes every
//! window and ends. A signal (Ctrl-C, SIGTERM) stops it without closing windows early: windows
//! still open are not published as final.
//!
//! Every `--checkpoint-every`, each worker flushes what it wrote (archive, dead letters, hashtag
//! occurrences) and hands the job a [`Checkpoint`]: where to read its partitions again from to
//! rebuild the windows not yet published. The job writes the rankings ahead of it, then stores it
//! ([`CheckpointStore`]), so a restart — after a crash, a kill or a stop — resumes there and
//! rewrites nothing that differs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use trendflow_dataflows::graph::GraphConfig;
use trendflow_dataflows::hashtags::extract_hashtags;
use trendflow_dataflows::views::Snapshot;
use trendflow_dataflows::window::{format_duration, parse_duration};
use trendflow_dataflows::{EventTime, Tweet};

use crate::cluster::ClusterArgs;
use crate::db::{MysqlArgs, MysqlConfig};
use crate::harness::latency::{wall_clock_us, write_report, Latencies, LatencyRecorder};
use crate::harness::layer::{run_layer, Checkpoint, DrivenSource, Feed, LayerPlan, Output, PartitionPosition, Source};
use crate::harness::memory::peak_rss_bytes;
use crate::harness::recovery::{StartClock, WorkerStep};
use crate::harness::signal::stop_flag;
use crate::jobs::graph_args::{parse_wait, LiveArgs, ViewArgs};
use crate::kafka::{KafkaArgs, KafkaConfig, Topic};
use crate::sink::kafka::{dead_letter_json, hashtag_json, snapshot_json, window_key, KafkaSink};
use crate::sink::mysql::{Archive, Layer, StoredTweet, ViewWriter};
use crate::source::formats::Format;
use crate::source::kafka::{decode, Decoded, PartitionWatermarks, RecentIds, ReplayPoint};
use crate::source::limits::DEFAULT_MAX_EVENT_AHEAD;
use crate::source::mysql::check_schema;
use crate::source::resume::{CheckpointStore, ResumePoint};
use crate::source::seed_tweet::Ingestion;
use crate::time::rfc3339;

/// Flags of `trendflow stream`.
#[derive(Args, Debug, Clone)]
pub struct StreamArgs {
    #[command(flatten)]
    pub views: ViewArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    /// A partition that delivers nothing for this long (wall-clock) stops holding back the watermark.
    #[arg(long = "idle-timeout", default_value = "5s", value_parser = parse_wait, value_name = "SECS|DURATION")]
    pub idle_timeout: u64,
    /// End once no partition has delivered anything for this long (wall-clock), treating the input
    /// as complete: every window closes. Without it the job runs until stopped.
    #[arg(long = "until-idle", value_parser = parse_wait, value_name = "SECS|DURATION")]
    pub until_idle: Option<u64>,
    /// Measure end-to-end latency — from each tweet's event time, taken as the moment it was
    /// produced, to every ranking that includes it being computed — and write its percentiles to
    /// PATH as JSON (this process's workers). Meaningful only for a live stream, whose event times
    /// are wall-clock times (`produce --live`).
    #[arg(long = "latency-report", value_name = "PATH")]
    pub latency_report: Option<PathBuf>,
    /// With --latency-report: leave out the tweets of the first DURATION of event time.
    #[arg(long = "latency-warmup", default_value = "0s", value_parser = parse_duration, value_name = "DURATION", requires = "latency_report")]
    pub latency_warmup: u64,
    /// How often each worker stores where a restart would resume (after flushing what it wrote).
    #[arg(long = "checkpoint-every", default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub checkpoint_every: u64,
    /// Forget the stored positions and read every partition from its beginning, rebuilding every
    /// window.
    #[arg(long = "from-beginning")]
    pub from_beginning: bool,
    /// Do not archive consumed tweets into MySQL's master dataset.
    #[arg(long = "no-archive")]
    pub no_archive: bool,
    /// Dead-letter a tweet whose event time is more than this ahead of its Kafka record's
    /// timestamp: one tweet dated years ahead would otherwise move its partition's watermark there
    /// and make every later tweet late.
    #[arg(long = "max-event-ahead", default_value = DEFAULT_MAX_EVENT_AHEAD, value_parser = parse_duration, value_name = "DURATION")]
    pub max_event_ahead: u64,
    /// The shape of the topic's messages: the seed's rows, Twitter v1.1 or v2 tweets, Bluesky
    /// Jetstream events, or told per message from its fields.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub mysql: MysqlArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// What the workers counted, shared with the summary.
#[derive(Default)]
struct Counters {
    consumed: AtomicU64,
    dead_lettered: AtomicU64,
    /// Messages that hold no tweet, rightly: deletion notices, likes.
    skipped: AtomicU64,
    duplicates: AtomicU64,
    archived: AtomicU64,
    /// When the first and the last message arrived, in microseconds since the job started: the
    /// consuming rate is over that span, not over the idle wait that ends the job.
    first_message_us: AtomicU64,
    last_message_us: AtomicU64,
}

impl Counters {
    fn record_arrivals(&self, started: Instant, now: Instant) {
        let at = now.duration_since(started).as_micros() as u64;
        let _ = self.first_message_us.compare_exchange(0, at.max(1), Ordering::Relaxed, Ordering::Relaxed);
        self.last_message_us.fetch_max(at, Ordering::Relaxed);
    }

    /// The time between the first message and the last.
    fn active(&self) -> Duration {
        let first = self.first_message_us.load(Ordering::Relaxed);
        Duration::from_micros(self.last_message_us.load(Ordering::Relaxed).saturating_sub(first))
    }
}

/// What every worker needs to read its partitions.
struct WorkerPlan {
    kafka: KafkaConfig,
    mysql: Option<MysqlConfig>,
    partitions: i32,
    lateness_ms: u64,
    max_event_ahead_ms: u64,
    format: Format,
    idle_after: Duration,
    until_idle: Option<Duration>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    started: Instant,
    /// With `--latency-report`: the graph and the warm-up to measure with, and where the workers
    /// merge their latencies.
    latency: Option<(GraphConfig, u64)>,
    latencies: Mutex<Latencies>,
    /// Where reading resumes, and how much event time a ranking spans.
    resume: ResumePoint,
    horizon_ms: u64,
    checkpoint_every: Duration,
    /// When each step of the start ended; the last worker to catch up prints them, prefixed by
    /// `speaker`.
    clock: Arc<StartClock>,
    speaker: String,
}

/// Runs the speed layer until the input is idle (`--until-idle`) or a signal stops it.
pub fn run(args: StreamArgs) -> Result<()> {
    let clock = Arc::new(StartClock::start(args.cluster.workers));
    // First, so that a signal during the start stops the job cleanly too.
    let stop = stop_flag()?;
    let kafka = args.kafka.config()?;
    let mysql = args.mysql.config()?;
    let graph = args.views.graph(args.live.tick)?;
    let timely_config = args.cluster.timely_config()?;
    check_schema(&mysql)?;
    let cluster = &args.cluster;
    let mut checkpoints = CheckpointStore::new(
        &mysql,
        consumer_name(&graph),
        kafka.topic(Topic::Tweets),
        cluster.process,
        cluster.processes,
    )?;
    if args.from_beginning {
        checkpoints.clear()?;
    }
    let resume = checkpoints.load()?;
    clock.job_step("MySQL");
    let metadata = kafka.metadata_client()?;
    let partitions = kafka.partition_count(&metadata, Topic::Tweets)?;
    check_positions(&kafka, &metadata, &resume)?;
    clock.job_step("broker");
    if !resume.offsets.is_empty() {
        let offsets: Vec<String> =
            resume.offsets.iter().map(|(partition, offset)| format!("{partition}@{offset}")).collect();
        println!(
            "{}resuming from stored positions (partition@offset: {}); windows that start before {} were written before",
            cluster.speaker(),
            offsets.join(" "),
            rfc3339(resume.rebuild_from)
        );
    }
    let workers = args.cluster.total_workers();
    if workers > partitions as usize {
        log::warn!(
            "{workers} workers share {partitions} partitions of '{}': {} workers will have no input; \
             recreate the topic with more partitions to use them",
            kafka.topic(Topic::Tweets),
            workers - partitions as usize
        );
    }
    let counters = Arc::new(Counters::default());
    let plan = Arc::new(WorkerPlan {
        kafka: kafka.clone(),
        mysql: (!args.no_archive).then(|| mysql.clone()),
        partitions,
        lateness_ms: args.live.lateness,
        max_event_ahead_ms: args.max_event_ahead,
        format: args.format,
        idle_after: Duration::from_millis(args.idle_timeout),
        until_idle: args.until_idle.map(Duration::from_millis),
        stop: stop.clone(),
        counters: counters.clone(),
        started: Instant::now(),
        latency: args.latency_report.is_some().then(|| (graph.clone(), args.latency_warmup)),
        latencies: Mutex::new(Latencies::new()),
        resume: resume.clone(),
        horizon_ms: graph.horizon_ms(),
        checkpoint_every: Duration::from_millis(args.checkpoint_every.max(1)),
        clock: clock.clone(),
        speaker: cluster.speaker(),
    });
    let source: DrivenSource = {
        let plan = plan.clone();
        Arc::new(move |worker, peers, feed| read_partitions(&plan, worker, peers, feed))
    };
    let mut views = ViewWriter::new(&mysql, Layer::Speed)?;
    let rankings = KafkaSink::new(&kafka)?;
    clock.job_step("sinks");
    let (top_hashtags, top_tweets) = (kafka.topic(Topic::TopHashtags), kafka.topic(Topic::TopTweets));
    let layer = LayerPlan { name: "stream", graph, slack_ms: args.live.lateness, changes: true, expected_tweets: None };
    let mut published = 0u64;
    let mut finished_workers = 0;
    let local_workers = args.cluster.workers;
    let run = run_layer(&layer, timely_config, Source::Driven(source), |output, _| match output {
        Output::Checkpoint(checkpoint) => {
            finished_workers += usize::from(checkpoint.last);
            // The rankings ahead of the checkpoint are in the view tables already (each write
            // commits); they must be with the broker too before a restart may skip them.
            rankings.flush(kafka.wait().max(Duration::from_secs(30)))?;
            checkpoints.commit(checkpoint)
        }
        Output::Snapshot(snapshot) => {
            // Once stopped by a signal, the workers close their inputs after their last
            // checkpoint and the graph closes every window: those rankings are incomplete, and
            // must not be published as final.
            if stop.load(Ordering::Relaxed) && finished_workers == local_workers {
                return Ok(());
            }
            // Written before the restart, and not rebuilt in full: the tweets they began with
            // were not read again.
            if snapshot.window().start() < resume.rebuild_from {
                return Ok(());
            }
            let topic = match snapshot {
                Snapshot::Hashtags(_) => Some(&top_hashtags),
                Snapshot::Tweets(_) => Some(&top_tweets),
                Snapshot::Languages(_) => None,
            };
            if let Some(topic) = topic {
                rankings.send(topic, window_key(&snapshot.window()).as_bytes(), snapshot_json(&snapshot).as_bytes())?;
                rankings.poll();
                published += 1;
            }
            views.write(&snapshot)
        }
    })?;
    let delivered = rankings.flush(kafka.wait().max(Duration::from_secs(30)))?;
    let memory = peak_rss_bytes().map(|b| format!(", peak memory {} MiB", b / (1024 * 1024))).unwrap_or_default();
    let interrupted =
        if stop.load(Ordering::Relaxed) { " (stopped by signal: open windows not published)" } else { "" };
    let consumed = counters.consumed.load(Ordering::Relaxed);
    let latency = match &args.latency_report {
        Some(path) => {
            let latencies = plan.latencies.lock().map_err(|_| anyhow!("a worker failed while recording latencies"))?;
            write_report(path, &latencies)?;
            format!("; {}", latencies.summary_line())
        }
        None => String::new(),
    };
    println!(
        "{}stream: {consumed} messages consumed from {partitions} partitions of {kafka} in {:.2} s \
         ({:.0} messages/s between the first and the last); \
         {} windows closed (layer speed), {published} ranking snapshots ({} confirmed); \
         {} dead-lettered ({} late, lateness {}), {} skipped (no tweet), {} duplicates dropped, {} archived, {} checkpoints stored{memory}{latency}{interrupted}",
        args.cluster.speaker(),
        run.elapsed.as_secs_f64(),
        consumed as f64 / counters.active().as_secs_f64().max(1e-3),
        run.windows_closed,
        delivered.delivered,
        counters.dead_lettered.load(Ordering::Relaxed),
        run.late,
        format_duration(args.live.lateness),
        counters.skipped.load(Ordering::Relaxed),
        counters.duplicates.load(Ordering::Relaxed),
        counters.archived.load(Ordering::Relaxed),
        checkpoints.stored,
    );
    Ok(())
}

/// The message when the broker no longer has the records at a stored position.
const POSITION_LOST: &str = "the broker no longer has the records at the stored positions (deleted by retention, \
    a recreated topic, or storage lost); rerun with --from-beginning to rebuild the views from what it has";

/// Fails unless the broker still has every stored position: otherwise a restart would skip
/// records, or (on brokers that do not report it) wait for them forever.
fn check_positions(kafka: &KafkaConfig, consumer: &BaseConsumer, resume: &ResumePoint) -> Result<()> {
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

/// Names what a stream computes, for its stored positions: its window specs and top K.
fn consumer_name(graph: &GraphConfig) -> String {
    let specs: Vec<String> = graph.windows().iter().map(ToString::to_string).collect();
    format!("stream {} top {}", specs.join(","), graph.top_k())
}

/// How many messages a worker reads before it lets the graph catch up.
const BURST: usize = 8_192;

/// How long a worker with no new input lets the dataflow sleep before it looks again: the
/// latency the input sees at worst, against the CPU an idle job burns.
const MAX_PARK: Duration = Duration::from_millis(5);

/// Archive writes go in batches of this many tweets, or at least every [`ARCHIVE_EVERY`].
const ARCHIVE_BATCH: usize = 4_096;
const ARCHIVE_EVERY: Duration = Duration::from_secs(1);

/// One worker's loop: read its partitions, feed the graph, dead-letter and archive, until the
/// input is idle (with `--until-idle`) or a signal arrives.
fn read_partitions(plan: &WorkerPlan, worker: usize, peers: usize, feed: &mut dyn Feed) -> Result<()> {
    let owned: Vec<i32> = (0..plan.partitions).filter(|p| *p as usize % peers == worker).collect();
    let mut positions = Positions {
        worker,
        points: owned
            .iter()
            .map(|p| {
                let (offset, handled_to) = (plan.resume.offsets.get(p), plan.resume.handled_to.get(p));
                (*p, ReplayPoint::starting_at(offset.copied(), handled_to.copied()))
            })
            .collect(),
        horizon_ms: plan.horizon_ms,
        rebuild_from: plan.resume.rebuild_from,
        taken: Instant::now(),
        last_taken: None,
    };
    let clock = &plan.clock;
    if owned.is_empty() {
        for step in [WorkerStep::Ready, WorkerStep::Replayed, WorkerStep::CaughtUp] {
            reached(plan, step);
        }
        positions.checkpoint(feed, true);
        return Ok(());
    }
    let kafka = &plan.kafka;
    let topic = kafka.topic(Topic::Tweets);
    let consumer = Arc::new(assign(kafka, &topic, &owned, &plan.resume.offsets)?);
    let queues: Vec<(i32, PartitionQueue<DefaultConsumerContext>)> = owned
        .iter()
        .map(|&partition| {
            let queue = consumer.split_partition_queue(&topic, partition);
            queue
                .map(|queue| (partition, queue))
                .ok_or_else(|| anyhow!("no partition {partition} of '{topic}' to read"))
        })
        .collect::<Result<_>>()?;
    let sink = KafkaSink::new(kafka)?;
    let (dead_letters, hashtags) = (kafka.topic(Topic::DeadLetter), kafka.topic(Topic::Hashtags));
    let mut archive =
        plan.mysql.as_ref().map(|config| Archive::new(config, ARCHIVE_BATCH, ARCHIVE_EVERY)).transpose()?;
    let mut marks = PartitionWatermarks::new(&owned, plan.lateness_ms, plan.idle_after, Instant::now());
    let mut reported = None;
    let mut recent = RecentIds::default();
    let mut latency = plan.latency.as_ref().map(|(graph, warmup)| LatencyRecorder::new(graph.clone(), *warmup));
    let counters = &plan.counters;
    let mut caught_up = true;
    let mut broker = BrokerWatch::new(kafka.wait());
    let max_ahead_ms = plan.lateness_ms + MAX_AHEAD_MS;
    let mut previously_held_back = Vec::new();
    let mut heard_since_checkpoint = false;
    reached(plan, WorkerStep::Ready);
    // How far this run's start has got: the messages of an earlier run read again, and each
    // partition read to its end once.
    let (mut replayed, mut caught_up_once, mut read_to_end) = (false, false, BTreeSet::new());
    loop {
        if feed.stopping() {
            return Ok(());
        }
        let mut idle_round = true;
        // Backpressure: no new input until the graph has processed what it was given, and none
        // from a partition far ahead of the others.
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
        for _ in 0..burst {
            let Some(polled) = round.next() else {
                drained = true;
                break;
            };
            let message = match polled {
                Err(KafkaError::PartitionEOF(partition)) => {
                    marks.reached_end(partition);
                    read_to_end.insert(partition);
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
                    broker.lost(kafka, &error);
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
            counters.consumed.fetch_add(1, Ordering::Relaxed);
            let (partition, offset) = (message.partition(), message.offset());
            let dead_letter = |reason: &str| -> Result<()> {
                counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                let letter = dead_letter_json(reason, &topic, partition, offset, message.payload());
                sink.send(&dead_letters, message.key().unwrap_or_default(), letter.as_bytes())
            };
            // The record's timestamp, which a replay reads again: the same verdict every time.
            let at = message.timestamp().to_millis().and_then(|ms| u64::try_from(ms).ok());
            let ingestion = Ingestion {
                at: at.unwrap_or_else(|| wall_clock_us() / 1_000),
                max_event_ahead_ms: plan.max_event_ahead_ms,
            };
            let decoded = decode(message.payload(), plan.format, ingestion);
            // What an earlier run handled before it stopped only needs to reach the graph again.
            let time = match &decoded {
                Ok(Decoded::Tweet(tweet, _)) => Some(tweet.created_at),
                _ => None,
            };
            let handled = positions.read(partition, offset, time);
            if handled {
                clock.replayed_one();
            }
            let (tweet, date_time) = match decoded {
                Ok(Decoded::Tweet(tweet, date_time)) => (tweet, date_time),
                Ok(Decoded::Skipped(_)) | Err(_) if handled => continue,
                Ok(Decoded::Skipped(_)) => {
                    counters.skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Err(reason) => {
                    dead_letter(&reason)?;
                    continue;
                }
            };
            marks.observe(partition, tweet.created_at);
            let frontier = feed.frontier();
            if !recent.first_sighting(tweet.id, tweet.created_at, frontier) {
                counters.duplicates.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if !handled {
                // Extracted once for the hashtags topic and the archive.
                let tags = extract_hashtags(&tweet.text);
                for hashtag in &tags {
                    sink.send(&hashtags, hashtag.as_bytes(), hashtag_json(&tweet, hashtag).as_bytes())?;
                }
                if let Some(archive) = archive.as_mut() {
                    let stored = StoredTweet {
                        hashtags: Some(tags),
                        ..StoredTweet::new(tweet.clone(), date_time, ingestion.at)
                    };
                    counters.archived.fetch_add(archive.push(stored)?, Ordering::Relaxed);
                }
            }
            let time = tweet.created_at;
            match feed.push(tweet) {
                Ok(()) => latency.iter_mut().for_each(|latency| latency.fed(time, wall_clock_us())),
                Err(tweet) => dead_letter(&late_reason(&tweet, frontier))?,
            }
        }
        let now = Instant::now();
        if !idle_round {
            counters.record_arrivals(plan.started, now);
        }
        if !replayed && positions.replayed() {
            replayed = true;
            reached(plan, WorkerStep::Replayed);
        }
        if replayed && !caught_up_once && read_to_end.len() == owned.len() {
            caught_up_once = true;
            reached(plan, WorkerStep::CaughtUp);
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
        if let Some(latency) = latency.as_mut() {
            latency.emitted_before(feed.output_frontier(), wall_clock_us());
        }
        sink.poll();
        if let Some(archive) = archive.as_mut() {
            counters.archived.fetch_add(archive.flush_if_due(now)?, Ordering::Relaxed);
        }
        let idle = plan.until_idle.is_some_and(|limit| marks.quiet_for() >= limit);
        let last = idle || plan.stop.load(Ordering::Relaxed);
        if last || now.duration_since(positions.taken) >= plan.checkpoint_every {
            if !std::mem::take(&mut heard_since_checkpoint) {
                broker.check(&consumer, kafka, &topic)?;
            }
            // What the positions have passed must be stored before a restart may skip it.
            if let Some(archive) = archive.as_mut() {
                counters.archived.fetch_add(archive.flush()?, Ordering::Relaxed);
            }
            sink.flush(kafka.wait().max(Duration::from_secs(30)))?;
            positions.checkpoint(feed, last);
        }
        if last {
            break;
        }
    }
    // The tweets of the last tick stay unmeasured: their rankings wait for input that never came.
    if let (Some(latency), Ok(mut merged)) = (latency, plan.latencies.lock()) {
        merged.add(latency.latencies())?;
    }
    // Report idleness so that no other worker waits for this one's watermark any more.
    feed.report_watermark(None);
    Ok(())
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

    /// Records that the broker did not answer.
    fn lost(&mut self, kafka: &KafkaConfig, error: &KafkaError) {
        if self.down_since.is_none() {
            log::warn!("{kafka}: not answering ({error}); waiting up to {:?} for it", self.allowed);
            self.down_since = Some(Instant::now());
        }
    }

    /// Asks the broker for the topic's metadata; fails once it has not answered for longer than
    /// allowed.
    fn check(&mut self, consumer: &BaseConsumer, kafka: &KafkaConfig, topic: &str) -> Result<()> {
        match consumer.fetch_metadata(Some(topic), Duration::from_secs(1)) {
            Ok(_) => self.answered(kafka),
            Err(error) => {
                self.lost(kafka, &error);
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

/// Records that this worker reached `step` of its start; the last local worker to catch up prints
/// how long each step took.
fn reached(plan: &WorkerPlan, step: WorkerStep) {
    if plan.clock.worker_reached(step) && step == WorkerStep::CaughtUp {
        println!("{}started: {}", plan.speaker, plan.clock.summary());
    }
}

/// Where a worker's partitions must be read again from, for its checkpoints.
struct Positions {
    worker: usize,
    points: BTreeMap<i32, ReplayPoint>,
    horizon_ms: u64,
    /// Windows starting before this were written before a restart: never rebuild earlier.
    rebuild_from: EventTime,
    /// When the last checkpoint was taken.
    taken: Instant,
    /// The last checkpoint handed over: an idle stream does not store the same one again.
    last_taken: Option<Checkpoint>,
}

impl Positions {
    /// Records the message at `offset` of `partition`; returns whether an earlier run handled
    /// it before it stopped.
    fn read(&mut self, partition: i32, offset: i64, time: Option<EventTime>) -> bool {
        let Some(point) = self.points.get_mut(&partition) else { return false };
        let handled = point.handled_before(offset);
        point.read(offset, time);
        handled
    }

    /// Whether every message an earlier run handled has been read again.
    fn replayed(&self) -> bool {
        self.points.values().all(ReplayPoint::replayed)
    }

    /// Hands the job a checkpoint that rebuilds every window the cluster has not yet published
    /// in full: those that end after the output frontier, which start less than the longest
    /// window before it. Nothing once the graph is done.
    fn checkpoint(&mut self, feed: &mut dyn Feed, last: bool) {
        self.taken = Instant::now();
        let Some(published_before) = feed.output_frontier() else { return };
        let rebuilds_from = published_before.saturating_sub(self.horizon_ms).max(self.rebuild_from);
        let positions = self
            .points
            .iter_mut()
            .filter_map(|(&partition, point)| {
                let replay_from = point.replay_from(rebuilds_from)?;
                let handled_to = point.handled_to().unwrap_or(replay_from);
                Some(PartitionPosition { partition, replay_from, handled_to })
            })
            .collect();
        let checkpoint = Checkpoint { worker: self.worker, published_before, positions, rebuilds_from, last };
        if self.last_taken.as_ref() != Some(&checkpoint) {
            self.last_taken = Some(checkpoint.clone());
            feed.checkpoint(checkpoint);
        }
    }
}

/// A consumer that reads `partitions` of `topic` from their stored offsets, or the beginning.
fn assign(kafka: &KafkaConfig, topic: &str, partitions: &[i32], stored: &BTreeMap<i32, i64>) -> Result<BaseConsumer> {
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

fn late_reason(tweet: &Tweet, frontier: u64) -> String {
    format!("late: event time {} is behind the watermark {}", rfc3339(tweet.created_at), rfc3339(frontier))
}
