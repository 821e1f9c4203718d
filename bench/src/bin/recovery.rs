//! Recovery time of the speed layer: how long a stream stopped with a horizon of windows still
//! open takes, once restarted, to rebuild them from its stored positions and read live again.
//!
//! `produce` writes `--minutes` of event time at `--event-rate` tweets a second into the broker; a
//! first `stream` reads it all (its report, `--report`, gains the start's figures once it has
//! reached the end of every partition) and is stopped by SIGTERM, which stores positions a
//! horizon (plus the lateness) behind the end. Then, `--runs` times, the stream is restarted,
//! waited for until its report says how its start went, and stopped again the same way (so every
//! run replays the same horizon). From each start:
//!
//! * **process start**: from spawning the process to its job starting;
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

use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Value};
use trendflow::time::wall_clock_us;
use trendflow::vocabulary::report::stream::{StartReport, StreamReport};
use trendflow_bench::services::{wait, Run, ServiceArgs};
use trendflow_bench::{machine, median, write_results, ReportFile};

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
    println!("first run: {}", first.started);
    let mut starts = Vec::new();
    for index in 1..=args.runs {
        let start = start_and_stop(&run, &args)?;
        if !start.resumed {
            bail!("restart {index} did not resume from stored positions: {}", start.started);
        }
        println!("restart {index}: process start {} ms; {}", start.process_start_ms, start.started);
        starts.push(start);
    }

    let median_of = |figure: fn(&Start) -> u64| median(starts.iter().map(|start| figure(start) as f64).collect());
    let medians = json!({
        "process_start_ms": median_of(|start| start.process_start_ms),
        "replayed_messages": median_of(|start| start.started.replayed_messages),
        "mysql_ms": median_of(|start| start.started.mysql_ms),
        "broker_ms": median_of(|start| start.started.broker_ms),
        "sinks_ms": median_of(|start| start.started.sinks_ms),
        "workers_ms": median_of(|start| start.started.workers_ms),
        "replayed_ms": median_of(|start| start.started.replayed_ms),
        "caught_up_ms": median_of(|start| start.started.caught_up_ms),
    });
    let total = median_of(|start| start.process_start_ms) + median_of(|start| start.started.caught_up_ms);
    println!("median restart to caught up: {total:.0} ms ({medians})");
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
        "runs": starts
            .iter()
            .map(|start| json!({"started": start.started, "process_start_ms": start.process_start_ms}))
            .collect::<Vec<Value>>(),
    });
    let path = write_results("recovery", &results)?;
    println!("results in {}", path.display());
    Ok(())
}

/// One start of the stream, as measured.
struct Start {
    started: StartReport,
    /// Whether it resumed from stored positions.
    resumed: bool,
    /// From spawning the process to its job starting.
    process_start_ms: u64,
}

/// How often the report is looked at while the stream starts: a bound on how late it is stopped.
const REPORT_POLL: Duration = Duration::from_millis(10);

/// Starts the stream, waits until its report has the start's figures, and stops it with SIGTERM.
fn start_and_stop(run: &Run, args: &Args) -> Result<Start> {
    let workers = args.workers.to_string();
    let report = ReportFile::new("recovery");
    let spawned_at_us = wall_clock_us();
    let mut child = report
        .pass_to(&mut run.command(&["stream", "--window", &args.window, "-w", &workers]))
        .stdout(Stdio::null())
        .spawn()
        .context("starting the stream")?;
    while report.read::<StreamReport>()?.and_then(|report| report.started).is_none() {
        if let Some(status) = child.try_wait().context("watching the stream")? {
            bail!("the stream ended ({status}) before it caught up");
        }
        std::thread::sleep(REPORT_POLL);
    }
    // SAFETY: signals our own child process, which has not been reaped yet.
    if unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) } != 0 {
        bail!("stopping the stream: {}", std::io::Error::last_os_error());
    }
    wait(child)?;
    let StreamReport { started: Some(started), run: Some(ended) } = report.written()? else {
        bail!("the stream's report lacks its start or its run")
    };
    if !ended.stopped_by_signal {
        bail!("the stream did not stop as asked: {ended}");
    }
    let process_start_ms = started.job_started_at_us.saturating_sub(spawned_at_us) / 1_000;
    Ok(Start { resumed: !ended.resumed_from.is_empty(), process_start_ms, started })
}
