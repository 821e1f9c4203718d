//! The COST baseline on its own: generated tweets through the single-threaded implementation of
//! the views (`trendflow_bench::cost`), timed from the first tweet generated to the last window
//! ranked, as `trendflow demo` times the graph. `throughput` runs it as a child process.
//!
//! ```sh
//! cargo run --release -p trendflow-bench --bin cost -- --tweets 1000000 --window 5m/1m
//! ```

use std::time::Instant;

use anyhow::{anyhow, Result};
use clap::Parser;
use trendflow::harness::memory::peak_rss_bytes;
use trendflow::jobs::graph_args::ViewArgs;
use trendflow::jobs::report::ReportArgs;
use trendflow::source::generator::{Generator, GeneratorConfig};
use trendflow::vocabulary::report::per_second;
use trendflow_bench::cost::{Baseline, CostReport};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser, Debug)]
#[command(about = "The single-threaded COST baseline over generated tweets")]
struct Args {
    /// How many tweets to generate.
    #[arg(long, default_value_t = 1_000_000)]
    tweets: u64,
    #[command(flatten)]
    views: ViewArgs,
    /// Seed of the generator (the demo's default, for the same tweets).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    report: ReportArgs,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let config = GeneratorConfig { seed: args.seed, tweets: args.tweets, ..GeneratorConfig::default() };
    let generator = Generator::new(config).map_err(|e| anyhow!("invalid generator settings: {e}"))?;
    let graph = args.views.batch_graph()?;
    let started = Instant::now();
    let mut baseline = Baseline::new(&graph, generator.max_disorder_ms());
    generator.share(0, 1).for_each(|tweet| baseline.push(tweet));
    let (late, hashtag_occurrences) = (baseline.late(), baseline.occurrences());
    let views = baseline.finish();
    let seconds = started.elapsed().as_secs_f64();
    let report = CostReport {
        tweets: args.tweets,
        seconds,
        tweets_per_second: per_second(args.tweets, seconds),
        windows: views.window_count(),
        late,
        hashtag_occurrences,
        peak_memory_bytes: peak_rss_bytes(),
    };
    args.report.publish("", &report)
}
