//! `trendflow produce`: replays tweets into the `tweets` topic, from MySQL or the generator,
//! paced against event time or at a fixed rate, as the seed's producer did; with `--follow`, goes
//! on to follow MySQL's changes to the tweets table ([`follow`]).

mod follow;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use trendflow_dataflows::EventTime;

use crate::harness::signal::stop_flag;
use crate::jobs::report::ReportArgs;
use crate::kafka::producer::KafkaSink;
use crate::kafka::{KafkaArgs, Topic};
use crate::mysql::history::for_each_stored_row;
use crate::mysql::MysqlArgs;
use crate::source::files;
use crate::source::formats::{Format, Parsed};
use crate::source::generator::{Generator, GeneratorConfig};
use crate::source::seed_tweet::SeedTweet;
use crate::time::{format_utc_date_time, wall_clock_us};
use crate::vocabulary::report::per_second;
use crate::vocabulary::report::produce::ProduceReport;

/// Where `produce` takes its tweets from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProduceSource {
    /// The tweets table, in event-time order.
    Mysql,
    /// The generator (`--tweets`, `--seed`).
    Generator,
    /// A tweet file (see `db load`), in the file's order.
    File(PathBuf),
}

impl std::str::FromStr for ProduceSource {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "mysql" => Ok(ProduceSource::Mysql),
            "generator" => Ok(ProduceSource::Generator),
            "" => Err("expected mysql, generator, or the path of a tweet file".into()),
            path => Ok(ProduceSource::File(PathBuf::from(path))),
        }
    }
}

/// Flags of `trendflow produce`.
#[derive(Args, Debug, Clone)]
pub struct ProduceArgs {
    /// Where the tweets come from: `mysql`, `generator`, or a tweet file of any format `db load`
    /// reads (`tweets.jsonl.gz`), sent as the seed's rows.
    #[arg(long, default_value = "mysql", value_name = "mysql|generator|FILE")]
    pub from: ProduceSource,
    /// With --from FILE: the shape of JSON lines' records (as for `db load`).
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Replay X times faster than the tweets' own event times (1 = real time).
    #[arg(long, value_name = "X", conflicts_with = "rate")]
    pub speedup: Option<f64>,
    /// Send N tweets per second. Without --speedup or --rate: as fast as the broker takes them.
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// With --from generator: how many tweets.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub tweets: u64,
    /// With --from generator: the generator's seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Send the tweets as happening now: stamp each with the wall-clock moment it is due (by
    /// --rate, or when it is sent) instead of its own event time. For live latency measurements
    /// (`stream --latency-report`): the delay from that moment to the rankings is end to end.
    /// Refused with --from mysql (the default): the stored tweets would go out again under their
    /// ids with other times, which the master dataset refuses as conflicts (first write wins);
    /// send new tweets live with --from generator, or replay history in real time with --speedup 1.
    #[arg(long, conflicts_with = "speedup")]
    pub live: bool,
    /// With --from generator: event-time rate of the generated tweets, per second.
    #[arg(long = "event-rate", default_value_t = 100.0, value_name = "TWEETS_PER_SEC")]
    pub event_rate: f64,
    #[command(flatten)]
    pub follow: FollowArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub mysql: MysqlArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Change capture's flags of `trendflow produce`.
#[derive(Args, Debug, Clone)]
pub struct FollowArgs {
    /// After the tweets stored now (a snapshot, paced as --speedup or --rate say), go on sending
    /// every tweet inserted into or updated in the tweets table, as MySQL's binary log tells,
    /// until stopped. Resumes from its stored position when there is one. Needs a server with a
    /// row-based binary log (scripts/mysql.sh sets one up) and the REPLICATION SLAVE privilege.
    #[arg(long)]
    pub follow: bool,
    /// With --follow and no stored position: send no snapshot, follow from the log's end now.
    #[arg(long, requires = "follow", conflicts_with = "resnapshot")]
    pub skip_snapshot: bool,
    /// With --follow: forget the stored position and start again from a new snapshot (the way
    /// back once the server has purged the log from the stored position).
    #[arg(long, requires = "follow")]
    pub resnapshot: bool,
    /// With --follow: the replica id to read the binary log as, unique among the server's
    /// replicas: the server drops an earlier reader with the same id. By default one made from
    /// the database and the topic, so that followers of others never meet, and a restarted
    /// follower replaces what is left of its predecessor.
    #[arg(long, value_name = "ID", requires = "follow")]
    pub server_id: Option<u32>,
}

/// When to send each tweet.
#[derive(Clone, Copy, Debug)]
enum Pace {
    AsFastAsPossible,
    Speedup(f64),
    Rate(f64),
}

impl Pace {
    /// The pace `--speedup` or `--rate` asks for; as fast as the broker takes tweets without either.
    fn of(speedup: Option<f64>, rate: Option<f64>) -> Result<Pace> {
        match (speedup, rate) {
            (Some(x), _) if !(x > 0.0 && x.is_finite()) => Err(anyhow!("--speedup must be a positive number")),
            (_, Some(n)) if !(n > 0.0 && n.is_finite()) => Err(anyhow!("--rate must be a positive number")),
            (Some(x), _) => Ok(Pace::Speedup(x)),
            (_, Some(n)) => Ok(Pace::Rate(n)),
            (None, None) => Ok(Pace::AsFastAsPossible),
        }
    }
}

/// Sleeps until a tweet is due: against its event time (relative to the first tweet's) for a
/// speedup, against its position for a rate.
struct Pacer {
    pace: Pace,
    started: Instant,
    started_wall_us: u64,
    first_event: Option<EventTime>,
    sent: u64,
}

impl Pacer {
    fn new(pace: Pace) -> Self {
        Pacer { pace, started: Instant::now(), started_wall_us: wall_clock_us(), first_event: None, sent: 0 }
    }

    /// Waits until the next tweet, of `event_time`, is due, and returns the wall-clock moment it
    /// was due, in milliseconds since the Unix epoch: its schedule, not the moment the wait ended,
    /// so that a producer falling behind shows as latency (see `stream --latency-report`).
    fn wait(&mut self, event_time: EventTime) -> EventTime {
        let due = match self.pace {
            Pace::AsFastAsPossible => None,
            Pace::Speedup(speedup) => {
                let first = *self.first_event.get_or_insert(event_time);
                Some(Duration::from_secs_f64(event_time.saturating_sub(first) as f64 / 1000.0 / speedup))
            }
            Pace::Rate(rate) => Some(Duration::from_secs_f64(self.sent as f64 / rate)),
        };
        self.sent += 1;
        let elapsed = self.started.elapsed();
        if let Some(ahead) = due.and_then(|due| due.checked_sub(elapsed)) {
            if ahead > Duration::from_millis(1) {
                std::thread::sleep(ahead);
            }
        }
        (self.started_wall_us + due.unwrap_or(elapsed).as_micros() as u64) / 1_000
    }
}

/// Why `--live` is refused with `--from mysql`: restamped, the stored tweets would rewrite history.
const LIVE_FROM_MYSQL: &str = "--live cannot replay --from mysql: it would send the stored tweets again under \
    their own ids, stamped now, and the master dataset keeps each tweet as first written (first write wins), so \
    the stream would dead-letter every one as a conflict. Send new tweets live with --from generator --live \
    (or a tweet file of new ids), or replay the stored tweets at their own times with --speedup 1";

/// Runs the producer and prints its summary; any message the broker refused fails the command.
pub fn run(args: ProduceArgs) -> Result<()> {
    // Sending stored tweets with new times under their ids would rewrite the master dataset's
    // history; sending them under new ids would make copies of them. Neither is a live stream.
    if args.live && args.from == ProduceSource::Mysql {
        return Err(anyhow!(LIVE_FROM_MYSQL));
    }
    let pace = Pace::of(args.speedup, args.rate)?;
    if args.follow.follow {
        return match (&args.from, args.live) {
            (ProduceSource::Mysql, false) => follow::run(&args, pace),
            _ => Err(anyhow!(
                "--follow follows MySQL's tweets table: it takes neither --from other than mysql, nor --live"
            )),
        };
    }
    let kafka = args.kafka.config()?;
    let topic = kafka.topic(Topic::Tweets);
    kafka.partition_count(&kafka.metadata_client()?, Topic::Tweets)?;
    let sink = KafkaSink::new(&kafka)?;
    let stop = stop_flag()?;
    let mut pacer = Pacer::new(pace);
    let progress = ProgressBar::no_length();
    progress.set_style(ProgressStyle::with_template("produce {pos} tweets, {per_sec}, {msg}")?);
    let mut skipped = 0u64;
    let mut send = |mut row: SeedTweet| -> Result<bool> {
        if stop.load(Ordering::Relaxed) {
            return Ok(false);
        }
        // Pacing needs the event time; a row without one is sent unpaced, for the stream job to
        // dead-letter with its reason.
        let event_time = row.clone().into_tweet().map(|tweet| tweet.created_at);
        match event_time {
            Ok(time) => {
                let due = pacer.wait(time);
                if args.live {
                    row.date_time = Some(format_utc_date_time(due));
                }
            }
            Err(_) => skipped += 1,
        }
        sink.send_row(&topic, &row)?;
        sink.poll();
        progress.inc(1);
        if progress.position() % 10_000 == 0 {
            let report = sink.report();
            progress.set_message(format!("{} confirmed, {} failed", report.delivered, report.failed));
        }
        Ok(true)
    };
    let (source, LeftOut { not_tweets, unreadable }) = read_source(&args, &mut send)?;
    progress.finish_and_clear();
    let sent = pacer.sent + skipped;
    let delivered = sink.flush()?;
    let seconds = pacer.started.elapsed().as_secs_f64();
    let report = ProduceReport {
        source,
        topic,
        sent,
        seconds,
        tweets_per_second: per_second(sent, seconds),
        confirmed: delivered.delivered,
        failed: delivered.failed,
        interrupted: stop.load(Ordering::Relaxed),
        not_tweets,
        unreadable,
        follow: None,
    };
    args.report.publish("", &report)?;
    Ok(())
}

/// With `--from FILE`: records that hold no tweet (deletion notices), and records not read.
#[derive(Default)]
struct LeftOut {
    not_tweets: u64,
    unreadable: u64,
}

/// Hands every tweet of the source `args` name to `send`, in order, until `send` says stop;
/// returns the source's name, and what a file held that was no tweet.
fn read_source(args: &ProduceArgs, send: &mut impl FnMut(SeedTweet) -> Result<bool>) -> Result<(String, LeftOut)> {
    let mut left_out = LeftOut::default();
    let source = match &args.from {
        ProduceSource::Mysql => {
            let mysql = args.mysql.config()?;
            for_each_stored_row(&mut mysql.connect()?, &mysql, &mut *send)?;
            format!("{mysql}")
        }
        ProduceSource::Generator => {
            let config = GeneratorConfig {
                seed: args.seed,
                tweets: args.tweets,
                rate_per_sec: args.event_rate,
                ..GeneratorConfig::default()
            };
            let generator = Generator::new(config).map_err(|e| anyhow!("invalid generator settings: {e}"))?;
            for tweet in generator.share(0, 1) {
                if !send(SeedTweet::from_tweet(tweet))? {
                    break;
                }
            }
            "the generator".to_string()
        }
        ProduceSource::File(path) => {
            let file = files::open(path, |file| Box::new(file))?;
            'records: for record in file.records(args.format) {
                match record {
                    Ok(Parsed::Rows(rows)) => {
                        for row in rows {
                            if !send(row)? {
                                break 'records;
                            }
                        }
                    }
                    Ok(Parsed::Skipped(_)) => left_out.not_tweets += 1,
                    Err(reason) => {
                        left_out.unreadable += 1;
                        log::warn!("{}: {reason}", path.display());
                    }
                }
            }
            path.display().to_string()
        }
    };
    Ok((source, left_out))
}
