//! The speed layer through a real broker: how fast tweets go through `produce` and `stream`, and
//! how soon after a window's end its final ranking appears on `top_hashtags`.
//!
//! * **Throughput**: `produce --from generator` of N tweets as fast as the broker takes them, then
//!   `stream --until-idle` over that backlog with each worker count (archive on, a fresh database
//!   each run): tweets/s between the first and the last message, and the stream's peak RSS.
//! * **Freshness**: `stream` (10 s tumbling windows) runs while `produce --speedup 1` sends tweets
//!   in real time; afterwards the messages' own timestamps tell, for each closed window, how long
//!   after its end (the first tweet sent at or after it) and after the watermark passed it (the
//!   first tweet at or after end + lateness) its final snapshot was sent.
//!
//! ```sh
//! scripts/mysql.sh && scripts/kafka.sh
//! cargo build --release && cargo run --release -p trendflow-bench --bin speed
//! ```

use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use serde_json::{json, Value};
use trendflow::time::parse_created_at;
use trendflow::vocabulary::report::stream::StreamReport;
use trendflow_bench::services::{wait, Run, ServiceArgs};
use trendflow_bench::{machine, median, run_measured, run_reported, write_results};

#[derive(Parser, Debug)]
#[command(about = "Speed layer throughput and freshness through a real broker")]
struct Args {
    /// Tweets for the throughput runs.
    #[arg(long, default_value_t = 200_000)]
    tweets: u64,
    /// Worker counts for the stream.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2])]
    workers: Vec<usize>,
    /// Partitions of the tweets topic.
    #[arg(long, default_value_t = 4)]
    partitions: u32,
    /// Real-time tweets per second in the freshness run.
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    /// How long the freshness run produces, in seconds.
    #[arg(long, default_value_t = 40)]
    seconds: u64,
    #[command(flatten)]
    services: ServiceArgs,
}

/// The lateness the stream runs with (its default), which every final snapshot waits for.
const LATENESS_MS: u64 = 5_000;

fn main() -> Result<()> {
    let args = Args::parse();
    let machine = machine();
    let mut services = args.services.connect()?;

    let source = services.fresh("source", args.partitions)?;
    let produced =
        run_measured(&mut source.command(&["produce", "--from", "generator", "--tweets", &args.tweets.to_string()]))?;
    let produce_rate = args.tweets as f64 / produced.wall.as_secs_f64();
    println!("produce: {} tweets in {:.2} s: {produce_rate:.0} tweets/s", args.tweets, produced.wall.as_secs_f64());
    let mut streams = Vec::new();
    for &workers in &args.workers {
        // The stream reads the source run's topic, archiving into a database of its own.
        let mut run = services.fresh(&format!("w{workers}"), args.partitions)?;
        run.prefix = source.prefix.clone();
        let (streamed, report): (_, StreamReport) =
            run_reported(&mut run.command(&["stream", "-w", &workers.to_string(), "--until-idle", "3"]))?;
        let rate = report.run.context("the stream reported no run")?.messages_per_second;
        let mib = streamed.peak_rss_bytes / (1024 * 1024);
        println!("stream, {workers} worker(s): {rate:.0} tweets/s, peak RSS {mib} MiB");
        streams.push(json!({"workers": workers, "tweets_per_second": rate, "peak_rss_mib": mib}));
    }

    let live = services.fresh("fresh", args.partitions)?;
    let stream = live
        .command(&["stream", "--window", "10s", "--until-idle", "5", "--no-archive"])
        .stdout(Stdio::null())
        .spawn()
        .context("starting the stream")?;
    std::thread::sleep(Duration::from_secs(2));
    let tweets = (args.rate * args.seconds).to_string();
    let event_rate = args.rate.to_string();
    live.succeed(&[
        "produce",
        "--from",
        "generator",
        "--tweets",
        &tweets,
        "--event-rate",
        &event_rate,
        "--speedup",
        "1",
    ])?;
    wait(stream)?;
    let freshness = freshness(&live)?;
    for run in [&source, &live] {
        run.succeed(&["topics", "delete", "--yes"])?;
    }
    let delays: Vec<f64> = freshness.iter().map(|(_, after_end, _)| *after_end).collect();
    let after_watermark: Vec<f64> = freshness.iter().map(|(_, _, after)| *after).collect();
    let low = after_watermark.iter().copied().fold(f64::MAX, f64::min);
    let high = after_watermark.iter().copied().fold(f64::MIN, f64::max);
    println!(
        "freshness over {} windows: final snapshot {:.0} ms after the window's end (median), {:.0} ms after the watermark passed it (median; {low:.0} to {high:.0})",
        freshness.len(),
        median(delays.clone()),
        median(after_watermark.clone())
    );
    let path = write_results(
        "speed",
        &json!({
            "benchmark": "speed",
            "machine": machine,
            "tweets": args.tweets,
            "partitions": args.partitions,
            "produce_tweets_per_second": produce_rate,
            "stream": streams,
            "freshness": {
                "rate": args.rate,
                "lateness_ms": LATENESS_MS,
                "windows": freshness.len(),
                "after_window_end_ms_median": median(delays),
                "after_watermark_ms_median": median(after_watermark),
                "after_watermark_ms_min": low,
                "after_watermark_ms_max": high,
            },
        }),
    )?;
    println!("results: {}", path.display());
    Ok(())
}

/// For each final snapshot on top_hashtags: its window end, and the milliseconds from the window's
/// end and from the watermark passing it to the snapshot being sent.
fn freshness(run: &Run) -> Result<Vec<(u64, f64, f64)>> {
    let mut sent: Vec<(u64, i64)> = Vec::new();
    for line in run.succeed(&["topics", "read", "tweets", "--timestamps", "--until-idle", "2"])?.lines() {
        let mut fields = line.splitn(3, '\t');
        let (Some(stamp), Some(_), Some(value)) = (fields.next(), fields.next(), fields.next()) else { continue };
        let value: Value = serde_json::from_str(value)?;
        let event = parse_created_at(value["date_time"].as_str().unwrap_or_default()).map_err(|e| anyhow!("{e}"))?;
        sent.push((event, stamp.parse()?));
    }
    sent.sort();
    // The first send time of any tweet at or after each event time.
    let mut first_after = vec![i64::MAX; sent.len() + 1];
    for (index, (_, stamp)) in sent.iter().enumerate().rev() {
        first_after[index] = first_after[index + 1].min(*stamp);
    }
    let first_sent_from = |time: u64| first_after[sent.partition_point(|(event, _)| *event < time)];
    let mut windows = Vec::new();
    for line in run.succeed(&["topics", "read", "top-hashtags", "--timestamps", "--until-idle", "2"])?.lines() {
        let mut fields = line.splitn(3, '\t');
        let (Some(stamp), Some(_), Some(value)) = (fields.next(), fields.next(), fields.next()) else { continue };
        let value: Value = serde_json::from_str(value)?;
        let end = value["window_end_ms"].as_u64().unwrap_or_default();
        let (ended, passed) = (first_sent_from(end), first_sent_from(end + LATENESS_MS));
        // Windows closed only by the end of input have no tweet after them to measure from.
        if value["final"] == true && passed != i64::MAX {
            let stamp: i64 = stamp.parse()?;
            windows.push((end, (stamp - ended) as f64, (stamp - passed) as f64));
        }
    }
    Ok(windows)
}
