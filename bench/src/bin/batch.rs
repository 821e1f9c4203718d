//! The batch layer over generated histories of 1M and 10M tweets in MySQL, next to a bare scan.
//!
//! For each size it fills a database `trendflow_bench_<N>` with `trendflow db generate` (kept
//! for reruns while it holds exactly N tweets), times the server reading the history alone (every
//! column along the event-time index, summed on the server, nothing sent), a bare scan — the batch layer's own reader
//! over the whole table, every column decoded as the batch layer decodes it, then discarded — and
//! runs `trendflow batch` with each worker count as a child process:
//! wall time, tweets/s and the child's peak RSS. Results go to `bench/results/batch.json`.
//!
//! ```sh
//! cargo build --release && cargo run --release -p trendflow-bench --bin batch
//! ```

use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use mysql::prelude::Queryable;
use serde::Serialize;
use serde_json::Value;
use trendflow::mysql::history::{read_share, Share};
use trendflow::mysql::MysqlArgs;
use trendflow_bench::history::{fill_history, time_batch, Generated};
use trendflow_bench::{machine, median, trendflow_binary, write_results};

#[derive(Parser, Debug)]
#[command(about = "Batch layer against a bare scan, at several history sizes")]
struct Args {
    /// History sizes, in tweets.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000_000u64, 10_000_000])]
    sizes: Vec<u64>,
    /// Worker counts to run the batch layer with.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2])]
    workers: Vec<usize>,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// The server, without a database: mysql://USER:PASSWORD@HOST:PORT.
    #[arg(long, env = "TRENDFLOW_BENCH_MYSQL", default_value = "mysql://trendflow:trendflow@127.0.0.1:3306")]
    server: String,
}

/// `bench/results/batch.json`.
#[derive(Serialize)]
struct BatchResults {
    benchmark: &'static str,
    machine: Value,
    repeat: usize,
    sizes: Vec<SizeResults>,
}

/// The runs over one history size.
#[derive(Serialize)]
struct SizeResults {
    tweets: u64,
    /// None when the database already held the history.
    generate: Option<Generated>,
    /// The server reading the history alone, nothing sent.
    server_seconds: f64,
    scan_seconds: f64,
    scan_tweets_per_second: f64,
    batch: Vec<BatchRun>,
}

/// `trendflow batch` with one worker count: the median of the runs.
#[derive(Serialize)]
struct BatchRun {
    workers: usize,
    seconds: f64,
    tweets_per_second: f64,
    vs_scan: f64,
    peak_rss_mib: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let trendflow = trendflow_binary()?;
    let machine = machine();
    let mut results = Vec::new();
    println!(
        "{:>10}  {:>10}  {:>7}  {:>9}  {:>12}  {:>9}  {:>8}",
        "tweets", "run", "workers", "seconds", "tweets/s", "vs scan", "peak RSS"
    );
    for &size in &args.sizes {
        let url = format!("{}/trendflow_bench_{size}", args.server);
        let generated = fill_history(&trendflow, &url, size)?;
        let reads: Vec<f64> = (0..args.repeat).map(|_| server_read(&url)).collect::<Result<_>>()?;
        let server_seconds = median(reads);
        println!(
            "{size:>10}  {:>10}  {:>7}  {server_seconds:>9.2}  {:>12.0}  {:>9}  {:>8}",
            "server",
            1,
            size as f64 / server_seconds,
            "-",
            "-"
        );
        let scans: Vec<f64> = (0..args.repeat).map(|_| scan(&url, size)).collect::<Result<_>>()?;
        let scan_seconds = median(scans);
        println!(
            "{size:>10}  {:>10}  {:>7}  {scan_seconds:>9.2}  {:>12.0}  {:>9}  {:>8}",
            "bare scan",
            1,
            size as f64 / scan_seconds,
            "1.00x",
            "-"
        );
        let mut batches = Vec::new();
        for &workers in &args.workers {
            let (seconds, peak) = time_batch(&trendflow, &url, size, &["-w", &workers.to_string()], args.repeat)?;
            let mib = peak / (1024 * 1024);
            println!(
                "{size:>10}  {:>10}  {workers:>7}  {seconds:>9.2}  {:>12.0}  {:>8.2}x  {mib:>4} MiB",
                "batch",
                size as f64 / seconds,
                seconds / scan_seconds
            );
            batches.push(BatchRun {
                workers,
                seconds,
                tweets_per_second: size as f64 / seconds,
                vs_scan: seconds / scan_seconds,
                peak_rss_mib: mib,
            });
        }
        results.push(SizeResults {
            tweets: size,
            generate: generated,
            server_seconds,
            scan_seconds,
            scan_tweets_per_second: size as f64 / scan_seconds,
            batch: batches,
        });
    }
    let results = BatchResults { benchmark: "batch", machine, repeat: args.repeat, sizes: results };
    let path = write_results("batch", &results)?;
    println!("results: {}", path.display());
    Ok(())
}

/// Has the server read every column of the whole history along the event-time index, as the
/// batch layer's lone reader does, and add it up, sending nothing back: the server's own share
/// of a scan, without the wire and the decoding.
fn server_read(url: &str) -> Result<f64> {
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url)?).context("connecting to the benchmark database")?;
    let started = Instant::now();
    let _: Option<f64> = conn.query_first(
        "SELECT SUM(LENGTH(tweet) + LENGTH(language) + tweet_id + created_at_ms + IFNULL(user_id, 0) + \
         IFNULL(retweet_of, 0)) FROM tweets FORCE INDEX (tweets_by_time) WHERE created_at_ms IS NOT NULL",
    )?;
    Ok(started.elapsed().as_secs_f64())
}

/// Reads the whole history with the batch layer's reader (its queries, slices and decoding, by the
/// same client library), and discards it.
fn scan(url: &str, size: u64) -> Result<f64> {
    let config = MysqlArgs { url: url.to_string(), wait_secs: 10 }.config()?;
    let started = Instant::now();
    let read = read_share(&config, Share::WHOLE, |row| {
        std::hint::black_box(row);
        Ok(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    if read.rows != size {
        bail!("the scan read {} tweets, not {size}", read.rows);
    }
    Ok(seconds)
}
