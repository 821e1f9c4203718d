//! The stream job's memory over a long replay through a real broker. `produce --from generator`
//! sends N tweets (at 100 a second of event time, 4 million are 11 hours), then `stream
//! --no-archive` reads that backlog while its RSS is sampled every few seconds. The graph's own
//! memory is flat (`--bin memory`); this is the whole job's: consumer, producers, checkpoints.
//!
//! ```sh
//! scripts/mysql.sh && TRENDFLOW_KAFKA_PORT=9093 scripts/kafka.sh --fresh
//! cargo build --release
//! cargo run --release -p trendflow-bench --bin stream_memory -- --brokers 127.0.0.1:9093
//! ```

use std::process::Stdio;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::json;
use trendflow::harness::memory::rss_bytes_of;
use trendflow::vocabulary::report::stream::StreamReport;
use trendflow_bench::plot::LineChart;
use trendflow_bench::services::{wait, ServiceArgs};
use trendflow_bench::{machine, write_results, ReportFile};

#[derive(Parser, Debug)]
#[command(about = "The stream job's RSS over a long replay through a real broker")]
struct Args {
    /// Tweets to replay (100 a second of event time).
    #[arg(long, default_value_t = 4_000_000)]
    tweets: u64,
    /// Partitions of the tweets topic.
    #[arg(long, default_value_t = 4)]
    partitions: u32,
    /// Stream workers.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Seconds between two samples.
    #[arg(long, default_value_t = 5)]
    sample_secs: u64,
    #[command(flatten)]
    services: ServiceArgs,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let machine = machine();
    let mut services = args.services.connect()?;
    let run = services.fresh("stream_memory", args.partitions)?;
    run.succeed(&["produce", "--from", "generator", "--tweets", &args.tweets.to_string()])?;
    let started = Instant::now();
    let report = ReportFile::new("stream_memory");
    let stream = report
        .pass_to(&mut run.command(&["stream", "-w", &args.workers.to_string(), "--no-archive", "--until-idle", "10"]))
        .stdout(Stdio::null())
        .spawn()
        .context("starting the stream")?;
    let mut samples: Vec<(f64, f64)> = Vec::new();
    while let Some(bytes) = rss_bytes_of(stream.id()) {
        samples.push((started.elapsed().as_secs_f64(), bytes as f64 / (1024.0 * 1024.0)));
        sleep(Duration::from_secs(args.sample_secs));
    }
    wait(stream)?;
    let streamed = report.written::<StreamReport>()?.run.context("the stream reported no run")?;
    run.succeed(&["topics", "delete", "--yes"])?;
    // The first quarter fills the window horizon; after it, memory should stay level.
    let level: Vec<f64> = samples.iter().skip(samples.len() / 4).map(|(_, mib)| *mib).collect();
    let low = level.iter().copied().reduce(f64::min).unwrap_or(0.0);
    let high = level.iter().copied().reduce(f64::max).unwrap_or(0.0);
    println!("{streamed}");
    println!("RSS after the first quarter of the run between {low:.0} and {high:.0} MiB");
    let path = write_results(
        "stream-memory",
        &json!({
            "benchmark": "the stream job's RSS over a long replay through the broker",
            "machine": machine,
            "tweets": args.tweets,
            "partitions": args.partitions,
            "workers": args.workers,
            "stream": streamed,
            "rss_after_first_quarter_mib": {"min": low, "max": high},
            "samples": samples.iter().map(|(secs, mib)| json!({"seconds": secs, "rss_mib": mib})).collect::<Vec<_>>(),
        }),
    )?;
    let chart = LineChart {
        title: &format!("stream RSS while replaying {} tweets through the broker", args.tweets),
        x_label: "seconds",
        y_label: "RSS (MiB)",
        x_format: &|x| format!("{x:.0}"),
        series: vec![("RSS".into(), samples)],
    };
    println!("results: {} and {}", path.display(), chart.write("stream-memory")?.display());
    Ok(())
}
