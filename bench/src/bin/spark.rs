//! The batch layer over MySQL against Spark, the seed's engine, on the same generated tweets.
//!
//! It fills `trendflow_bench_<N>` with `trendflow db generate` (kept for reruns), exports the
//! tweets once to a CSV file in the cache (`~/.cache/trendflow/spark/`), then times, each
//! `--repeat` times: Spark (PySpark from PyPI, `local[2]`, `bench/spark/views.py`) computing the
//! top hashtags and the language counts per window from the CSV file, and `trendflow batch
//! --no-trending` computing its hashtag, tweet and language views over MySQL with each worker count,
//! both for the same window specs. Spark's time is the whole command, its session's start
//! included, and apart from that its job alone. Its top hashtags are compared with the batch
//! layer's, row by row. Results go to `bench/results/spark.json`.
//!
//! ```sh
//! scripts/bench-tools.sh   # PySpark into ~/.cache/trendflow/spark-venv (Java 17 from the machine)
//! cargo build --release && cargo run --release -p trendflow-bench --bin spark
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Parser;
use mysql::prelude::Queryable;
use serde::{Deserialize, Serialize};
use trendflow_bench::history::{fill_history, time_batch, Generated};
use trendflow_bench::{median, run_measured, trendflow_binary, write_results};
use trendflow_dataflows::window::WindowSpec;

#[derive(Parser, Debug)]
#[command(about = "The batch layer over MySQL against Spark on the same tweets")]
struct Args {
    /// Generated tweets.
    #[arg(long, default_value_t = 2_000_000)]
    tweets: u64,
    /// Window specs both compute.
    #[arg(long = "window", default_values_t = ["5m/1m".to_string(), "1h/5m".to_string()])]
    windows: Vec<String>,
    /// Worker counts to run the batch layer with.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2])]
    workers: Vec<usize>,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// The Python that has PySpark (scripts/bench-tools.sh installs it).
    #[arg(long, env = "TRENDFLOW_BENCH_PYTHON")]
    python: Option<PathBuf>,
    /// The server, without a database: mysql://USER:PASSWORD@HOST:PORT.
    #[arg(long, env = "TRENDFLOW_BENCH_MYSQL", default_value = "mysql://trendflow:trendflow@127.0.0.1:3306")]
    server: String,
}

/// What `bench/spark/views.py` prints.
#[derive(Debug, Deserialize)]
struct SparkJob {
    session_seconds: f64,
    job_seconds: f64,
}

/// A row of Spark's top hashtags, as `views.py` writes them.
#[derive(Debug, Deserialize)]
struct SparkRow {
    length_ms: u64,
    end_ms: u64,
    rank: u64,
    hashtag: String,
    count: u64,
}

#[derive(Serialize)]
struct SparkResults {
    benchmark: &'static str,
    tweets: u64,
    windows: Vec<String>,
    repeat: usize,
    /// The whole `views.py` command: the JVM and the Spark session start included.
    spark_seconds: f64,
    /// Spark's job alone, once its session had started.
    spark_job_seconds: f64,
    spark_session_seconds: f64,
    batch: Vec<BatchRun>,
    /// Spark's whole command over the fastest batch run.
    speedup: f64,
    /// Spark's job alone over the fastest batch run.
    speedup_over_job: f64,
    /// Of the batch layer's top-hashtag rows, the share Spark ranked alike (same hashtag and count
    /// at the same rank of the same window).
    top_hashtags_agreement: f64,
    generate: Option<Generated>,
}

#[derive(Serialize)]
struct BatchRun {
    workers: usize,
    seconds: f64,
    tweets_per_second: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let trendflow = trendflow_binary()?;
    let cache = cache_dir()?;
    let python = args.python.clone().unwrap_or_else(|| cache.join("spark-venv/bin/python"));
    if !python.exists() {
        bail!("{} is missing: scripts/bench-tools.sh installs PySpark there", python.display());
    }
    let specs: Vec<WindowSpec> =
        args.windows.iter().map(|spec| spec.parse().map_err(anyhow::Error::from)).collect::<Result<_>>()?;
    let url = format!("{}/trendflow_bench_{}", args.server, args.tweets);
    let generate = fill_history(&trendflow, &url, args.tweets)?;
    let csv = cache.join(format!("spark/tweets-{}.csv", args.tweets));
    export_csv(&url, &csv, args.tweets)?;

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("spark/views.py");
    let top = std::env::temp_dir().join(format!("trendflow-spark-top-{}.jsonl", std::process::id()));
    let (mut walls, mut jobs, mut sessions) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.repeat {
        let mut command = Command::new(&python);
        command.arg(&script).arg("--input").arg(&csv).arg("--output").arg(&top);
        for spec in &specs {
            command.args(["--window", &format!("{}/{}", spec.length_ms(), spec.slide_ms())]);
        }
        let run = run_measured(&mut command)?;
        let job: SparkJob = serde_json::from_str(run.stdout.lines().last().unwrap_or_default())
            .with_context(|| format!("reading what views.py printed: {}", run.stdout))?;
        println!(
            "spark: {:.2} s in all, {:.2} s to start its session, {:.2} s of job",
            run.wall.as_secs_f64(),
            job.session_seconds,
            job.job_seconds
        );
        walls.push(run.wall.as_secs_f64());
        jobs.push(job.job_seconds);
        sessions.push(job.session_seconds);
    }

    let windows: Vec<&str> = args.windows.iter().flat_map(|spec| ["--window", spec.as_str()]).collect();
    let mut batch = Vec::new();
    for &workers in &args.workers {
        let workers_flag = workers.to_string();
        let batch_args = [&["--no-trending", "-w", workers_flag.as_str()][..], &windows].concat();
        let (seconds, _) = time_batch(&trendflow, &url, args.tweets, &batch_args, args.repeat)?;
        println!("batch -w {workers}: {seconds:.2} s");
        batch.push(BatchRun { workers, seconds, tweets_per_second: args.tweets as f64 / seconds });
    }

    let agreement = agreement(&url, &top, &specs)?;
    std::fs::remove_file(&top).ok();
    let fastest = batch.iter().map(|run| run.seconds).fold(f64::INFINITY, f64::min);
    let (spark_seconds, spark_job_seconds) = (median(walls), median(jobs));
    let results = SparkResults {
        benchmark: "spark",
        tweets: args.tweets,
        windows: args.windows.clone(),
        repeat: args.repeat,
        spark_seconds,
        spark_job_seconds,
        spark_session_seconds: median(sessions),
        speedup: spark_seconds / fastest,
        speedup_over_job: spark_job_seconds / fastest,
        batch,
        top_hashtags_agreement: agreement,
        generate,
    };
    println!(
        "Spark {spark_seconds:.2} s ({spark_job_seconds:.2} s of job), batch {fastest:.2} s: {:.1}x ({:.1}x over the job); top hashtags agree on {:.1}% of rows",
        results.speedup,
        results.speedup_over_job,
        agreement * 100.0
    );
    let path = write_results("spark", &results)?;
    println!("results: {}", path.display());
    Ok(())
}

/// `~/.cache/trendflow` (or `TRENDFLOW_CACHE`), outside the checkout.
fn cache_dir() -> Result<PathBuf> {
    match std::env::var_os("TRENDFLOW_CACHE") {
        Some(cache) => Ok(PathBuf::from(cache)),
        None => Ok(PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".cache/trendflow")),
    }
}

/// Writes the database's tweets to `path` as CSV (tweet_id, text, created_at_ms, language, with a
/// header), unless it already holds `tweets` of them.
fn export_csv(url: &str, path: &Path, tweets: u64) -> Result<()> {
    if let Ok(file) = std::fs::File::open(path) {
        let records = std::io::BufReader::new(file).lines().filter(|line| line.is_ok()).count();
        // Texts hold no line breaks in generated tweets: one line per tweet, and the header.
        if records as u64 == tweets + 1 {
            return Ok(());
        }
    }
    std::fs::create_dir_all(path.parent().context("the CSV file's folder")?)?;
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url)?).context("connecting to the benchmark database")?;
    let mut out = BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?);
    writeln!(out, "tweet_id,text,created_at_ms,language")?;
    let rows = conn.query_iter("SELECT tweet_id, tweet, created_at_ms, language FROM tweets")?;
    for row in rows {
        let (id, text, at, language): (i64, Option<String>, i64, Option<String>) = mysql::from_row_opt(row?)?;
        let quoted = |field: Option<String>| format!("\"{}\"", field.unwrap_or_default().replace('"', "\"\""));
        writeln!(out, "{id},{},{at},{}", quoted(text), quoted(language))?;
    }
    out.flush()?;
    println!("exported {tweets} tweets to {}", path.display());
    Ok(())
}

/// The share of the batch layer's top-hashtag rows for `specs` that Spark's rows in `top` match.
fn agreement(url: &str, top: &Path, specs: &[WindowSpec]) -> Result<f64> {
    let text = std::fs::read_to_string(top).with_context(|| format!("reading {}", top.display()))?;
    let mut spark = BTreeMap::new();
    for line in text.lines() {
        let row: SparkRow = serde_json::from_str(line).context("a row of Spark's top hashtags")?;
        spark.insert((row.length_ms, row.end_ms, row.rank), (row.hashtag, row.count));
    }
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url)?).context("connecting to the benchmark database")?;
    let (mut rows, mut alike) = (0u64, 0u64);
    for spec in specs {
        let stored: Vec<(u64, u64, String, u64)> = conn.exec(
            "SELECT window_end_ms, position, hashtag, count FROM view_top_hashtags \
             WHERE layer = 'batch' AND window_spec = ?",
            (spec.to_string(),),
        )?;
        for (end, position, hashtag, count) in stored {
            rows += 1;
            let same = spark.get(&(spec.length_ms(), end, position)) == Some(&(hashtag, count));
            alike += u64::from(same);
        }
    }
    Ok(alike as f64 / rows.max(1) as f64)
}
