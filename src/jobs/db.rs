//! `trendflow db`: create the schema, load tweets from files, generate tweets into MySQL.

use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use trendflow_dataflows::window::parse_duration;

use crate::db::{init, MysqlArgs};
use crate::limits::{check_hashtag_row, DEFAULT_MAX_EVENT_AHEAD};
use crate::sink::mysql::{FirstWrites, SeedRowWriter, StoredTweet, TweetWriter};
use crate::source::files::{self, Contents};
use crate::source::formats::{Format, Parsed};
use crate::source::generator::{Generator, GeneratorConfig};
use crate::source::seed_dump::{DumpReader, DumpRow};
use crate::source::seed_tweet::{Ingestion, RowError, SeedTweet};
use crate::time::wall_clock_ms;
use crate::vocabulary::rejection::Reason;

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
}

/// Rows written per transaction.
const CHUNK: usize = 5_000;

pub fn run(command: DbCommand) -> Result<()> {
    match command {
        DbCommand::Init(args) => {
            let config = args.mysql.config()?;
            let report = init(&config)?;
            println!("schema ready in {config}; event times filled in for {} tweets", report.event_times_filled);
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

/// Records rejected while loading, with the first reasons; those skipped (no tweet in them), by
/// what they were; and copies of stored tweets, by first write wins.
#[derive(Default)]
struct Rejections {
    count: u64,
    examples: Vec<String>,
    skipped: BTreeMap<String, u64>,
    /// Tweets found stored with the same values.
    unchanged: u64,
    /// Tweets found stored with other values, left as stored, with the first reasons.
    conflicts: u64,
    conflict_examples: Vec<String>,
}

impl Rejections {
    fn note(&mut self, reason: Reason) {
        self.count += 1;
        if self.examples.len() < 10 {
            self.examples.push(reason.to_string());
        }
    }

    fn skip(&mut self, what: String) {
        *self.skipped.entry(what).or_default() += 1;
    }

    /// Notes what a write found stored already; returns how many tweets it stored or found
    /// stored with their values.
    fn written(&mut self, written: FirstWrites) -> u64 {
        self.unchanged += written.unchanged;
        self.conflicts += written.conflicts.len() as u64;
        for conflict in written.conflicts {
            if self.conflict_examples.len() < 10 {
                self.conflict_examples.push(conflict.reason.to_string());
            }
        }
        written.stored + written.unchanged
    }

    fn report(&self) {
        if !self.skipped.is_empty() {
            let kinds: Vec<String> = self.skipped.iter().map(|(what, count)| format!("{count} {what}")).collect();
            println!("skipped {} records that hold no tweet: {}", self.skipped.values().sum::<u64>(), kinds.join(", "));
        }
        if self.count > 0 {
            println!("rejected {} rows, e.g.:", self.count);
            self.examples.iter().for_each(|reason| println!("  {reason}"));
        }
        if self.unchanged > 0 {
            println!("{} of the tweets were stored already with the same values", self.unchanged);
        }
        if self.conflicts > 0 {
            println!(
                "left {} tweets as stored: they are stored already with other values (first write wins), e.g.:",
                self.conflicts
            );
            self.conflict_examples.iter().for_each(|reason| println!("  {reason}"));
        }
    }
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
    crate::source::mysql::check_schema(&config)?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let progress = progress_bar(size, "bytes")?;
    let bar = progress.clone();
    let file = files::open(&args.file, move |file| Box::new(bar.wrap_read(file)))?;
    let started = Instant::now();
    let ingestion = Ingestion { at: wall_clock_ms(), max_event_ahead_ms: args.max_event_ahead };
    let mut rejected = Rejections::default();
    let loaded = match file.contents {
        Contents::Dump => load_dump(file.reader, &config, ingestion, &mut rejected)?,
        _ => load_records(file.records(args.format), &config, ingestion, &mut rejected)?,
    };
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "loaded {loaded} tweets into {config} in {seconds:.2} s ({:.0} rows/s)",
        loaded as f64 / seconds.max(1e-9)
    );
    rejected.report();
    Ok(())
}

/// CSV and JSON lines: hashtags come from extraction, as for every stream source.
fn load_records(
    records: impl Iterator<Item = Result<Parsed, Reason>>,
    config: &crate::db::MysqlConfig,
    ingestion: Ingestion,
    rejected: &mut Rejections,
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
                        Err(reason) => rejected.note(reason.into()),
                    }
                }
            }
            Ok(Parsed::Skipped(what)) => rejected.skip(what),
            Err(reason) => rejected.note(reason),
        }
        if chunk.len() >= CHUNK {
            loaded += rejected.written(writer.write(std::mem::take(&mut chunk))?);
        }
    }
    loaded += rejected.written(writer.write(chunk)?);
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
    config: &crate::db::MysqlConfig,
    ingestion: Ingestion,
    rejected: &mut Rejections,
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
                    rejected.note(Reason::from(misfit).at(format!("hashtag {hashtag_id}")));
                }
            },
            DumpRow::Tweet(row) => {
                let id = row.tweet_id;
                match stored(row, ingestion) {
                    Ok(tweet) => tweets.push(tweet),
                    Err(reason) => {
                        rejected_ids.insert(id);
                        rejected.note(reason.into());
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
            loaded += flush_dump_rows(&mut writer, &mut tags, &mut tweets, &mut links, &mut rejected_ids, rejected)?;
        }
    }
    loaded += flush_dump_rows(&mut writer, &mut tags, &mut tweets, &mut links, &mut rejected_ids, rejected)?;
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
    rejected: &mut Rejections,
) -> Result<u64> {
    writer.write_hashtags(std::mem::take(tags))?;
    let written = writer.write_tweets(std::mem::take(tweets))?;
    rejected_ids.extend(written.conflicts.iter().map(|conflict| conflict.tweet_id));
    links.retain(|(tweet_id, _, _)| !rejected_ids.contains(tweet_id));
    writer.write_links(std::mem::take(links))?;
    Ok(rejected.written(written))
}

fn generate(args: &GenerateArgs) -> Result<()> {
    let config = args.mysql.config()?;
    crate::source::mysql::check_schema(&config)?;
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
    println!(
        "generated {} tweets into {config} in {seconds:.2} s ({:.0} tweets/s)",
        args.tweets,
        args.tweets as f64 / seconds.max(1e-9)
    );
    let mut rejected = Rejections::default();
    rejected.written(written);
    rejected.report();
    Ok(())
}
