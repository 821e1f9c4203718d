//! Memory over a long run: generated tweets through the graph in process, as the stream job runs
//! it (tick 1 s, live rankings published), for many times the window horizon. The process's RSS
//! is sampled every 10 minutes of event time; once the horizon has filled it must stay flat.
//! Results go to `bench/results/NAME.json` (`--name`, default `memory`) and RSS against event time
//! to `bench/results/NAME.svg`, with the tweets and distinct hashtags one horizon holds, which the
//! capacity model in `docs/operations/capacity.md` is fitted on.
//!
//! ```sh
//! cargo run --release -p trendflow-bench --bin memory -- --horizons 20
//! # the firehose's shape: 6,000 tweets/s, a Zipf law over two million hashtags
//! cargo run --release -p trendflow-bench --bin memory -- --name firehose --rate 6000 \
//!     --vocabulary 2000000 --zipf-exponent 1.0 --horizons 3 --window 5m/1m --trend-baseline 1h
//! ```

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{anyhow, Result};
use clap::Parser;
use differential_dataflow::input::Input;
use serde::Serialize;
use serde_json::Value;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;
use trendflow::harness::memory::rss_bytes;
use trendflow::harness::pacing::{Pacing, BATCH};
use trendflow::jobs::graph_args::{LiveArgs, ViewArgs};
use trendflow::source::generator::{Generator, GeneratorConfig};
use trendflow_bench::plot::LineChart;
use trendflow_bench::{machine, write_results};
use trendflow_dataflows::graph::rankings;
use trendflow_dataflows::Contribution;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser, Debug)]
#[command(about = "RSS over a stream many window horizons long")]
struct Args {
    /// How long the stream runs, in multiples of the longest window.
    #[arg(long, default_value_t = 20)]
    horizons: u64,
    /// Event-time rate of the generated stream, in tweets per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Distinct hashtags the generator draws from.
    #[arg(long, default_value_t = GeneratorConfig::default().vocabulary)]
    vocabulary: u32,
    /// Exponent of the Zipf law of hashtag popularity: higher is more skewed.
    #[arg(long, default_value_t = GeneratorConfig::default().zipf_exponent)]
    zipf_exponent: f64,
    /// Name of the results: `bench/results/NAME.json` and `.svg`.
    #[arg(long, default_value = "memory")]
    name: String,
    #[command(flatten)]
    views: ViewArgs,
    #[command(flatten)]
    live: LiveArgs,
}

/// How often RSS is sampled, in event time.
const SAMPLE_MS: u64 = 10 * 60 * 1_000;

/// `bench/results/NAME.json`.
#[derive(Serialize)]
struct MemoryResults {
    benchmark: &'static str,
    machine: Value,
    tweets: u64,
    rate: f64,
    vocabulary: u32,
    zipf_exponent: f64,
    windows: Vec<String>,
    seconds: f64,
    tweets_per_second: f64,
    tweets_per_horizon: usize,
    distinct_hashtags_per_horizon: usize,
    horizons: u64,
    horizon_minutes: u64,
    /// Both None when the run was too short to sample after two horizons.
    rss_after_two_horizons_mib: Range,
    samples: Vec<Sample>,
}

#[derive(Serialize)]
struct Range {
    min: Option<f64>,
    max: Option<f64>,
}

/// The process's RSS at an event time, in hours from the first tweet.
#[derive(Serialize)]
struct Sample {
    event_hours: f64,
    rss_mib: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let machine = machine();
    let graph = args.views.graph(args.live.tick)?;
    let horizon_ms = graph.horizon_ms();
    let tweets = (args.rate * (horizon_ms * args.horizons) as f64 / 1_000.0) as u64;
    let generator = Generator::new(GeneratorConfig {
        tweets,
        rate_per_sec: args.rate,
        vocabulary: args.vocabulary,
        zipf_exponent: args.zipf_exponent,
        ..GeneratorConfig::default()
    })
    .map_err(|e| anyhow!("invalid generator settings: {e}"))?;
    let census = generator.clone();
    let slack = generator.max_disorder_ms().max(args.live.lateness);
    println!("memory: {tweets} tweets, {} horizons of {} min", args.horizons, horizon_ms / 60_000);
    let started = Instant::now();
    let samples = timely::execute_directly(move |worker| {
        let probe = ProbeHandle::new();
        let mut input = worker.dataflow(|scope| {
            let (input, contributions) = scope.new_collection::<Contribution, isize>();
            rankings(contributions, &graph).publish(true, |_snapshot| {}).probe_with(&probe);
            input
        });
        let mut samples = Vec::new();
        let (mut first, mut latest, mut next_sample) = (None, 0, 0);
        let mut pacing = Pacing::default();
        for (index, tweet) in generator.share(0, 1).enumerate() {
            let start = *first.get_or_insert(tweet.created_at);
            latest = latest.max(tweet.created_at);
            let at = tweet.created_at;
            input.update_at(Contribution::of(tweet), at, 1);
            if index as u64 % BATCH == BATCH - 1 {
                pacing.advance(worker, &mut input, &probe, latest.saturating_sub(slack));
                if latest - start >= next_sample {
                    samples.push((latest - start, rss_bytes().unwrap_or(0) as f64 / (1024.0 * 1024.0)));
                    next_sample += SAMPLE_MS;
                }
            }
        }
        samples
    });
    let seconds = started.elapsed().as_secs_f64();
    // The generator's tweets are alike in every horizon: the first one's stand for all.
    let per_horizon = (args.rate * horizon_ms as f64 / 1_000.0) as usize;
    let distinct: HashSet<_> =
        census.share(0, 1).take(per_horizon).flat_map(|tweet| Contribution::of(tweet).hashtags).collect();
    println!("one horizon holds {per_horizon} tweets and {} distinct hashtags", distinct.len());
    let hours = |ms: u64| ms as f64 / 3_600_000.0;
    let full: Vec<f64> = samples.iter().filter(|(at, _)| *at >= horizon_ms * 2).map(|(_, mib)| *mib).collect();
    let low = full.iter().copied().reduce(f64::min);
    let high = full.iter().copied().reduce(f64::max);
    match (low, high) {
        (Some(low), Some(high)) => println!(
            "{seconds:.0} s; RSS after two horizons between {low:.0} and {high:.0} MiB; final {:.0} MiB",
            samples.last().map(|s| s.1).unwrap_or(0.0)
        ),
        _ => println!("{seconds:.0} s; too short to sample after two horizons: run --horizons 3 or more"),
    }
    let results = MemoryResults {
        benchmark: "RSS over a long stream, in process",
        machine,
        tweets,
        rate: args.rate,
        vocabulary: args.vocabulary,
        zipf_exponent: args.zipf_exponent,
        windows: args.views.windows.iter().map(ToString::to_string).collect(),
        seconds,
        tweets_per_second: tweets as f64 / seconds,
        tweets_per_horizon: per_horizon,
        distinct_hashtags_per_horizon: distinct.len(),
        horizons: args.horizons,
        horizon_minutes: horizon_ms / 60_000,
        rss_after_two_horizons_mib: Range { min: low, max: high },
        samples: samples.iter().map(|(at, mib)| Sample { event_hours: hours(*at), rss_mib: *mib }).collect(),
    };
    let path = write_results(&args.name, &results)?;
    let chart = LineChart {
        title: &format!(
            "RSS over {} hours of event time (window horizon {} min)",
            hours(horizon_ms * args.horizons),
            horizon_ms / 60_000
        ),
        x_label: "event time (hours)",
        y_label: "RSS (MiB)",
        x_format: &|x| format!("{x:.0}"),
        series: vec![("RSS".into(), samples.iter().map(|(at, mib)| (hours(*at), *mib)).collect())],
    };
    println!("results: {} and {}", path.display(), chart.write(&args.name)?.display());
    Ok(())
}
