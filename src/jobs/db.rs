//! `trendflow db`: create the schema, load tweets from files, generate tweets into MySQL.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use trendflow_dataflows::window::parse_duration;

use crate::jobs::report::ReportArgs;
use crate::limits::{check_hashtag_row, DEFAULT_MAX_EVENT_AHEAD};
use crate::mysql::schema::init;
use crate::mysql::MysqlArgs;
use crate::mysql::{FirstWrites, SeedRowWriter, StoredTweet, TweetWriter};
use crate::source::files::{self, Contents};
use crate::source::formats::{Format, Parsed};
use crate::source::generator::{Generator, GeneratorConfig};
use crate::source::seed_dump::{DumpReader, DumpRow};
use crate::source::seed_tweet::{Ingestion, RowError, SeedTweet};
use crate::time::wall_clock_ms;
use crate::vocabulary::rejection::Reason;
use crate::vocabulary::report::db::{GenerateReport, LeftOut, LoadReport};
use crate::vocabulary::report::per_second;

#[derive(Subcommand, Debug, Clone)]
pub enum DbCommand {
    /// Create the database and schema, or bring them up to date; safe to repeat.
    Init(DbArgs),
    /// Load tweets from the seed's SQL dump (.sql), CSV with the seed's columns (.csv), or JSON
    /// lines (.jsonl, .ndjson) of the seed's rows, Twitter v1.1 or v2 tweets or Bluesky Jetstream
    /// events; plain or compressed (.gz, .bz2, .zst). A tweet stored already keeps its values
    /// (first write wins): a copy with the same values changes nothing, one with other values is
    /// left out and reported.
    Load(LoadArgs),
    /// Generate tweets into MySQL, hashtags and tweet_hashtags included; tweets stored already
    /// keep their values, as with `load`.
    Generate(GenerateArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    #[command(flatten)]
    pub mysql: MysqlArgs,
}

#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// The file to load.
    pub file: PathBuf,
    /// Reject a tweet whose event time is more than this ahead of the load's start, as `stream`
    /// dead-letters one this far ahead of its Kafka record.
    #[arg(long = "max-event-ahead", default_value = DEFAULT_MAX_EVENT_AHEAD, value_parser = parse_duration, value_name = "DURATION")]
    pub max_event_ahead: u64,
    /// The shape of JSON lines' records: the seed's rows, Twitter v1.1 or v2 tweets, Bluesky
    /// Jetstream events, or told per record from its fields.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    #[command(flatten)]
    pub mysql: MysqlArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// How many tweets.
    #[arg(long, default_value_t = 1_000_000)]
    pub tweets: u64,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Event-time rate, tweets per second.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    #[command(flatten)]
    pub mysql: MysqlArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Rows written per transaction.
const CHUNK: usize = 5_000;

pub fn run(command: DbCommand) -> Result<()> {
    match command {
        DbCommand::Init(args) => {
            let config = args.mysql.config()?;
            let report = init(&config)?;
            println!("schema ready in {config}; event times filled in for {} tweets", report.event_times_filled);
            if report.streams_renamed > 0 {
                println!(
                    "stored positions carried over to this version's names of their views: {} streams",
                    report.streams_renamed
                );
            }
            if report.unreadable_count > 0 {
                println!(
                    "{} tweets have an unreadable date_time and stay out of the views, e.g.:",
                    report.unreadable_count
                );
                report.unreadable.iter().for_each(|reason| println!("  {reason}"));
            }
            Ok(())
        }
        DbCommand::Load(args) => load(&args),
        DbCommand::Generate(args) => generate(&args),
    }
}

/// Notes in `left_out` what a write found stored already; returns how many tweets it stored or
/// found stored with their values.
fn note_written(left_out: &mut LeftOut, written: FirstWrites) -> u64 {
    left_out.unchanged += written.unchanged;
    written.conflicts.iter().for_each(|conflict| left_out.conflict(&conflict.reason));
    written.kept()
}

fn progress_bar(len: u64, unit: &str) -> Result<ProgressBar> {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!("[{{bar:30}}] {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}"))
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    Ok(bar)
}

fn load(args: &LoadArgs) -> Result<()> {
    let config = args.mysql.config()?;
    crate::mysql::schema::check_schema(&config)?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let progress = progress_bar(size, "bytes")?;
    let bar = progress.clone();
    let file = files::open(&args.file, move |file| Box::new(bar.wrap_read(file)))?;
    let started = Instant::now();
    let ingestion = Ingestion { at: wall_clock_ms(), max_event_ahead_ms: args.max_event_ahead };
    let mut left_out = LeftOut::default();
    let loaded = match file.contents {
        Contents::Dump => load_dump(file.reader, &config, ingestion, &mut left_out)?,
        _ => load_records(file.records(args.format), &config, ingestion, &mut left_out)?,
    };
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let report = LoadReport {
        loaded,
        target: config.to_string(),
        seconds,
        rows_per_second: per_second(loaded, seconds),
        left_out,
    };
    args.report.publish("", &report)
}

/// CSV and JSON lines: hashtags come from extraction, as for every stream source.
fn load_records(
    records: impl Iterator<Item = Result<Parsed, Reason>>,
    config: &crate::mysql::MysqlConfig,
    ingestion: Ingestion,
    left_out: &mut LeftOut,
) -> Result<u64> {
    let mut writer = TweetWriter::new(config)?;
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut loaded = 0;
    for record in records {
        match record {
            Ok(Parsed::Rows(rows)) => {
                for row in rows {
                    match stored(row, ingestion) {
                        Ok(tweet) => chunk.push(tweet),
                        Err(reason) => left_out.rejected(reason.into()),
                    }
                }
            }
            Ok(Parsed::Skipped(what)) => left_out.skipped(what),
            Err(reason) => left_out.rejected(reason),
        }
        if chunk.len() >= CHUNK {
            loaded += note_written(left_out, writer.write(std::mem::take(&mut chunk))?);
        }
    }
    loaded += note_written(left_out, writer.write(chunk)?);
    Ok(loaded)
}

/// The row as stored, if it keeps the input rules ([`crate::limits`]).
fn stored(row: SeedTweet, ingestion: Ingestion) -> Result<StoredTweet, RowError> {
    let date_time = row.date_time.clone().unwrap_or_default();
    row.ingest(ingestion).map(|tweet| StoredTweet::new(tweet, date_time, ingestion.at))
}

/// The seed's dump: its hashtags and tweet_hashtags are Twitter's entities and load as they are.
/// A hashtag too long for its column is rejected, and with it the links to it.
fn load_dump(
    input: impl BufRead,
    config: &crate::mysql::MysqlConfig,
    ingestion: Ingestion,
    left_out: &mut LeftOut,
) -> Result<u64> {
    let mut writer = SeedRowWriter::new(config)?;
    let (mut tags, mut tweets, mut links) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rejected_ids, mut rejected_tags) = (HashSet::new(), HashSet::new());
    let mut loaded = 0;
    for row in DumpReader::new(input) {
        match row.map_err(|e| anyhow!(e))? {
            DumpRow::Hashtag { hashtag_id, hashtag } => match check_hashtag_row(hashtag_id, &hashtag) {
                Ok(()) => tags.push((hashtag_id, hashtag)),
                Err(misfit) => {
                    rejected_tags.insert(hashtag_id);
                    left_out.rejected(Reason::from(misfit).at(format!("hashtag {hashtag_id}")));
                }
            },
            DumpRow::Tweet(row) => {
                let id = row.tweet_id;
                match stored(row, ingestion) {
                    Ok(tweet) => tweets.push(tweet),
                    Err(reason) => {
                        rejected_ids.insert(id);
                        left_out.rejected(reason.into());
                    }
                }
            }
            DumpRow::TweetHashtag { tweet_id, hashtag_id, count }
                if !rejected_ids.contains(&tweet_id) && !rejected_tags.contains(&hashtag_id) =>
            {
                links.push((tweet_id, hashtag_id, count))
            }
            DumpRow::TweetHashtag { .. } => {}
        }
        if tags.len() + tweets.len() + links.len() >= CHUNK {
            loaded += flush_dump_rows(&mut writer, &mut tags, &mut tweets, &mut links, &mut rejected_ids, left_out)?;
        }
    }
    loaded += flush_dump_rows(&mut writer, &mut tags, &mut tweets, &mut links, &mut rejected_ids, left_out)?;
    Ok(loaded)
}

/// Writes buffered dump rows in the order the foreign keys need — hashtags, tweets, then the
/// links between them — and returns how many tweets went in or were stored with their values. A
/// tweet stored with other values keeps its links too: its id joins `rejected_ids`.
fn flush_dump_rows(
    writer: &mut SeedRowWriter,
    tags: &mut Vec<(u64, String)>,
    tweets: &mut Vec<StoredTweet>,
    links: &mut Vec<(u64, u64, u32)>,
    rejected_ids: &mut HashSet<u64>,
    left_out: &mut LeftOut,
) -> Result<u64> {
    writer.write_hashtags(std::mem::take(tags))?;
    let written = writer.write_tweets(std::mem::take(tweets))?;
    rejected_ids.extend(written.conflicts.iter().map(|conflict| conflict.tweet_id));
    links.retain(|(tweet_id, _, _)| !rejected_ids.contains(tweet_id));
    writer.write_links(std::mem::take(links))?;
    Ok(note_written(left_out, written))
}

fn generate(args: &GenerateArgs) -> Result<()> {
    let config = args.mysql.config()?;
    crate::mysql::schema::check_schema(&config)?;
    let generator = Generator::new(GeneratorConfig {
        seed: args.seed,
        tweets: args.tweets,
        rate_per_sec: args.rate,
        ..GeneratorConfig::default()
    })
    .map_err(|e| anyhow!("invalid generator settings: {e}"))?;
    let mut writer = TweetWriter::new(&config)?;
    let progress = progress_bar(args.tweets, "tweets")?;
    let started = Instant::now();
    let mut chunk = Vec::with_capacity(CHUNK);
    let ingested_at = wall_clock_ms();
    // Another seed's or rate's tweets may reuse ids stored already: those stay as stored.
    let mut written = FirstWrites::default();
    for tweet in generator.share(0, 1) {
        chunk.push(StoredTweet::with_utc_date(tweet, ingested_at));
        if chunk.len() == CHUNK {
            progress.inc(CHUNK as u64);
            written.add(writer.write(std::mem::take(&mut chunk))?);
        }
    }
    written.add(writer.write(chunk)?);
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let mut left_out = LeftOut::default();
    note_written(&mut left_out, written);
    let report = GenerateReport {
        generated: args.tweets,
        target: config.to_string(),
        seconds,
        tweets_per_second: per_second(args.tweets, seconds),
        left_out,
    };
    args.report.publish("", &report)
}
