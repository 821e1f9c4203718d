//! Scaling of the graph alone: how much a second worker adds when nothing else competes for the
//! cores. `throughput` runs the whole demo, where each worker's source thread generates tweets and
//! extracts their hashtags beside it; on a machine with as many cores as workers those threads
//! take cores from the graph. Here every worker's share of the tweets is generated and reduced to
//! its contributions before the clock starts, so the figure is the graph's own: the stream run's
//! configuration (tick 1 s, live rankings) and the batch run's (coarsest tick, final rankings),
//! at each worker count, in process. Results go to `bench/results/scaling.json`.
//!
//! ```sh
//! cargo run --release -p trendflow-bench --bin scaling -- --workers 1,2
//! ```

use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::time::Instant;

use anyhow::{anyhow, Result};
use clap::Parser;
use differential_dataflow::input::Input;
use serde_json::json;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;
use trendflow::harness::pacing::{Pacing, BATCH};
use trendflow::jobs::graph_args::{LiveArgs, ViewArgs};
use trendflow::source::generator::{Generator, GeneratorConfig};
use trendflow_bench::plot::format_number;
use trendflow_bench::{machine, median, write_results};
use trendflow_dataflows::config::GraphConfig;
use trendflow_dataflows::graph::rankings;
use trendflow_dataflows::{Contribution, EventTime};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser, Debug)]
#[command(about = "The graph alone, its input made beforehand, against the number of workers")]
struct Args {
    /// Generated tweets per run.
    #[arg(long, default_value_t = 1_000_000)]
    tweets: u64,
    /// Worker counts to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2])]
    workers: Vec<usize>,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    #[command(flatten)]
    views: ViewArgs,
    #[command(flatten)]
    live: LiveArgs,
}

/// Each worker's share of the input: event times and contributions, in arrival order.
type Shares = Vec<Vec<(EventTime, Contribution)>>;

fn main() -> Result<()> {
    let args = Args::parse();
    let generator = Generator::new(GeneratorConfig { tweets: args.tweets, ..GeneratorConfig::default() })
        .map_err(|e| anyhow!("invalid generator settings: {e}"))?;
    let runs = [
        ("stream", args.views.graph(args.live.tick)?, args.live.lateness.max(generator.max_disorder_ms()), true),
        ("batch", args.views.batch_graph()?, generator.max_disorder_ms(), false),
    ];
    println!("{:>7}  {:>7}  {:>12}  {:>8}", "run", "workers", "tweets/s", "speedup");
    let mut rows = Vec::new();
    for (name, graph, slack_ms, changes) in &runs {
        let mut single = None;
        for &workers in &args.workers {
            let rates: Vec<f64> = (0..args.repeat)
                .map(|_| {
                    let seconds = run(share(&generator, workers), graph, *slack_ms, *changes);
                    args.tweets as f64 / seconds
                })
                .collect();
            let rate = median(rates);
            let speedup = rate / *single.get_or_insert(rate);
            println!("{name:>7}  {workers:>7}  {:>12}  {speedup:>7.2}x", format_number(rate));
            rows.push(json!({ "run": name, "workers": workers, "tweets_per_second": rate, "speedup": speedup }));
        }
    }
    let path = write_results(
        "scaling",
        &json!({
            "benchmark": "the graph alone, input made beforehand, in process",
            "machine": machine(),
            "tweets": args.tweets,
            "repeat": args.repeat,
            "windows": args.views.windows.iter().map(|spec| spec.to_string()).collect::<Vec<_>>(),
            "trending": !args.views.no_trending,
            "runs": rows,
        }),
    )?;
    println!("results: {}", path.display());
    Ok(())
}

/// The generator's tweets split as the demo splits them, each reduced to its contribution.
fn share(generator: &Generator, workers: usize) -> Shares {
    (0..workers)
        .map(|worker| {
            generator.share(worker, workers).map(|tweet| (tweet.created_at, Contribution::of(tweet))).collect()
        })
        .collect()
}

/// Feeds every worker its share, the frontier `slack_ms` behind the latest event time as in the
/// jobs, and returns the seconds from the moment all workers start feeding to the last ranking.
fn run(shares: Shares, graph: &GraphConfig, slack_ms: u64, changes: bool) -> f64 {
    let workers = shares.len();
    let shares = Arc::new(Mutex::new(shares.into_iter().map(Some).collect::<Vec<_>>()));
    let start = Arc::new(Barrier::new(workers));
    let started = Arc::new(OnceLock::new());
    let graph = graph.clone();
    let clock = started.clone();
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let share = shares.lock().expect("shares")[worker.index()].take().unwrap_or_default();
        let probe = ProbeHandle::new();
        let mut input = worker.dataflow(|scope| {
            let (input, contributions) = scope.new_collection::<Contribution, isize>();
            rankings(contributions, &graph).publish(changes, |_snapshot| {}).probe_with(&probe);
            input
        });
        start.wait();
        clock.get_or_init(Instant::now);
        let (mut latest, mut pacing) = (0, Pacing::default());
        for (index, (time, contribution)) in share.into_iter().enumerate() {
            latest = latest.max(time);
            input.update_at(contribution, time, 1);
            if index as u64 % BATCH == BATCH - 1 {
                pacing.advance(worker, &mut input, &probe, latest.saturating_sub(slack_ms));
            }
        }
    })
    .expect("timely workers start");
    drop(guards);
    started.get().map_or(f64::NAN, |at| at.elapsed().as_secs_f64())
}
