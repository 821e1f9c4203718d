//! Recovery time of the speed layer: how long a stream stopped with a horizon of windows still
//! open takes, once restarted, to rebuild them from its stored positions and read live again.
//!
//! `produce` writes `--minutes` of event time at `--event-rate` tweets a second into the broker; a
//! first `stream` reads it all (the `started:` line says it reached the end of every partition)
//! and is stopped by SIGTERM, which stores positions a horizon (plus the lateness) behind the end.
//! Then, `--runs` times, the stream is restarted, waited for until it prints how its start went,
//! and stopped again the same way (so every run replays the same horizon). From each start:
//!
//! * **process start**: from spawning the process to its job starting (the rest of the time
//!   between the spawn and the `started:` line, beyond what the job measured itself);
//! * **MySQL**: connecting, checking the schema, loading the stored positions;
//! * **broker**: the topic's metadata, and checking that the broker still has the stored offsets;
//! * **sinks**: the view writer and the rankings' producer;
//! * **workers reading**: timely's workers started, each with its consumer, producer and archive;
//! * **horizon replayed**: every message the stopped run had handled read again, into the graph only;
//! * **caught up**: every partition read to the end the broker had.
//!
//! ```sh
//! scripts/mysql.sh && scripts/kafka.sh
//! cargo build --release && cargo run --release -p trendflow-bench --bin recovery
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use serde_json::{json, Map, Value};
use trendflow_bench::services::{wait, Run, ServiceArgs};
use trendflow_bench::{machine, median, write_results};

#[derive(Parser, Debug)]
#[command(about = "Restart-to-caught-up time of the speed layer through a real broker")]
struct Args {
    /// Event-time tweets per second.
    #[arg(long, default_value_t = 100)]
    event_rate: u64,
    /// Minutes of event time produced before the first stop.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// The stream's window spec: its length is the horizon a restart rebuilds.
    #[arg(long, default_value = "5m/1m")]
    window: String,
    /// Restarts measured.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Timely workers of the stream.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Partitions of the tweets topic.
    #[arg(long, default_value_t = 2)]
    partitions: u32,
    #[command(flatten)]
    services: ServiceArgs,
}

/// The stream's steps, as its `started:` line names them, and the names the results use.
const STEPS: [(&str, &str); 6] = [
    ("MySQL", "mysql_ms"),
    ("broker", "broker_ms"),
    ("sinks", "sinks_ms"),
    ("workers reading", "workers_ms"),
    ("messages replayed", "replayed_ms"),
    ("caught up", "caught_up_ms"),
];

fn main() -> Result<()> {
    let args = Args::parse();
    let machine = machine();
    let mut services = args.services.connect()?;
    let run = services.fresh("recovery", args.partitions)?;
    let tweets = args.event_rate * args.minutes * 60;
    run.succeed(&[
        "produce",
        "--from",
        "generator",
        "--tweets",
        &tweets.to_string(),
        "--event-rate",
        &args.event_rate.to_string(),
    ])?;
    println!("produced {tweets} tweets: {} min of event time at {} tweets/s", args.minutes, args.event_rate);

    let first = start_and_stop(&run, &args)?;
    println!("first run: {}", first.line);
    let mut starts = Vec::new();
    for index in 1..=args.runs {
        let start = start_and_stop(&run, &args)?;
        if !start.resumed {
            bail!("restart {index} did not resume from stored positions: {}", start.line);
        }
        println!("restart {index}: process start {} ms; {}", start.process_start_ms, start.line);
        starts.push(start);
    }

    let medians: Map<String, Value> = ["process_start_ms", "replayed_messages"]
        .into_iter()
        .chain(STEPS.iter().map(|(_, key)| *key))
        .map(|key| {
            let values = starts.iter().map(|start| start.figures[key].as_f64().unwrap_or(f64::NAN)).collect();
            (key.to_string(), json!(median(values)))
        })
        .collect();
    let total = medians["process_start_ms"].as_f64().unwrap_or(0.0) + medians["caught_up_ms"].as_f64().unwrap_or(0.0);
    println!("median restart to caught up: {total:.0} ms ({medians:?})");
    let results = json!({
        "scenario": format!(
            "restart of `stream --window {} -w {}` stopped by SIGTERM after {} min of {} tweets/s in {} partitions \
             (archive on): it replays one horizon and reads to the end",
            args.window, args.workers, args.minutes, args.event_rate, args.partitions
        ),
        "command": "cargo run --release -p trendflow-bench --bin recovery",
        "machine": machine,
        "median": medians,
        "median_restart_to_caught_up_ms": total,
        "runs": starts.iter().map(|start| json!({"line": start.line, "figures": start.figures})).collect::<Vec<_>>(),
    });
    let path = write_results("recovery", &results)?;
    println!("results in {}", path.display());
    Ok(())
}

/// One start of the stream, as measured.
struct Start {
    line: String,
    resumed: bool,
    process_start_ms: f64,
    figures: Map<String, Value>,
}

/// Starts the stream, waits for its `started:` line, and stops it with SIGTERM.
fn start_and_stop(run: &Run, args: &Args) -> Result<Start> {
    let workers = args.workers.to_string();
    let spawned = Instant::now();
    let mut child = run
        .command(&["stream", "--window", &args.window, "-w", &workers])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the stream")?;
    let (line, resumed, seen) = read_until_started(&mut child, spawned)?;
    // SAFETY: signals our own child process, which has not been reaped yet.
    if unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) } != 0 {
        bail!("stopping the stream: {}", std::io::Error::last_os_error());
    }
    let summary = wait(child)?;
    if !summary.contains("stopped by signal") {
        bail!("the stream did not stop as asked: {summary}");
    }
    let mut figures = parse_started(&line)?;
    let caught_up = figures["caught_up_ms"].as_f64().unwrap_or(0.0);
    let process_start_ms = (seen.as_secs_f64() * 1000.0 - caught_up).max(0.0);
    figures.insert("process_start_ms".into(), json!(process_start_ms));
    Ok(Start { line, resumed, process_start_ms, figures })
}

/// Reads the stream's output until its `started:` line; returns that line, whether it resumed,
/// and when the line was read (since `spawned`).
fn read_until_started(child: &mut Child, spawned: Instant) -> Result<(String, bool, Duration)> {
    let stdout = child.stdout.as_mut().ok_or_else(|| anyhow!("the stream's output is not piped"))?;
    let mut resumed = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading the stream's output")?;
        resumed |= line.contains("resuming from stored positions");
        if let Some(started) = line.strip_prefix("started: ") {
            return Ok((started.to_string(), resumed, spawned.elapsed()));
        }
    }
    bail!("the stream ended before it caught up")
}

/// The figures of a `started:` line: `MySQL 31 ms, ..., 30123 messages replayed 700 ms, caught up 900 ms`.
fn parse_started(line: &str) -> Result<Map<String, Value>> {
    let mut figures = Map::new();
    for part in line.split(", ") {
        let words: Vec<&str> = part.split(' ').collect();
        let [label @ .., millis, "ms"] = words.as_slice() else { bail!("unexpected step {part:?} in {line:?}") };
        let millis: f64 = millis.parse().with_context(|| format!("the time of {part:?}"))?;
        let mut label = label.join(" ");
        if let Some(count) = label.strip_suffix(" messages replayed") {
            figures.insert("replayed_messages".into(), json!(count.parse::<f64>().context("the replayed count")?));
            label = "messages replayed".into();
        }
        let (_, key) = STEPS
            .iter()
            .find(|(name, _)| *name == label)
            .ok_or_else(|| anyhow!("unknown step {label:?} in {line:?}"))?;
        figures.insert(key.to_string(), json!(millis));
    }
    if figures.len() != STEPS.len() + 1 {
        bail!("the started line lacks a step: {line:?}");
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_line_gives_every_step() {
        let figures = parse_started(
            "MySQL 31 ms, broker 52 ms, sinks 60 ms, workers reading 70 ms, 30123 messages replayed 700 ms, caught up 900 ms",
        )
        .unwrap();
        assert_eq!(figures["replayed_messages"], json!(30123.0));
        assert_eq!(figures["workers_ms"], json!(70.0));
        assert_eq!(figures["caught_up_ms"], json!(900.0));
        assert!(parse_started("MySQL 31 ms").is_err(), "a line without every step is an error");
    }
}
