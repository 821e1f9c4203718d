//! `trendflow stream`: the speed layer. Tweets from Kafka through the graph, rankings out to Kafka
//! and MySQL as they change.
//!
//! The Kafka source ([`TweetsReader`]) reads the `tweets` partitions on every worker, feeds the
//! graph and advances its input frontier to the partitions' watermarks. This job writes what the
//! source hands it besides: messages that are not tweets, and tweets behind the frontier, go to
//! the dead-letter topic with the reason; good tweets' hashtags go to the `hashtags` topic (unless
//! `--no-hashtags-topic`), and
//! the tweets are archived into MySQL's master dataset, so the batch layer sees them too.
//!
//! Live rankings of hashtags, tweets and trending hashtags go to `top_hashtags` / `top_tweets` /
//! `trending_hashtags` whenever they change;
//! when a window closes its final ranking goes there with `final: true`, and into the view tables
//! with layer `speed`. With `--until-idle` the job treats quiet input as complete: it closes every
//! window and ends. A signal (Ctrl-C, SIGTERM) stops it without closing windows early: windows
//! still open are not published as final.
//!
//! Every `--checkpoint-every`, each worker flushes what it wrote (archive, dead letters, hashtag
//! occurrences) and hands the job a [`Checkpoint`]: where to read its partitions again from to
//! rebuild the windows not yet published. The job writes the rankings ahead of it, and stores it
//! ([`CheckpointStore`]) once the broker has confirmed them, so a restart — after a crash, a kill
//! or a stop — resumes there and rewrites nothing that differs.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use clap::Args;
use trendflow_dataflows::graph::{GraphConfig, TrendConfig};
use trendflow_dataflows::views::Snapshot;
use trendflow_dataflows::window::{format_duration, parse_duration};

use crate::checkpoint::Checkpoint;
use crate::cluster::ClusterArgs;
use crate::db::{MysqlArgs, MysqlConfig};
use crate::harness::latency::{write_report, LatencyObserver};
use crate::harness::layer::{run_layer, DrivenSource, Output, Source};
use crate::harness::memory::peak_rss_bytes;
use crate::harness::plan::LayerPlan;
use crate::harness::recovery::StartClock;
use crate::harness::signal::stop_flag;
use crate::harness::worker::Feed;
use crate::jobs::graph_args::{parse_wait, LiveArgs, ViewArgs};
use crate::kafka::{KafkaArgs, KafkaConfig, Topic};
use crate::limits::DEFAULT_MAX_EVENT_AHEAD;
use crate::sink::kafka::{dead_letter_json, hashtag_json, KafkaSink, SentBefore};
use crate::sink::mysql::{Archive, CheckpointStore, Heartbeat, StoredTweet, ViewWriter};
use crate::sink::stream_metrics::StreamMetrics;
use crate::source::formats::Format;
use crate::source::kafka::reader::{check_positions, HighOffsets, ReadCounts, SourceEvent, TweetsReader};
use crate::source::mysql::check_schema;
use crate::time::rfc3339;
use crate::vocabulary::snapshot::{snapshot_json, window_key};
use crate::vocabulary::Layer;

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
    /// produced, to every ranking that includes it being published (sent to the Kafka producer and
    /// written to the view tables) — and write its percentiles to PATH as JSON (this process's
    /// workers), with the part from consuming each tweet to its rankings computed and published.
    /// Meaningful only for a live stream, whose event times are wall-clock times (`produce
    /// --live`).
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
    /// Do not publish each tweet's hashtags to the `hashtags` topic: about one record a tweet
    /// fewer for the broker to store, when nothing reads that topic.
    #[arg(long = "no-hashtags-topic")]
    pub no_hashtags_topic: bool,
    /// Dead-letter a tweet whose event time is more than this ahead of its Kafka record's
    /// timestamp: one tweet dated years ahead would otherwise move its partition's watermark there
    /// and make every later tweet late.
    #[arg(long = "max-event-ahead", default_value = DEFAULT_MAX_EVENT_AHEAD, value_parser = parse_duration, value_name = "DURATION")]
    pub max_event_ahead: u64,
    /// The shape of the topic's messages: the seed's rows, Twitter v1.1 or v2 tweets, Bluesky
    /// Jetstream events, or told per message from its fields.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Serve Prometheus metrics at http://ADDRESS:PORT/metrics while the job runs: consumed,
    /// dead-lettered by reason, partitions' lag and watermarks, checkpoint age, publishing delay.
    #[arg(long = "metrics-listen", value_name = "ADDRESS:PORT")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub mysql: MysqlArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// What the job's workers write besides the graph's input.
struct WorkerWrites {
    kafka: KafkaConfig,
    /// Where the archive goes; `None` with `--no-archive`.
    archive: Option<MysqlConfig>,
    /// Where each tweet's hashtags go; `None` with `--no-hashtags-topic`.
    hashtags_topic: Option<String>,
    dead_lettered: AtomicU64,
    archived: Arc<AtomicU64>,
    metrics: Arc<StreamMetrics>,
}

/// Archive writes go in batches of this many tweets, or at least every [`ARCHIVE_EVERY`].
const ARCHIVE_BATCH: usize = 4_096;
const ARCHIVE_EVERY: Duration = Duration::from_secs(1);

impl WorkerWrites {
    /// One worker's reading with the source, writing what it hands over.
    fn read(&self, reader: &TweetsReader, worker: usize, peers: usize, feed: &mut dyn Feed<Checkpoint>) -> Result<()> {
        let sink = KafkaSink::new(&self.kafka)?;
        let (tweets, dead_letters) = (self.kafka.topic(Topic::Tweets), self.kafka.topic(Topic::DeadLetter));
        let mut archive = self
            .archive
            .as_ref()
            .map(|config| Archive::start(config, ARCHIVE_BATCH, ARCHIVE_EVERY, self.archived.clone()))
            .transpose()?;
        // What the worker had written when the last checkpoint was taken: the messages it sent,
        // and the tweets it handed to the archive.
        let mut flushing = (sink.sent_so_far(), None);
        reader.read(worker, peers, feed, &mut |event| {
            match event {
                SourceEvent::Tweet(read) => {
                    if let Some(topic) = &self.hashtags_topic {
                        for hashtag in &read.hashtags {
                            sink.send(topic, hashtag.as_bytes(), hashtag_json(&read.tweet, hashtag)?.as_bytes())?;
                        }
                    }
                    if let Some(archive) = archive.as_mut() {
                        let stored = StoredTweet {
                            hashtags: Some(read.hashtags.iter().map(|hashtag| hashtag.to_string()).collect()),
                            ..StoredTweet::new(read.tweet.clone(), read.date_time.clone(), read.ingested_at)
                        };
                        archive.push(stored)?;
                    }
                }
                SourceEvent::Rejected(rejection) => {
                    self.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    self.metrics.dead_lettered(&rejection.reason);
                    let letter = dead_letter_json(
                        &rejection.reason,
                        &tweets,
                        rejection.partition,
                        rejection.offset,
                        rejection.payload,
                    );
                    sink.send(&dead_letters, rejection.key.unwrap_or_default(), letter.as_bytes())?;
                }
                SourceEvent::RoundEnded => {
                    sink.poll();
                    if let Some(archive) = archive.as_mut() {
                        archive.check()?;
                    }
                }
                SourceEvent::Flush => {
                    flushing = (sink.sent_so_far(), archive.as_mut().map(Archive::flush).transpose()?)
                }
                SourceEvent::Flushed { durable } => {
                    let stored = match (archive.as_mut(), flushing.1) {
                        (Some(archive), Some(handed)) => archive.stored(handed)?,
                        _ => true,
                    };
                    *durable = stored && sink.confirmed(flushing.0)?;
                }
            }
            Ok(())
        })?;
        if let Some(archive) = archive.as_mut() {
            archive.finish()?;
        }
        Ok(())
    }
}

/// Runs the speed layer until the input is idle (`--until-idle`) or a signal stops it.
pub fn run(args: StreamArgs) -> Result<()> {
    let clock = Arc::new(StartClock::start(args.cluster.workers));
    // First, so that a signal during the start stops the job cleanly too.
    let stop = stop_flag()?;
    let kafka = args.kafka.config()?;
    let mysql = args.mysql.config()?;
    let mut graph = args.views.graph(args.live.tick)?;
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
    // Beats while this function runs: the serving layer shows the open window only meanwhile.
    let _heartbeat = Heartbeat::start(&mysql, consumer_name(&graph), cluster.process);
    // Resuming past the start of a partition, the stream skips tweets, all earlier than where it
    // rebuilds from: the input started before then, though the graph will not see it.
    if resume.offsets.values().any(|offset| *offset > 0) {
        graph = graph.with_earlier_input(resume.rebuild_from);
    }
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
    let counts = Arc::new(ReadCounts::default());
    let metrics = Arc::new(StreamMetrics::new().map_err(|e| anyhow!("registering metrics: {e}"))?);
    let reader = Arc::new(TweetsReader {
        kafka: kafka.clone(),
        master: (!args.no_archive).then(|| mysql.clone()),
        partitions,
        lateness_ms: args.live.lateness,
        max_event_ahead_ms: args.max_event_ahead,
        format: args.format,
        idle_after: Duration::from_millis(args.idle_timeout),
        until_idle: args.until_idle.map(Duration::from_millis),
        stop: stop.clone(),
        resume: resume.clone(),
        horizon_ms: graph.horizon_ms(),
        checkpoint_every: Duration::from_millis(args.checkpoint_every.max(1)),
        counts: counts.clone(),
        started: Instant::now(),
        clock: clock.clone(),
        speaker: cluster.speaker(),
    });
    let writes = Arc::new(WorkerWrites {
        kafka: kafka.clone(),
        archive: (!args.no_archive).then(|| mysql.clone()),
        hashtags_topic: (!args.no_hashtags_topic).then(|| kafka.topic(Topic::Hashtags)),
        dead_lettered: AtomicU64::new(0),
        archived: Arc::new(AtomicU64::new(0)),
        metrics: metrics.clone(),
    });
    if let Some(listen) = args.metrics_listen {
        let (metrics, counts, writes) = (metrics.clone(), counts.clone(), writes.clone());
        let registry = metrics.registry.clone();
        // The partitions' high offsets are asked for at each scrape, off the workers' way.
        let offsets = HighOffsets::new(&kafka)?;
        let refresh = move || metrics.refresh(&counts, writes.archived.load(Ordering::Relaxed), |p| offsets.of(p));
        let address = crate::metrics::expose(listen, registry, refresh)?;
        println!("{}metrics on http://{address}/metrics", cluster.speaker());
    }
    let source: DrivenSource<Checkpoint> = {
        let writes = writes.clone();
        Arc::new(move |worker, peers, feed| writes.read(&reader, worker, peers, feed))
    };
    let mut views = ViewWriter::new(&mysql, Layer::Speed)?;
    let rankings = KafkaSink::new(&kafka)?;
    clock.job_step("sinks");
    let (top_hashtags, top_tweets, trending) =
        (kafka.topic(Topic::TopHashtags), kafka.topic(Topic::TopTweets), kafka.topic(Topic::TrendingHashtags));
    let rebuilt = graph.clone();
    let latency =
        args.latency_report.is_some().then(|| Arc::new(LatencyObserver::new(graph.clone(), args.latency_warmup)));
    let layer = LayerPlan::stream(graph);
    let mut published = 0u64;
    let mut finished_workers = 0;
    let local_workers = args.cluster.workers;
    let mut unconfirmed = UnconfirmedCheckpoints::default();
    let run = run_layer(&layer, timely_config, Source::Driven(source), latency.clone(), |output, _| {
        match output {
            Output::Checkpoint(checkpoint) => {
                finished_workers += usize::from(checkpoint.last);
                unconfirmed.push(checkpoint, &rankings);
            }
            Output::Snapshot(snapshot) => 'publish: {
                // Once stopped by a signal, the workers close their inputs after their last
                // checkpoint and the graph closes every window: those rankings are incomplete,
                // and must not be published as final.
                if stop.load(Ordering::Relaxed) && finished_workers == local_workers {
                    break 'publish;
                }
                // Written before the restart, and not rebuilt in full: the tweets they began with
                // (for a trending window, its baseline's) were not read again.
                if rebuilt.reaches_from(&snapshot) < resume.rebuild_from {
                    break 'publish;
                }
                let topic = match snapshot {
                    Snapshot::Hashtags(_) => Some(&top_hashtags),
                    Snapshot::Tweets(_) => Some(&top_tweets),
                    Snapshot::Languages(_) => None,
                    Snapshot::Trending(_) => Some(&trending),
                };
                if let Some(topic) = topic {
                    let key = window_key(&snapshot.window());
                    let message = snapshot_json(&snapshot).context("encoding a ranking snapshot")?;
                    rankings.send(topic, key.as_bytes(), message.as_bytes())?;
                    rankings.poll();
                    published += 1;
                    metrics.published(snapshot.window().end);
                }
                views.write(&snapshot)?;
            }
            Output::Quiet => {}
        }
        // Whatever came, the broker may have confirmed what a waiting checkpoint covers.
        unconfirmed.store_confirmed(&rankings, &mut checkpoints, &metrics)
    })?;
    let delivered = rankings.flush()?;
    unconfirmed.store_confirmed(&rankings, &mut checkpoints, &metrics)?;
    let memory = peak_rss_bytes().map(|b| format!(", peak memory {} MiB", b / (1024 * 1024))).unwrap_or_default();
    let interrupted =
        if stop.load(Ordering::Relaxed) { " (stopped by signal: open windows not published)" } else { "" };
    let consumed = counts.consumed.load(Ordering::Relaxed);
    let latency = match (&args.latency_report, latency) {
        (Some(path), Some(latency)) => {
            let latencies = latency.latencies()?;
            write_report(path, &latencies)?;
            format!("; {}", latencies.summary_line())
        }
        _ => String::new(),
    };
    println!(
        "{}stream: {consumed} messages consumed from {partitions} partitions of {kafka} in {:.2} s \
         ({:.0} messages/s between the first and the last); \
         {} windows closed (layer speed), {published} ranking snapshots ({} confirmed); \
         {} dead-lettered ({} late, lateness {}), {} skipped (no tweet), {} duplicates dropped, {} archived, {} checkpoints stored{memory}{latency}{interrupted}",
        args.cluster.speaker(),
        run.elapsed.as_secs_f64(),
        consumed as f64 / counts.active().as_secs_f64().max(1e-3),
        run.windows_closed,
        delivered.delivered,
        writes.dead_lettered.load(Ordering::Relaxed),
        run.late,
        format_duration(args.live.lateness),
        counts.skipped.load(Ordering::Relaxed),
        counts.duplicates.load(Ordering::Relaxed),
        writes.archived.load(Ordering::Relaxed),
        checkpoints.stored,
    );
    Ok(())
}

/// The checkpoints whose rankings the broker has yet to confirm, in the order taken. The rankings
/// ahead of a checkpoint are in the view tables when it arrives (each write commits), but a
/// restart may skip them only once the broker has them too. Waiting for that at each checkpoint
/// would hold up publishing for a broker round trip every second, so the job goes on and stores
/// each checkpoint once the broker has confirmed the rankings sent before it.
#[derive(Default)]
struct UnconfirmedCheckpoints(VecDeque<(Checkpoint, SentBefore)>);

impl UnconfirmedCheckpoints {
    fn push(&mut self, checkpoint: Checkpoint, rankings: &KafkaSink) {
        self.0.push_back((checkpoint, rankings.sent_so_far()));
    }

    /// Stores, in order, each checkpoint whose rankings the broker has confirmed, without waiting.
    fn store_confirmed(
        &mut self,
        rankings: &KafkaSink,
        store: &mut CheckpointStore,
        metrics: &StreamMetrics,
    ) -> Result<()> {
        let stored = store.stored;
        while let Some((_, sent)) = self.0.front() {
            if !rankings.confirmed(*sent)? {
                break;
            }
            if let Some((checkpoint, _)) = self.0.pop_front() {
                store.commit(checkpoint)?;
            }
        }
        if store.stored > stored {
            metrics.checkpoint_stored();
        }
        Ok(())
    }
}

/// Names what a stream computes, for its stored positions: its window specs, top K and trending
/// view. Positions stored for other views would resume too late for these: a restart rebuilds
/// only the windows that start after the stored rebuild point, and the other views' earlier ones
/// were never written. The default trending view adds nothing to the name, which positions
/// stored before it had settings of its own keep.
fn consumer_name(graph: &GraphConfig) -> String {
    let specs: Vec<String> = graph.windows().iter().map(ToString::to_string).collect();
    let mut name = format!("stream {} top {}", specs.join(","), graph.top_k());
    // The baselines as each window length has them, so that one setting given two ways (a
    // duration, or the default multiple of each length) names the same views.
    let trend = |trend: &TrendConfig| {
        let baselines: Vec<String> =
            graph.lengths().into_iter().map(|length| format_duration(trend.baseline_ms(length))).collect();
        (baselines.join(","), trend.min_count())
    };
    match graph.trending() {
        None => name.push_str(" without trending"),
        Some(settings) if trend(settings) == trend(&TrendConfig::default()) => {}
        Some(settings) => {
            let (baselines, min_count) = trend(settings);
            name.push_str(&format!(" trending baseline {baselines} min {min_count}"));
        }
    }
    // The minimum score came later than the other settings: named only when not the default.
    if let Some(min_score) = graph.trending().map(TrendConfig::min_score).filter(|z| *z != TrendConfig::MIN_SCORE) {
        name.push_str(&format!(" score {min_score}"));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(trending: Option<TrendConfig>) -> GraphConfig {
        let specs = vec!["5m/1m".parse().expect("a spec"), "1h/5m".parse().expect("a spec")];
        let graph = GraphConfig::new(specs, 10, 1_000).expect("a graph");
        match trending {
            Some(trend) => graph.with_trending(trend).expect("a trending graph"),
            None => graph,
        }
    }

    fn trend(baseline_ms: Option<u64>, min_count: u64) -> Option<TrendConfig> {
        Some(TrendConfig::new(baseline_ms, min_count).expect("trend settings"))
    }

    #[test]
    fn stored_positions_belong_to_the_trending_settings_too() {
        let default = consumer_name(&graph(Some(TrendConfig::default())));
        // As named before the trending view's settings were part of it.
        assert_eq!(default, "stream 5m/1m,1h/5m top 10");
        assert_eq!(consumer_name(&graph(None)), "stream 5m/1m,1h/5m top 10 without trending");
        assert_eq!(
            consumer_name(&graph(trend(Some(7_200_000), 5))),
            "stream 5m/1m,1h/5m top 10 trending baseline 2h,2h min 5"
        );
        assert_eq!(consumer_name(&graph(trend(None, 7))), "stream 5m/1m,1h/5m top 10 trending baseline 1h,12h min 7");
        let scored = TrendConfig::default().with_min_score(0.5).expect("trend settings");
        assert_eq!(consumer_name(&graph(Some(scored))), "stream 5m/1m,1h/5m top 10 score 0.5");
    }

    #[test]
    fn one_trending_setting_given_two_ways_names_the_same_views() {
        let one_spec = |trending| {
            let graph = GraphConfig::new(vec!["5m/1m".parse().expect("a spec")], 10, 1_000).expect("a graph");
            consumer_name(&graph.with_trending(trending).expect("a trending graph"))
        };
        let twelve_lengths = TrendConfig::default();
        let an_hour = TrendConfig::new(Some(3_600_000), TrendConfig::MIN_COUNT).expect("trend settings");
        assert_eq!(one_spec(an_hour), one_spec(twelve_lengths));
        assert_eq!(one_spec(an_hour), "stream 5m/1m top 10");
    }
}
