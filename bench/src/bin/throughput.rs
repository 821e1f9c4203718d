//! Throughput of the graph in process: generated tweets through `trendflow demo` (a stream run
//! with live rankings, then a batch run, output discarded but for the final views they compare),
//! next to the single-threaded COST baseline (`cost`) over the same tweets.
//!
//! Two sweeps: the standard specs (`5m/1m` and `1h/5m`) at each worker count, and each window
//! spec alone on one worker, all without the trending view (the COST baseline computes the other
//! three); then the standard specs on one worker with and without trending, in turns, for what the
//! trending view costs. Every run is a child process, measured for wall time, processor time and
//! peak RSS.
//!
//! Absolute rates move with the machine and its load, so each row also gives the graph's time as
//! a multiple of the COST baseline's, both measured in the same sweep. The last line states the
//! hashtag ranking's work per core: hashtag occurrences per second of processor time, the events
//! of a sliding-window top-K, beside the published per-core figures of Nexmark q5 ("hot items",
//! the same shape over a different workload). Results go to `bench/results/throughput.json`, and
//! tweets/s against workers to `bench/results/throughput.svg`.
//!
//! ```sh
//! cargo build --release && cargo run --release -p trendflow-bench --bin throughput
//! ```

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Result};
use clap::Parser;
use serde_json::{json, Value};
use trendflow::vocabulary::report::demo::DemoReport;
use trendflow_bench::cost::CostReport;
use trendflow_bench::plot::{format_number, LineChart};
use trendflow_bench::{machine, median, run_reported, sibling_binary, trendflow_binary, write_results};

#[derive(Parser, Debug)]
#[command(about = "Graph throughput against window specs and workers, next to the COST baseline")]
struct Args {
    /// Generated tweets per run (at 100 tweets/s of event time, 1M cover 2.8 hours).
    #[arg(long, default_value_t = 1_000_000)]
    tweets: u64,
    /// Worker counts for the standard specs.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2])]
    workers: Vec<usize>,
    /// Window specs measured alone, on one worker.
    #[arg(long, value_delimiter = ',', default_values = ["1m", "5m/1m", "1h/5m", "1h/1m"])]
    specs: Vec<String>,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

/// The specs every other figure uses.
const STANDARD: [&str; 2] = ["5m/1m", "1h/5m"];

/// Nexmark q5 throughput per core, events/s, as published: Flink, and Feldera (DBSP).
const NEXMARK_Q5_PER_CORE: [(&str, f64); 2] = [("Flink", 22_000.0), ("Feldera", 410_000.0)];

/// One measured configuration: the graph's stream and batch runs and the COST baseline.
struct Measured {
    stream: f64,
    batch: f64,
    cost: f64,
    /// Processor time over wall time of the graph's runs: the cores it kept busy.
    graph_cores: f64,
    /// Hashtag occurrences per tweet of the generated input.
    occurrences_per_tweet: f64,
    graph_peak_mib: u64,
    cost_peak_mib: u64,
}

/// One run of `trendflow demo`: its stream and batch rates, the cores it kept busy, its peak RSS.
struct DemoRun {
    stream: f64,
    batch: f64,
    cores: f64,
    peak_rss_bytes: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let machine = machine();
    let trendflow = trendflow_binary()?;
    let cost = sibling_binary("cost", "cargo build --release -p trendflow-bench --bin cost")?;
    println!(
        "{:>16}  {:>7}  {:>12}  {:>12}  {:>12}  {:>11}  {:>10}  {:>5}  {:>11}  {:>11}",
        "windows",
        "workers",
        "stream/s",
        "batch/s",
        "COST/s",
        "stream×COST",
        "batch×COST",
        "cores",
        "graph RSS",
        "COST RSS"
    );
    let mut rows = Vec::new();
    let mut by_workers = Vec::new();
    let standard: Vec<String> = STANDARD.iter().map(|s| s.to_string()).collect();
    for &workers in &args.workers {
        let measured = measure(&trendflow, &cost, &args, &standard, workers)?;
        by_workers.push((workers, measured.stream, measured.batch, measured.cost));
        rows.push(report(&standard, workers, &measured));
    }
    let mut per_core = None;
    for spec in &args.specs {
        let specs = vec![spec.clone()];
        let measured = measure(&trendflow, &cost, &args, &specs, 1)?;
        if spec == "5m/1m" {
            per_core = Some(occurrences_per_core(&measured));
        }
        rows.push(report(&specs, 1, &measured));
    }
    let trending = trending_cost(&trendflow, &args, &standard)?;
    let path = write_results(
        "throughput",
        &json!({
            "benchmark": "graph throughput in process",
            "machine": machine,
            "tweets": args.tweets,
            "repeat": args.repeat,
            "runs": rows,
            "per_core_5m_1m": per_core,
            "trending": trending,
        }),
    )?;
    let line = |pick: fn(&(usize, f64, f64, f64)) -> f64| {
        by_workers.iter().map(|row| (row.0 as f64, pick(row))).collect::<Vec<_>>()
    };
    let chart = LineChart {
        title: &format!(
            "Throughput, windows {}, top 10, {} tweets",
            STANDARD.join(" "),
            format_number(args.tweets as f64)
        ),
        x_label: "timely workers",
        y_label: "tweets/s",
        x_format: &|x| format!("{x:.0}"),
        series: vec![
            ("stream run (tick 1s, live rankings)".into(), line(|row| row.1)),
            ("batch run (tick 1m, final rankings)".into(), line(|row| row.2)),
            ("COST baseline (one thread)".into(), line(|row| row.3)),
        ],
    };
    println!("results: {} and {}", path.display(), chart.write("throughput")?.display());
    Ok(())
}

/// One run of `trendflow demo` over the specs.
fn demo(trendflow: &Path, args: &Args, specs: &[String], workers: usize, trending: bool) -> Result<DemoRun> {
    let window_flags: Vec<String> = specs.iter().flat_map(|spec| ["--window".to_string(), spec.clone()]).collect();
    let mut command = Command::new(trendflow);
    command.args(["demo", "-q", "--tweets", &args.tweets.to_string(), "-w", &workers.to_string()]).args(&window_flags);
    if !trending {
        command.arg("--no-trending");
    }
    let (demo, report): (_, DemoReport) = run_reported(&mut command)?;
    if !report.identical {
        bail!("the demo's stream and batch views differ: {}", report.first_difference.unwrap_or_default());
    }
    Ok(DemoRun {
        stream: report.stream.tweets_per_second,
        batch: report.batch.tweets_per_second,
        cores: demo.cpu.as_secs_f64() / demo.wall.as_secs_f64(),
        peak_rss_bytes: demo.peak_rss_bytes,
    })
}

/// The standard specs on one worker with and without the trending view, in turns: the rates and
/// how much longer each run takes with it.
fn trending_cost(trendflow: &Path, args: &Args, specs: &[String]) -> Result<Value> {
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..args.repeat {
        without.push(demo(trendflow, args, specs, 1, false)?);
        with.push(demo(trendflow, args, specs, 1, true)?);
    }
    let medians = |runs: &[DemoRun]| {
        let peak = runs.iter().map(|run| run.peak_rss_bytes).max().unwrap_or(0) / (1024 * 1024);
        (median(runs.iter().map(|run| run.stream).collect()), median(runs.iter().map(|run| run.batch).collect()), peak)
    };
    let (with, without) = (medians(&with), medians(&without));
    // Rates are tweets per second: the time a run takes grows as its rate falls.
    let added = |with: f64, without: f64| (without / with - 1.0) * 100.0;
    println!(
        "trending view, {} on 1 worker: stream {} tweets/s with it, {} without (+{:.0}% time); batch {} with, {} without (+{:.0}% time); peak RSS {} MiB with, {} without",
        specs.join(" "),
        format_number(with.0),
        format_number(without.0),
        added(with.0, without.0),
        format_number(with.1),
        format_number(without.1),
        added(with.1, without.1),
        with.2,
        without.2
    );
    Ok(json!({
        "windows": specs,
        "stream_tweets_per_second": { "with": with.0, "without": without.0 },
        "batch_tweets_per_second": { "with": with.1, "without": without.1 },
        "stream_time_added_percent": added(with.0, without.0),
        "batch_time_added_percent": added(with.1, without.1),
        "peak_rss_mib": { "with": with.2, "without": without.2 },
    }))
}

fn measure(trendflow: &Path, cost: &Path, args: &Args, specs: &[String], workers: usize) -> Result<Measured> {
    let window_flags: Vec<String> = specs.iter().flat_map(|spec| ["--window".to_string(), spec.clone()]).collect();
    let tweets = args.tweets.to_string();
    let (mut stream, mut batch, mut baseline, mut cores) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut graph_peak, mut cost_peak, mut occurrences) = (0, 0, 0.0);
    for _ in 0..args.repeat {
        let run = demo(trendflow, args, specs, workers, false)?;
        stream.push(run.stream);
        batch.push(run.batch);
        cores.push(run.cores);
        graph_peak = graph_peak.max(run.peak_rss_bytes);
        let (run, report): (_, CostReport) =
            run_reported(Command::new(cost).args(["--tweets", &tweets]).args(&window_flags))?;
        baseline.push(report.tweets_per_second);
        occurrences = report.hashtag_occurrences as f64;
        cost_peak = cost_peak.max(run.peak_rss_bytes);
    }
    Ok(Measured {
        stream: median(stream),
        batch: median(batch),
        cost: median(baseline),
        graph_cores: median(cores),
        occurrences_per_tweet: occurrences / args.tweets as f64,
        graph_peak_mib: graph_peak / (1024 * 1024),
        cost_peak_mib: cost_peak / (1024 * 1024),
    })
}

/// Prints a result row and returns it as JSON.
fn report(specs: &[String], workers: usize, measured: &Measured) -> Value {
    // How many times the COST baseline's time the graph takes over the same tweets.
    let (stream_vs_cost, batch_vs_cost) = (measured.cost / measured.stream, measured.cost / measured.batch);
    println!(
        "{:>16}  {workers:>7}  {:>12}  {:>12}  {:>12}  {:>10.2}x  {:>9.2}x  {:>5.2}  {:>7} MiB  {:>7} MiB",
        specs.join(" "),
        format_number(measured.stream),
        format_number(measured.batch),
        format_number(measured.cost),
        stream_vs_cost,
        batch_vs_cost,
        measured.graph_cores,
        measured.graph_peak_mib,
        measured.cost_peak_mib
    );
    json!({
        "windows": specs,
        "workers": workers,
        "stream_tweets_per_second": measured.stream,
        "batch_tweets_per_second": measured.batch,
        "cost_tweets_per_second": measured.cost,
        "stream_time_vs_cost": stream_vs_cost,
        "batch_time_vs_cost": batch_vs_cost,
        "graph_cores_busy": measured.graph_cores,
        "graph_peak_rss_mib": measured.graph_peak_mib,
        "cost_peak_rss_mib": measured.cost_peak_mib,
    })
}

/// The hashtag ranking's events per second of processor time: the stream run's occurrences per
/// second, over the cores the demo kept busy (its worker and the worker's reading thread; the
/// figure is the demo's average over its stream and batch runs), and the COST baseline's on its
/// one thread. Printed beside the published Nexmark q5 figures.
fn occurrences_per_core(measured: &Measured) -> Value {
    let stream = measured.stream * measured.occurrences_per_tweet / measured.graph_cores;
    let cost = measured.cost * measured.occurrences_per_tweet;
    let nexmark: Vec<String> = NEXMARK_Q5_PER_CORE
        .iter()
        .map(|(system, rate)| format!("{system} {} ({:.1}x)", format_number(*rate), stream / rate))
        .collect();
    println!(
        "per core, 5m/1m stream: {} hashtag occurrences/s ({:.2} per tweet, {:.2} cores busy); COST baseline {}; Nexmark q5 per core: {} (trendflow's rate as a multiple)",
        format_number(stream),
        measured.occurrences_per_tweet,
        measured.graph_cores,
        format_number(cost),
        nexmark.join(", ")
    );
    json!({
        "stream_occurrences_per_core_second": stream,
        "cost_occurrences_per_core_second": cost,
        "occurrences_per_tweet": measured.occurrences_per_tweet,
        "cores_busy": measured.graph_cores,
        "nexmark_q5_events_per_core_second": NEXMARK_Q5_PER_CORE.iter().map(|(system, rate)| json!({"system": system, "rate": rate})).collect::<Vec<_>>(),
    })
}
