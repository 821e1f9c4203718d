//! Change capture's latency: from a row inserted into MySQL to the rankings that count it,
//! through the binary log, `produce --follow`, the broker and `stream`; at each offered rate of
//! inserts.
//!
//! An inserter in this process writes generated tweets into `tweets` open loop: each row is due
//! at its moment by the rate, and rows due in the same 5 ms go in one multi-row `INSERT` (one
//! commit), as an application writing a few thousand rows a second would batch them. Each row
//! carries the moment it was due as its `date_time`, and the seed's columns only, so the follower
//! fills in its event time as it does for the seed's application. `stream --latency-report`
//! (lateness 0, no archive) measures each tweet from that moment to its rankings published:
//! insert, commit, binary log, follower, broker, consumer and graph.
//!
//! Beside it, at each rate:
//! * **the follower's own share**, from the moment a row was due to the moment the follower
//!   handed it to the broker (the Kafka record's timestamp, set by the follower's producer): the
//!   insert's commit, the binary log, reading, filling in the event time and sending;
//! * **the broker alone** (`trendflow_bench::broker_baseline`): the same rate of tweets produced
//!   and consumed by plain librdkafka clients, with no MySQL and no trendflow in it;
//! * the processor time the follower and the stream used, in cores.
//!
//! Results go to `bench/results/capture.json`.
//!
//! ```sh
//! scripts/mysql.sh && scripts/kafka.sh && cargo build --release
//! cargo run --release -p trendflow-bench --bin capture -- --rates 1000,5000
//! ```

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use hdrhistogram::Histogram;
use mysql::prelude::Queryable;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;
use serde_json::Value;
use trendflow::harness::latency::new_histogram;
use trendflow::harness::latency::report::{LatencyReport, LatencySummary};
use trendflow::kafka::Topic;
use trendflow::source::generator::{Generator, GeneratorConfig};
use trendflow::source::seed_tweet::SeedTweet;
use trendflow::time::{format_utc_date_time, wall_clock_us};
use trendflow_bench::broker_baseline::{round_trip, Load};
use trendflow_bench::services::{Run, ServiceArgs, Services};
use trendflow_bench::{machine, wait_measured, write_results, ReportFile};

#[derive(Parser, Debug)]
#[command(about = "Change capture's latency, from an insert into MySQL to the rankings that count it")]
struct Args {
    /// Offered rates, in inserted rows per second.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000.0, 5_000.0])]
    rates: Vec<f64>,
    /// Seconds each rate is measured, after the warm-up.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds each rate runs before measuring.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    #[command(flatten)]
    services: ServiceArgs,
}

/// How often the inserter writes the rows due by then, in one `INSERT`.
const INSERT_EVERY: Duration = Duration::from_millis(5);

#[derive(Serialize)]
struct Results {
    benchmark: &'static str,
    machine: Value,
    seconds: u64,
    warmup_seconds: u64,
    tick_ms: u64,
    rates: Vec<RateResult>,
}

#[derive(Serialize)]
struct RateResult {
    inserts_per_second: f64,
    /// The rate the inserter kept: rows inserted over the seconds it took.
    inserted_per_second: f64,
    /// From a row's due moment to every ranking counting it published.
    insert_to_ranking: LatencySummary,
    /// From a row's due moment to the follower handing it to the broker.
    follower_share: LatencySummary,
    /// The same rate of tweets through the broker alone.
    broker_alone: LatencySummary,
    follower_cores: f64,
    stream_cores: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut services = args.services.connect()?;
    let mut rates = Vec::new();
    for &rate in &args.rates {
        let result = measure(&mut services, &args, rate)?;
        println!(
            "{rate:>6} inserts/s: insert to ranking p50 {:.1} ms, p99 {:.1} ms; follower's share p50 {:.1} ms, \
             p99 {:.1} ms; broker alone p99 {:.1} ms; follower {:.2} cores, stream {:.2} cores",
            result.insert_to_ranking.p50_ms,
            result.insert_to_ranking.p99_ms,
            result.follower_share.p50_ms,
            result.follower_share.p99_ms,
            result.broker_alone.p99_ms,
            result.follower_cores,
            result.stream_cores
        );
        rates.push(result);
    }
    let results = Results {
        benchmark: "change capture: insert to ranking",
        machine: machine(),
        seconds: args.seconds,
        warmup_seconds: args.warmup,
        tick_ms: TICK_MS,
        rates,
    };
    let path = write_results("capture", &results)?;
    println!("results: {}", path.display());
    Ok(())
}

/// The stream's tick: how often rankings are recomputed, in event time.
const TICK_MS: u64 = 10;

fn measure(services: &mut Services, args: &Args, rate: f64) -> Result<RateResult> {
    let run = services.fresh(&format!("capture{}", rate as u64), 1)?;
    let follower_report = ReportFile::new("follower");
    let stream_report = ReportFile::new("stream");
    let started = Instant::now();
    let follower = spawn(follower_report.pass_to(&mut run.command(&["produce", "--follow", "--skip-snapshot"])))?;
    let stream_started = Instant::now();
    let tick = format!("{TICK_MS}ms");
    let warmup = format!("{}s", args.warmup);
    let report = stream_report.path().to_str().context("a temporary path that is not UTF-8")?;
    let stream = spawn(&mut run.command(&[
        "stream",
        "--tick",
        &tick,
        "--lateness",
        "0s",
        "--no-archive",
        "--until-idle",
        "10",
        "--latency-report",
        report,
        "--latency-warmup",
        &warmup,
    ]))?;
    wait_until_following(&run)?;
    let inserted = insert(&run, rate, Duration::from_secs(args.warmup + args.seconds))?;
    let stream = wait_measured(stream, stream_started, "the stream")?;
    terminate(&follower)?;
    let follower = wait_measured(follower, started, "the follower")?;
    let latencies = stream_report.written::<LatencyReport>()?.latencies().context("the stream's latency report")?;
    if latencies.emitted.is_empty() {
        bail!("the stream measured no tweets at {rate} inserts/s");
    }
    let follower_share = follower_share(&run, inserted.rows, args.warmup)?;
    let baseline = services.fresh(&format!("capturebroker{}", rate as u64), 1)?;
    let (warmup, measure) = (Duration::from_secs(args.warmup), Duration::from_secs(args.seconds));
    let broker_alone = round_trip(&baseline.kafka()?, rate, warmup, measure, Load::Tweets)?;
    Ok(RateResult {
        inserts_per_second: rate,
        inserted_per_second: inserted.rows as f64 / inserted.took.as_secs_f64(),
        insert_to_ranking: LatencySummary::of(&latencies.emitted),
        follower_share: LatencySummary::of(&follower_share),
        broker_alone: LatencySummary::of(&broker_alone),
        follower_cores: follower.cpu.as_secs_f64() / follower.wall.as_secs_f64(),
        stream_cores: stream.cpu.as_secs_f64() / stream.wall.as_secs_f64(),
    })
}

fn spawn(command: &mut std::process::Command) -> Result<Child> {
    command.stdout(Stdio::piped()).spawn().with_context(|| format!("starting {command:?}"))
}

fn terminate(child: &Child) -> Result<()> {
    // SAFETY: signals our own child, which has not been waited for.
    if unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) } != 0 {
        bail!("stopping the follower: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// Waits until the follower reads the binary log: its position is stored once it has.
fn wait_until_following(run: &Run) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut conn = run.mysql()?;
    loop {
        let stored: Option<u64> = conn.query_first("SELECT COUNT(*) FROM capture_positions")?;
        if stored.unwrap_or(0) > 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the follower did not start following within a minute");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What the inserter did.
struct Inserted {
    rows: u64,
    took: Duration,
}

/// Inserts generated tweets at `rate` for `duration`, open loop, each stamped with the moment it
/// was due.
fn insert(run: &Run, rate: f64, duration: Duration) -> Result<Inserted> {
    let rows = (duration.as_secs_f64() * rate) as u64;
    let generator = Generator::new(GeneratorConfig { tweets: rows, ..GeneratorConfig::default() })
        .map_err(|e| anyhow::anyhow!("invalid generator settings: {e}"))?;
    let mut conn = run.mysql()?;
    let started = Instant::now();
    let started_us = wall_clock_us();
    let mut tweets = generator.share(0, 1).enumerate().peekable();
    let mut next_insert = Duration::ZERO;
    while tweets.peek().is_some() {
        if let Some(ahead) = next_insert.checked_sub(started.elapsed()) {
            std::thread::sleep(ahead);
        }
        next_insert += INSERT_EVERY;
        // Every row due by now: none goes in before its moment, and a late one counts as late.
        let now = started.elapsed();
        let mut values: Vec<mysql::Value> = Vec::new();
        while let Some((index, _)) = tweets.peek() {
            let due = Duration::from_secs_f64(*index as f64 / rate);
            if due > now {
                break;
            }
            let (_, tweet) = tweets.next().context("a tweet peeked at")?;
            let due_ms = (started_us + due.as_micros() as u64) / 1_000;
            values.extend([tweet.id.into(), tweet.text.into(), format_utc_date_time(due_ms).into(), tweet.lang.into()]);
        }
        if !values.is_empty() {
            let rows = vec!["(?, ?, ?, ?)"; values.len() / 4].join(", ");
            conn.exec_drop(format!("INSERT INTO tweets (tweet_id, tweet, date_time, language) VALUES {rows}"), values)
                .context("inserting tweets")?;
        }
    }
    Ok(Inserted { rows, took: started.elapsed() })
}

/// From each row's due moment to the follower handing it to the broker, for the rows due after
/// the warm-up, read back from the tweets topic.
fn follower_share(run: &Run, rows: u64, warmup_seconds: u64) -> Result<Histogram<u64>> {
    let kafka = run.kafka()?;
    let consumer: BaseConsumer = kafka.consumer()?;
    let topic = kafka.topic(Topic::Tweets);
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(&topic, 0, Offset::Beginning).context("assigning the tweets topic")?;
    consumer.assign(&assignment).context("reading the tweets topic")?;
    let mut share = new_histogram();
    let mut first_due: Option<u64> = None;
    let mut read = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while read < rows {
        if Instant::now() > deadline {
            bail!("read {read} of {rows} tweets back from the topic in two minutes");
        }
        let message = match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => message,
            Some(Err(KafkaError::PartitionEOF(_))) | None => continue,
            Some(Err(error)) => bail!("reading the tweets topic: {error}"),
        };
        read += 1;
        let row: SeedTweet = serde_json::from_slice(message.payload().unwrap_or_default())?;
        let tweet = row.into_tweet().map_err(|e| anyhow::anyhow!("a followed tweet that is not valid: {e}"))?;
        let due = *first_due.get_or_insert(tweet.created_at);
        let sent_ms = message.timestamp().to_millis().context("a record without a timestamp")?;
        if tweet.created_at >= due + warmup_seconds * 1_000 {
            let micros = (sent_ms as u64).saturating_sub(tweet.created_at) * 1_000;
            share.record(micros).context("recording a latency")?;
        }
    }
    Ok(share)
}
