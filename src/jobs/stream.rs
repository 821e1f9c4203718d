//! `trendflow stream`: the speed layer. Tweets from Kafka through the graph, rankings out to Kafka
//! and MySQL as they change.
//!
//! The Kafka source ([`TweetsReader`]) reads the `tweets` partitions on every worker, feeds the
//! graph and advances its input frontier to the partitions' watermarks. This job writes what the
//! source hands it besides (`writes`): messages that are not tweets, and tweets behind the
//! frontier, go to the dead-letter topic with the reason; good tweets' hashtags go to the
//! `hashtags` topic (unless `--no-hashtags-topic`), and the tweets are archived into MySQL's
//! master dataset, so the batch layer sees them too.
//!
//! Live rankings of hashtags, tweets and trending hashtags go to `top_hashtags` / `top_tweets` /
//! `trending_hashtags` whenever they change;
//! when a window closes its final ranking goes there with `final: true`, and into the view tables
//! with layer `speed`. With `--until-idle` the job treats quiet input as complete: it closes every
//! window and ends. A signal (Ctrl-C, SIGTERM) stops it without closing windows early: windows
//! still open are not published as final.
//!
//! Every `--checkpoint-every`, each worker flushes what it wrote (archive, dead letters, hashtag
//! occurrences) and hands the job a [`Checkpoint`](crate::checkpoint::Checkpoint): where to read its partitions again from to
//! rebuild the windows not yet published. The job writes the rankings ahead of it, and stores it
//! ([`CheckpointStore`]) once the broker has confirmed them (`publish`), so a restart — after a
//! crash, a kill or a stop — resumes there and rewrites nothing that differs.

mod publish;
mod writes;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use clap::Args;
use trendflow_dataflows::window::parse_duration;

use crate::checkpoint::consumer::consumer_name;
use crate::checkpoint::ResumePoint;
use crate::cluster::ClusterArgs;
use crate::harness::latency::report::LatencyReport;
use crate::harness::latency::LatencyObserver;
use crate::harness::layer::{run_layer, Source};
use crate::harness::memory::peak_rss_bytes;
use crate::harness::plan::LayerPlan;
use crate::harness::recovery::{JobStep, StartClock};
use crate::harness::signal::stop_flag;
use crate::jobs::graph_args::{parse_wait, LiveArgs, ViewArgs};
use crate::jobs::report::{write_report, ReportArgs};
use crate::kafka::source::broker::{check_positions, HighOffsets};
use crate::kafka::source::reader::{ReadCounts, ReadHandles, ReadSettings, TweetsReader};
use crate::kafka::{KafkaArgs, KafkaConfig, Topic};
use crate::limits::DEFAULT_MAX_EVENT_AHEAD;
use crate::mysql::schema::check_schema;
use crate::mysql::{CheckpointStore, Heartbeat};
use crate::mysql::{MysqlArgs, MysqlConfig};
use crate::sink::stream_metrics::StreamMetrics;
use crate::source::formats::Format;
use crate::time::rfc3339;
use crate::vocabulary::report::stream::{StreamReport, StreamRun};
use publish::{Publishable, Publisher};
use writes::WorkerWrites;

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
    #[command(flatten)]
    pub report: ReportArgs,
}

impl StreamArgs {
    /// How the workers read, from the flags: `partitions` of the topic on `kafka`, for a graph
    /// whose rankings span `horizon_ms` of event time, looking tweets up in `mysql` unless
    /// `--no-archive`.
    fn read_settings(
        &self,
        kafka: &KafkaConfig,
        mysql: &MysqlConfig,
        partitions: i32,
        horizon_ms: u64,
    ) -> ReadSettings {
        ReadSettings {
            kafka: kafka.clone(),
            master: (!self.no_archive).then(|| mysql.clone()),
            partitions,
            lateness_ms: self.live.lateness,
            max_event_ahead_ms: self.max_event_ahead,
            format: self.format,
            idle_after: Duration::from_millis(self.idle_timeout),
            until_idle: self.until_idle.map(Duration::from_millis),
            checkpoint_every: Duration::from_millis(self.checkpoint_every.max(1)),
            horizon_ms,
        }
    }

    /// Where the workers write besides the graph, from the flags.
    fn worker_writes(&self, kafka: &KafkaConfig, mysql: &MysqlConfig, metrics: Arc<StreamMetrics>) -> WorkerWrites {
        let archive = (!self.no_archive).then(|| mysql.clone());
        let hashtags_topic = (!self.no_hashtags_topic).then(|| kafka.topic(Topic::Hashtags));
        WorkerWrites::new(kafka, archive, hashtags_topic, metrics)
    }
}

/// Runs the speed layer until the input is idle (`--until-idle`) or a signal stops it.
pub fn run(args: StreamArgs) -> Result<()> {
    let clock = Arc::new(start_clock(&args));
    // First, so that a signal during the start stops the job cleanly too.
    let stop = stop_flag()?;
    let (kafka, mysql) = (args.kafka.config()?, args.mysql.config()?);
    let mut graph = args.views.graph(args.live.tick)?;
    let layout = args.cluster.layout()?;
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
    clock.job_step(JobStep::Mysql);
    let partitions = open_topic(&kafka, &resume, cluster)?;
    clock.job_step(JobStep::Broker);
    let counts = Arc::new(ReadCounts::default());
    let handles = ReadHandles { stop: stop.clone(), counts: counts.clone(), clock: clock.clone() };
    let settings = args.read_settings(&kafka, &mysql, partitions, graph.horizon_ms());
    let reader = TweetsReader::new(settings, resume.clone(), handles);
    let metrics = Arc::new(StreamMetrics::new().map_err(|e| anyhow!("registering metrics: {e}"))?);
    let writes = Arc::new(args.worker_writes(&kafka, &mysql, metrics.clone()));
    if let Some(listen) = args.metrics_listen {
        serve_metrics(listen, &kafka, &metrics, &counts, &writes, &cluster.speaker())?;
    }
    let publishable = Publishable::new(graph.clone(), resume.rebuild_from, stop.clone(), cluster.workers);
    let mut publisher = Publisher::open(&kafka, &mysql, publishable, checkpoints, metrics)?;
    clock.job_step(JobStep::Sinks);
    let latency =
        args.latency_report.as_ref().map(|_| Arc::new(LatencyObserver::new(graph.clone(), args.latency_warmup)));
    let source = Source::Driven(writes.source(reader));
    let run =
        run_layer(&LayerPlan::stream(graph), layout, source, latency.clone(), |output, _| publisher.handle(output))?;
    let published = publisher.finish()?;
    let latency = report_latency(args.latency_report.as_deref(), latency.as_deref())?;
    let consumed = counts.consumed.load(Ordering::Relaxed);
    let run = StreamRun {
        brokers: kafka.to_string(),
        partitions,
        resumed_from: resume.offsets.clone(),
        seconds: run.elapsed.as_secs_f64(),
        messages_consumed: consumed,
        messages_per_second: consumed as f64 / counts.active().as_secs_f64().max(1e-3),
        windows_closed: run.windows_closed,
        snapshots_published: published.snapshots,
        snapshots_confirmed: published.confirmed,
        dead_lettered: writes.dead_lettered.load(Ordering::Relaxed),
        late: run.late,
        lateness_ms: args.live.lateness,
        skipped: counts.skipped.load(Ordering::Relaxed),
        duplicates: counts.duplicates.load(Ordering::Relaxed),
        archived: writes.archived.load(Ordering::Relaxed),
        checkpoints_stored: published.checkpoints_stored,
        peak_memory_bytes: peak_rss_bytes(),
        stopped_by_signal: stop.load(Ordering::Relaxed),
    };
    args.report.publish(&cluster.speaker(), &StreamReport { started: clock.report(), run: Some(run) })?;
    if let Some(latency) = latency {
        println!("{}{latency}", cluster.speaker());
    }
    Ok(())
}

/// A clock for the job's start: once every local worker has caught up, it prints the start's
/// figures (`started: MySQL 31 ms, ...`) and writes them to the report (`--report`), while the
/// stream reads on.
fn start_clock(args: &StreamArgs) -> StartClock {
    let (speaker, report) = (args.cluster.speaker(), args.report.clone());
    StartClock::start(args.cluster.workers, move |started| {
        println!("{speaker}started: {started}");
        if let Err(error) = report.write(&StreamReport { started: Some(started.clone()), run: None }) {
            log::warn!("{error:#}");
        }
    })
}

/// Checks the `tweets` topic on the broker: how many partitions it has, and that it still holds
/// the stored positions; says where reading resumes, and warns of workers left without input.
fn open_topic(kafka: &KafkaConfig, resume: &ResumePoint, cluster: &ClusterArgs) -> Result<i32> {
    let metadata = kafka.metadata_client()?;
    let partitions = kafka.partition_count(&metadata, Topic::Tweets)?;
    check_positions(kafka, &metadata, resume)?;
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
    let workers = cluster.total_workers();
    if workers > partitions as usize {
        log::warn!(
            "{workers} workers share {partitions} partitions of '{}': {} workers will have no input; \
             recreate the topic with more partitions to use them",
            kafka.topic(Topic::Tweets),
            workers - partitions as usize
        );
    }
    Ok(partitions)
}

/// Serves the job's metrics at `listen`. The partitions' high offsets are asked for at each
/// scrape, off the workers' way.
fn serve_metrics(
    listen: SocketAddr,
    kafka: &KafkaConfig,
    metrics: &Arc<StreamMetrics>,
    counts: &Arc<ReadCounts>,
    writes: &Arc<WorkerWrites>,
    speaker: &str,
) -> Result<()> {
    let (metrics, counts, writes) = (metrics.clone(), counts.clone(), writes.clone());
    let registry = metrics.registry.clone();
    let offsets = HighOffsets::new(kafka)?;
    let refresh = move || metrics.refresh(&counts, writes.archived.load(Ordering::Relaxed), |p| offsets.of(p));
    let address = crate::metrics::expose(listen, registry, refresh)?;
    println!("{speaker}metrics on http://{address}/metrics");
    Ok(())
}

/// With `--latency-report`: writes the workers' latencies to `path`, and gives their summary.
fn report_latency(path: Option<&Path>, latency: Option<&LatencyObserver>) -> Result<Option<String>> {
    let (Some(path), Some(latency)) = (path, latency) else { return Ok(None) };
    let latencies = latency.latencies()?;
    write_report(path, &LatencyReport::of(&latencies))?;
    Ok(Some(latencies.summary_line()))
}
