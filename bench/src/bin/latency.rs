//! Open-loop latency at several offered rates: the latency percentiles from a tweet's scheduled
//! moment to every view including it being computed (in process) or published (through the
//! broker), and the highest rate whose p99 stays under 100 ms.
//!
//! * **In process** (the default, `trendflow_bench::open_loop`): the graph alone, fed on schedule;
//!   with `--arrive-every`, fed in batches as from a broker that keeps up, the input frontier
//!   following the newest tweet (lateness 0): trendflow's own share at rates a given broker may
//!   not sustain.
//! * **Through the broker** (`--through-broker`): `trendflow produce --live --rate R` sends
//!   generated tweets stamped with the moment each is due into topics of their own, and
//!   `trendflow stream --latency-report` (lateness 0, no archive unless `--archive`) measures
//!   each from that stamp to its rankings: producer, broker, consumer and graph. Beside it, at
//!   each rate, the broker's own latency with no trendflow in it
//!   (`trendflow_bench::broker_baseline`: the same records, schedule and client settings,
//!   produced and consumed by plain librdkafka clients), and what trendflow adds to it; with the
//!   `hashtags` topic, also the broker alone carrying that topic's records (the plain consumer
//!   writes them back); and trendflow's own share, from consuming a tweet to its rankings
//!   published (handed to the Kafka producer and written to the view tables), with the part until
//!   they were computed and the part after the input frontier passed the tweet's tick (what is
//!   left once the wait for evidence that the tick is complete is taken out).
//!   Needs `scripts/mysql.sh` and `scripts/kafka.sh`; with `--mock-broker`, only the former:
//!   the broker is librdkafka's in-memory mock, in this process, for rates the test broker does
//!   not sustain.
//!
//! In process, the own share runs to the rankings computed (handed to a sink that drops them);
//! through the broker, to them published, and `own_share_until_computed` to them computed.
//!
//! Each rate runs `--runs` times (3) and their histograms are merged. Results go to
//! `bench/results/latency[-broker][-mock][-arriving-D][-no-hashtags-topic][-archive]-wW.json` and the
//! percentile curves to the `.svg` of the same name.
//!
//! ```sh
//! cargo run --release -p trendflow-bench --bin latency -- --rates 10000,20000,50000
//! cargo build --release && cargo run --release -p trendflow-bench --bin latency -- --through-broker
//! cargo build --release && cargo run --release -p trendflow-bench --bin latency -- --through-broker --mock-broker
//! ```

use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::Value;
use trendflow::harness::latency::report::{percentile_curve, LatencyReport, LatencySummary, PERCENTILES};
use trendflow::harness::latency::Latencies;
use trendflow::jobs::graph_args::ViewArgs;
use trendflow_bench::broker_baseline::{round_trip, Load};
use trendflow_bench::mock_broker::MockBroker;
use trendflow_bench::open_loop::{OpenLoop, GIVE_UP};
use trendflow_bench::plot::{format_number, LineChart};
use trendflow_bench::services::{wait, ServiceArgs, Services};
use trendflow_bench::{machine, write_results, ReportFile};
use trendflow_dataflows::window::{format_duration, parse_duration};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser, Debug)]
#[command(about = "Open-loop latency at several rates, in process or end to end through the broker")]
struct Args {
    /// Offered rates, in tweets per second over all workers.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000.0, 20_000.0, 50_000.0, 100_000.0, 150_000.0])]
    rates: Vec<f64>,
    /// Timely workers.
    #[arg(long, short = 'w', default_value_t = 1)]
    workers: usize,
    /// How often rankings are recomputed, in event time: a tweet waits for its tick to end.
    #[arg(long, default_value = "10ms", value_parser = parse_duration)]
    tick: u64,
    /// Seconds each rate is measured, after the warm-up.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds each rate runs before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Runs per rate, their latencies merged: a stall that hits one run weighs as much as it
    /// does in the whole. A saturated run is not repeated.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    #[command(flatten)]
    views: ViewArgs,
    /// Measure end to end: `produce --live` through the broker into `stream --latency-report`.
    #[arg(long)]
    through_broker: bool,
    /// In process: the tweets arrive in batches this far apart (`5ms`), as a stream's consumer
    /// gets them from a broker that keeps up, and the input frontier follows the newest tweet
    /// that arrived, as with `--lateness 0s`.
    #[arg(long, value_parser = parse_duration, conflicts_with = "through_broker")]
    arrive_every: Option<u64>,
    /// With --through-broker: through librdkafka's mock cluster, an in-memory Kafka-API broker
    /// this process runs, instead of the broker at --brokers: the end-to-end figures at rates
    /// the test broker does not sustain (see `trendflow_bench::mock_broker` for what it leaves
    /// out).
    #[arg(long, requires = "through_broker")]
    mock_broker: bool,
    /// With --through-broker: partitions of the tweets topic (default: one per worker).
    #[arg(long)]
    partitions: Option<u32>,
    /// With --through-broker: the stream publishes no `hashtags` topic (what that topic costs
    /// is the difference).
    #[arg(long)]
    no_hashtags_topic: bool,
    /// With --through-broker: the stream archives the tweets it consumes into MySQL, as it does
    /// unless told not to (left out by default: the archive's writes are MySQL's time, and a
    /// deployment that cares for latency may archive from the topic instead).
    #[arg(long)]
    archive: bool,
    #[command(flatten)]
    services: ServiceArgs,
}

/// The latency a rate must keep its p99 under to count as sustained.
const P99_BOUND_MS: f64 = 100.0;

/// What one offered rate measured.
struct RateRun {
    /// In microseconds: until every view including the tweet was computed (in process) or
    /// published (through the broker), until the tweet arrived (was consumed), and trendflow's own
    /// share from then on (to the rankings published, to them computed through the broker, and
    /// after the tweet's tick closed).
    latencies: Latencies,
    /// Through the broker: the broker's own produce-to-consume latencies at the same rate.
    broker_alone: Option<BrokerAlone>,
    /// Whether a run fell more than [`GIVE_UP`] behind: the rate is beyond what it sustains.
    saturated: bool,
}

/// The broker's own latencies at one rate, with no trendflow in it.
struct BrokerAlone {
    tweets: Histogram<u64>,
    /// With the `hashtags` topic: at the same load, each tweet's hashtag occurrences written
    /// back as the stream writes them.
    with_hashtag_records: Option<Histogram<u64>>,
}

impl RateRun {
    fn merge(&mut self, other: RateRun) -> Result<()> {
        self.latencies.add(&other.latencies)?;
        if let (Some(mine), Some(theirs)) = (self.broker_alone.as_mut(), &other.broker_alone) {
            mine.tweets.add(&theirs.tweets)?;
            if let (Some(mine), Some(theirs)) = (mine.with_hashtag_records.as_mut(), &theirs.with_hashtag_records) {
                mine.add(theirs)?;
            }
        }
        self.saturated |= other.saturated;
        Ok(())
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let path = describe_path(&args);
    print_header(&args, &path);
    let mut services = match (args.through_broker, args.mock_broker) {
        (true, true) => Some(Services::with_mock_broker(&args.services.server, MockBroker::start()?)?),
        (true, false) => Some(args.services.connect()?),
        (false, _) => None,
    };
    let mut runs = Vec::new();
    let mut curves = Vec::new();
    let mut best_rate = None;
    for &rate in &args.rates {
        let run = measure_rate(services.as_mut(), &args, rate)?;
        let result = RateResult::of(&args, rate, &run);
        print_rate(&args, &result, &run);
        if !run.saturated && result.emitted.p99_ms < P99_BOUND_MS && best_rate.is_none_or(|best| rate > best) {
            best_rate = Some(rate);
        }
        let on_nines_scale =
            result.percentile_curve_ms.iter().map(|&(percentile, ms)| (-(1.0 - percentile / 100.0).log10(), ms));
        curves.push((format!("{} tweets/s", format_number(rate)), on_nines_scale.filter(|(x, _)| *x <= 3.0).collect()));
        runs.push(result);
    }
    match best_rate {
        Some(rate) => println!("highest rate with p99 under {P99_BOUND_MS} ms: {} tweets/s", format_number(rate)),
        None => println!("no rate kept p99 under {P99_BOUND_MS} ms"),
    }
    let name = results_name(&args);
    let results = Results::of(&args, &path, best_rate, runs);
    let results = write_results(&name, &serde_json::to_value(results).context("encoding the results")?)?;
    let chart = LineChart {
        title: &format!("Open-loop latency {path}, {} worker(s), tick {}", args.workers, format_duration(args.tick)),
        x_label: "percentile",
        y_label: "latency (ms)",
        x_format: &nines,
        series: curves,
    };
    println!("results: {} and {}", results.display(), chart.write(&name)?.display());
    Ok(())
}

/// Where the latency is measured, in words.
fn describe_path(args: &Args) -> String {
    match (args.through_broker, args.arrive_every) {
        (true, _) if args.mock_broker => "end to end through librdkafka's mock broker".to_string(),
        (true, _) => "end to end through the broker".to_string(),
        (false, Some(every)) => format!("in process, arriving every {}", format_duration(every)),
        (false, None) => "in process".to_string(),
    }
}

/// What is measured, and the table's header.
fn print_header(args: &Args, path: &str) {
    println!(
        "open-loop latency {path}: {} worker(s), tick {}, windows {}, top {}",
        args.workers,
        format_duration(args.tick),
        args.views.windows.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(" "),
        args.views.top
    );
    print!("{:>10}", "tweets/s");
    for (name, _) in PERCENTILES {
        print!("  {name:>8}");
    }
    println!("  {:>8}", "max");
}

/// One rate's line of the table.
fn print_rate(args: &Args, result: &RateResult, run: &RateRun) {
    print!("{:>10}", format_number(result.tweets_per_second));
    for (_, ms) in result.emitted.percentiles() {
        print!("  {ms:>8.2}");
    }
    print!("  {:>8.2}", result.emitted.max_ms);
    let latencies = &run.latencies;
    let at = |histogram: &Histogram<u64>, percentile: f64| histogram.value_at_percentile(percentile) as f64 / 1_000.0;
    if arrivals(args) {
        print!(
            "  (consumed after p50 {:.2}, p99 {:.2}; own share p50 {:.2}, p99 {:.2}",
            at(&latencies.consumed, 50.0),
            at(&latencies.consumed, 99.0),
            at(&latencies.own, 50.0),
            at(&latencies.own, 99.0)
        );
        if args.through_broker {
            print!(", to computed {:.2}", at(&latencies.ranked, 99.0));
        }
        print!(", after the tick closed {:.2})", at(&latencies.closed, 99.0));
    }
    if let Some(BrokerAlone { tweets, with_hashtag_records }) = &run.broker_alone {
        let loaded = with_hashtag_records.iter().map(|loaded| ("broker alone with the hashtag records", loaded));
        for (label, broker) in std::iter::once(("broker alone", tweets)).chain(loaded) {
            print!(
                "  ({label} p50 {:.2}, p99 {:.2}; trendflow adds {:+.2} to p99)",
                at(broker, 50.0),
                at(broker, 99.0),
                at(&latencies.emitted, 99.0) - at(broker, 99.0)
            );
        }
    }
    println!("  {}", if run.saturated { "saturated" } else { "" });
}

/// Whether tweets arrive apart from their schedule, so that trendflow's own share is measured.
fn arrivals(args: &Args) -> bool {
    args.through_broker || args.arrive_every.is_some()
}

/// The results' file name: what was measured, and on how many workers.
fn results_name(args: &Args) -> String {
    format!(
        "latency{}{}{}{}{}-w{}",
        if args.through_broker { "-broker" } else { "" },
        if args.mock_broker { "-mock" } else { "" },
        args.arrive_every.map_or(String::new(), |every| format!("-arriving-{}", format_duration(every))),
        if args.no_hashtags_topic { "-no-hashtags-topic" } else { "" },
        if args.archive { "-archive" } else { "" },
        args.workers
    )
}

/// The results file.
#[derive(Serialize)]
struct Results {
    benchmark: String,
    machine: Value,
    workers: usize,
    broker: Option<&'static str>,
    partitions: Option<u32>,
    hashtags_topic: Option<bool>,
    archive: Option<bool>,
    tick_ms: u64,
    arrive_every_ms: Option<u64>,
    windows: Vec<String>,
    top: usize,
    seconds: u64,
    warmup_seconds: u64,
    runs_per_rate: u32,
    highest_rate_with_p99_under_100ms: Option<f64>,
    runs: Vec<RateResult>,
}

impl Results {
    fn of(args: &Args, path: &str, best_rate: Option<f64>, runs: Vec<RateResult>) -> Self {
        let broker = if args.mock_broker { "librdkafka mock cluster" } else { "external" };
        Results {
            benchmark: format!("open-loop latency, {path}"),
            machine: machine(),
            workers: args.workers,
            broker: args.through_broker.then_some(broker),
            partitions: args.through_broker.then(|| partitions(args)),
            hashtags_topic: args.through_broker.then_some(!args.no_hashtags_topic),
            archive: args.through_broker.then_some(args.archive),
            tick_ms: args.tick,
            arrive_every_ms: args.arrive_every,
            windows: args.views.windows.iter().map(|w| w.to_string()).collect(),
            top: args.views.top,
            seconds: args.seconds,
            warmup_seconds: args.warmup,
            runs_per_rate: args.runs,
            highest_rate_with_p99_under_100ms: best_rate,
            runs,
        }
    }
}

/// One rate's results: the end-to-end latency's summary, its parts when tweets arrive apart from
/// their schedule, and, through the broker, the broker alone beside it.
#[derive(Serialize)]
struct RateResult {
    tweets_per_second: f64,
    saturated: bool,
    #[serde(flatten)]
    emitted: LatencySummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumed: Option<LatencySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    own_share: Option<LatencySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    own_share_until_computed: Option<LatencySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    own_share_after_tick_closed: Option<LatencySummary>,
    #[serde(flatten)]
    broker: Option<BrokerComparison>,
    percentile_curve_ms: Vec<(f64, f64)>,
}

/// The broker's own latency at a rate, and what trendflow adds to its p99.
#[derive(Serialize)]
struct BrokerComparison {
    broker_alone: LatencySummary,
    added_to_broker_p99_ms: f64,
    p99_vs_broker: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    broker_alone_with_hashtag_records: Option<LatencySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    added_to_loaded_broker_p99_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p99_vs_loaded_broker: Option<f64>,
}

impl RateResult {
    fn of(args: &Args, rate: f64, run: &RateRun) -> Self {
        let latencies = &run.latencies;
        let parts = arrivals(args);
        let part = |histogram: &Histogram<u64>| parts.then(|| LatencySummary::of(histogram));
        RateResult {
            tweets_per_second: rate,
            saturated: run.saturated,
            emitted: LatencySummary::of(&latencies.emitted),
            consumed: part(&latencies.consumed),
            own_share: part(&latencies.own),
            own_share_until_computed: part(&latencies.ranked).filter(|_| args.through_broker),
            own_share_after_tick_closed: part(&latencies.closed),
            broker: run.broker_alone.as_ref().map(|alone| BrokerComparison::of(&latencies.emitted, alone)),
            percentile_curve_ms: percentile_curve(&latencies.emitted),
        }
    }
}

impl BrokerComparison {
    fn of(emitted: &Histogram<u64>, alone: &BrokerAlone) -> Self {
        let p99 = |histogram: &Histogram<u64>| histogram.value_at_percentile(99.0) as f64 / 1_000.0;
        let loaded = alone.with_hashtag_records.as_ref();
        BrokerComparison {
            broker_alone: LatencySummary::of(&alone.tweets),
            added_to_broker_p99_ms: p99(emitted) - p99(&alone.tweets),
            p99_vs_broker: p99(emitted) / p99(&alone.tweets),
            broker_alone_with_hashtag_records: loaded.map(LatencySummary::of),
            added_to_loaded_broker_p99_ms: loaded.map(|loaded| p99(emitted) - p99(loaded)),
            p99_vs_loaded_broker: loaded.map(|loaded| p99(emitted) / p99(loaded)),
        }
    }
}

/// Runs one rate `--runs` times, in process or through the broker, and merges the runs; stops
/// repeating once a run is saturated.
fn measure_rate(mut services: Option<&mut Services>, args: &Args, rate: f64) -> Result<RateRun> {
    let mut merged: Option<RateRun> = None;
    for attempt in 0..args.runs as usize {
        let run = match services.as_deref_mut() {
            Some(services) => through_broker(services, args, rate, attempt)?,
            None => in_process(args, rate)?,
        };
        // Each run on stderr, so that a stall in one of them is seen as such.
        let emitted = &run.latencies.emitted;
        let ms = |percentile: f64| emitted.value_at_percentile(percentile) as f64 / 1_000.0;
        eprintln!(
            "  run at {} tweets/s: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            format_number(rate),
            ms(50.0),
            ms(99.0),
            emitted.max() as f64 / 1_000.0
        );
        let merged = match merged.as_mut() {
            Some(merged) => {
                merged.merge(run)?;
                merged
            }
            None => merged.insert(run),
        };
        if merged.saturated {
            break;
        }
    }
    merged.context("--runs is at least 1")
}

fn in_process(args: &Args, rate: f64) -> Result<RateRun> {
    let run = OpenLoop {
        graph: args.views.graph(args.tick)?,
        workers: args.workers,
        rate,
        measure: Duration::from_secs(args.seconds),
        warmup: Duration::from_secs(args.warmup),
        arrive_every: args.arrive_every.map(Duration::from_millis),
    }
    .run()?;
    Ok(RateRun { latencies: run.latencies, broker_alone: None, saturated: run.saturated })
}

/// One rate end to end: a stream with a latency report on topics of this attempt's own (the
/// stream reads its topic from the beginning), then a live producer.
fn through_broker(services: &mut Services, args: &Args, rate: f64, attempt: usize) -> Result<RateRun> {
    let run = services.fresh(&format!("latency{}r{attempt}", rate as u64), partitions(args))?;
    let report_file = ReportFile::new("latency");
    let (workers, tick, warmup) = (args.workers.to_string(), format_duration(args.tick), format!("{}s", args.warmup));
    let mut stream_args = vec!["stream", "-w", &workers, "--tick", &tick, "--lateness", "0s"];
    if !args.archive {
        stream_args.push("--no-archive");
    }
    let report = report_file.path().to_str().context("a temporary path that is not UTF-8")?;
    // Idle long enough that the producer's start-up, or a broker stall, does not look like the
    // end of the input.
    stream_args.extend(["--until-idle", "10", "--latency-report", report, "--latency-warmup", &warmup]);
    let windows: Vec<String> = args.views.windows.iter().map(|w| w.to_string()).collect();
    let top = args.views.top.to_string();
    for window in &windows {
        stream_args.extend(["--window", window]);
    }
    stream_args.extend(["--top", &top]);
    if args.no_hashtags_topic {
        stream_args.push("--no-hashtags-topic");
    }
    let stream = run.command(&stream_args).stdout(Stdio::piped()).spawn().context("starting the stream")?;
    // Let the stream connect first: its start-up would otherwise eat into the warm-up.
    std::thread::sleep(Duration::from_secs(2));
    let tweets = ((args.warmup + args.seconds) as f64 * rate) as u64;
    let produce =
        ["produce", "--from", "generator", "--live", "--rate", &rate.to_string(), "--tweets", &tweets.to_string()];
    run.succeed(&produce)?;
    wait(stream)?;
    let report: LatencyReport = report_file.written()?;
    let latencies = report.latencies().context("the histograms of the stream's latency report")?;
    if latencies.emitted.is_empty() {
        bail!("the stream measured no tweets at {rate} tweets/s");
    }
    let saturated = latencies.emitted.max() > GIVE_UP.as_micros() as u64;
    // The broker alone, on topics of its own, right after: the same tweets, the same broker
    // state; with the `hashtags` topic, once more carrying its records too.
    let mut broker_alone = |name: &str, load| -> Result<Histogram<u64>> {
        let baseline = services.fresh(&format!("{name}{}r{attempt}", rate as u64), partitions(args))?;
        let (warmup, measure) = (Duration::from_secs(args.warmup), Duration::from_secs(args.seconds));
        round_trip(&baseline.kafka()?, rate, warmup, measure, load)
    };
    let tweets = broker_alone("brokerr", Load::Tweets)?;
    let with_hashtag_records =
        if args.no_hashtags_topic { None } else { Some(broker_alone("brokerh", Load::WithHashtags)?) };
    Ok(RateRun { latencies, broker_alone: Some(BrokerAlone { tweets, with_hashtag_records }), saturated })
}

fn partitions(args: &Args) -> u32 {
    args.partitions.unwrap_or(args.workers as u32)
}

/// Writes a "nines" axis value as its percentile.
fn nines(x: f64) -> String {
    let percentile = 100.0 * (1.0 - 10f64.powf(-x));
    format!("{}%", (percentile * 10.0).round() / 10.0)
}
