//! Open-loop latency of the graph in process (`trendflow_bench::open_loop`): for each offered
//! rate, the latency percentiles from a tweet's scheduled moment to every view including it being
//! emitted, and the highest rate whose p99 stays under 100 ms. Results go to
//! `bench/results/latency.json` and the percentile curves to `bench/results/latency.svg`.
//!
//! ```sh
//! cargo run --release -p trendflow-bench --bin latency -- --rates 10000,20000,50000
//! ```

use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::json;
use trendflow::runner::graph_args::ViewArgs;
use trendflow_bench::open_loop::OpenLoop;
use trendflow_bench::plot::{format_number, LineChart};
use trendflow_bench::{machine, write_results};
use trendflow_dataflows::window::{format_duration, parse_duration};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser, Debug)]
#[command(about = "Open-loop latency of the graph in process, at several rates")]
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
    #[command(flatten)]
    views: ViewArgs,
}

/// The percentiles reported, with their names.
const PERCENTILES: [(&str, f64); 4] = [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9)];

/// The latency a rate must keep its p99 under to count as sustained.
const P99_BOUND_MS: f64 = 100.0;

fn main() -> Result<()> {
    let args = Args::parse();
    let machine = machine();
    let graph = args.views.graph(args.tick)?;
    println!(
        "open-loop latency in process: {} worker(s), tick {}, windows {}, top {}",
        args.workers,
        format_duration(args.tick),
        args.views.windows.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(" "),
        args.views.top
    );
    println!("{:>10}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>10}", "tweets/s", "p50", "p90", "p99", "p99.9", "max", "");
    let ms = |micros: u64| micros as f64 / 1_000.0;
    let mut runs = Vec::new();
    let mut curves = Vec::new();
    let mut best_rate = None;
    for &rate in &args.rates {
        let run = OpenLoop {
            graph: graph.clone(),
            workers: args.workers,
            rate,
            measure: Duration::from_secs(args.seconds),
            warmup: Duration::from_secs(args.warmup),
        }
        .run()?;
        let histogram = &run.histogram;
        let percentiles: Vec<f64> = PERCENTILES.iter().map(|(_, q)| ms(histogram.value_at_percentile(*q))).collect();
        let note = if run.saturated { "saturated" } else { "" };
        println!(
            "{:>10}  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.2}  {note:>10}",
            format_number(rate),
            percentiles[0],
            percentiles[1],
            percentiles[2],
            percentiles[3],
            ms(histogram.max())
        );
        let sustained = !run.saturated && percentiles[2] < P99_BOUND_MS;
        if sustained && best_rate.is_none_or(|best| rate > best) {
            best_rate = Some(rate);
        }
        let mut result = json!({
            "tweets_per_second": rate,
            "measured_tweets": histogram.len(),
            "saturated": run.saturated,
            "max_ms": ms(histogram.max()),
        });
        for ((name, _), value) in PERCENTILES.iter().zip(&percentiles) {
            result[format!("{name}_ms")] = json!(value);
        }
        runs.push(result);
        curves.push((format!("{} tweets/s", format_number(rate)), percentile_curve(histogram)));
    }
    match best_rate {
        Some(rate) => println!("highest rate with p99 under {P99_BOUND_MS} ms: {} tweets/s", format_number(rate)),
        None => println!("no rate kept p99 under {P99_BOUND_MS} ms"),
    }
    let name = format!("latency-w{}", args.workers);
    let path = write_results(
        &name,
        &json!({
            "benchmark": "open-loop latency, in process",
            "machine": machine,
            "workers": args.workers,
            "tick_ms": args.tick,
            "windows": args.views.windows.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            "top": args.views.top,
            "seconds": args.seconds,
            "warmup_seconds": args.warmup,
            "highest_rate_with_p99_under_100ms": best_rate,
            "runs": runs,
        }),
    )?;
    let chart = LineChart {
        title: &format!(
            "Open-loop latency in process, {} worker(s), tick {}",
            args.workers,
            format_duration(args.tick)
        ),
        x_label: "percentile",
        y_label: "latency (ms)",
        x_format: &nines,
        series: curves,
    };
    println!("results: {} and {}", path.display(), chart.write(&name)?.display());
    Ok(())
}

/// Latency (ms) against percentile on a "nines" scale: x = -log10(1 - q), so 90%, 99% and 99.9%
/// are evenly spaced.
fn percentile_curve(histogram: &Histogram<u64>) -> Vec<(f64, f64)> {
    (0..=30)
        .map(|step| {
            let x = step as f64 / 10.0;
            let percentile = 100.0 * (1.0 - 10f64.powf(-x));
            (x, histogram.value_at_percentile(percentile) as f64 / 1_000.0)
        })
        .collect()
}

/// Writes a "nines" axis value as its percentile.
fn nines(x: f64) -> String {
    let percentile = 100.0 * (1.0 - 10f64.powf(-x));
    format!("{}%", (percentile * 10.0).round() / 10.0)
}
