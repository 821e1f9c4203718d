//! `trendflow topics`: the topics trendflow reads and writes, created idempotently, read, and
//! deleted.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::jobs::graph_args::parse_wait;
use crate::kafka::producer::KafkaSink;
use crate::kafka::{KafkaArgs, Topic};

#[derive(Subcommand, Debug, Clone)]
pub enum TopicsCommand {
    /// Create every trendflow topic that is missing: tweets, hashtags, the views' ranking topics
    /// and the dead-letter topic.
    Create(CreateArgs),
    /// Print a topic's messages from the beginning, one `key<TAB>value` line each.
    Read(ReadArgs),
    /// Send each line of standard input to a topic as one message: `key<TAB>value`, or a line
    /// without a tab as a value without a key. The bytes go as they are, valid or not (to put
    /// repaired dead letters back, or hand-made input).
    Write(WriteArgs),
    /// Delete every trendflow topic under --topic-prefix — tweets, hashtags, the views' ranking
    /// topics and the dead-letter topic — with every message in them.
    Delete(DeleteArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ReadArgs {
    /// Which topic.
    #[arg(value_enum)]
    pub topic: Topic,
    /// Stop once no message has come for this long; without it, follow the topic until stopped.
    #[arg(long = "until-idle", value_parser = parse_wait, value_name = "SECS|DURATION")]
    pub until_idle: Option<u64>,
    /// Start each line with the message's timestamp (milliseconds since the epoch) and a tab.
    #[arg(long)]
    pub timestamps: bool,
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

#[derive(Args, Debug, Clone)]
pub struct WriteArgs {
    /// Which topic.
    #[arg(value_enum)]
    pub topic: Topic,
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// Partitions of each new topic: the most workers that can share the input.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub partitions: i32,
    /// Replicas of each partition (at most the number of brokers).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub replication: i32,
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

#[derive(Args, Debug, Clone)]
pub struct DeleteArgs {
    /// Confirm: the topics' messages are gone for good.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

pub fn run(command: TopicsCommand) -> Result<()> {
    match command {
        TopicsCommand::Create(args) => {
            let kafka = args.kafka.config()?;
            let created = kafka.create_topics(args.partitions, args.replication)?;
            let existing: Vec<String> =
                Topic::all().map(|topic| kafka.topic(topic)).filter(|name| !created.contains(name)).collect();
            if !created.is_empty() {
                println!("created {} with {} partitions on {kafka}", created.join(", "), args.partitions);
            }
            if !existing.is_empty() {
                println!("already there: {}", existing.join(", "));
            }
            Ok(())
        }
        TopicsCommand::Read(args) => read(&args),
        TopicsCommand::Write(args) => write(&args),
        TopicsCommand::Delete(args) => {
            let kafka = args.kafka.config()?;
            if !args.yes {
                bail!(
                    "this deletes {} on {kafka} with every message in them; add --yes to confirm",
                    Topic::all().map(|topic| kafka.topic(topic)).collect::<Vec<_>>().join(", ")
                );
            }
            let deleted = kafka.delete_topics()?;
            match deleted.is_empty() {
                true => println!("no trendflow topics to delete on {kafka}"),
                false => println!("deleted {} on {kafka}", deleted.join(", ")),
            }
            Ok(())
        }
    }
}

/// Sends each line of standard input as a message, and waits until the broker has them all.
fn write(args: &WriteArgs) -> Result<()> {
    let kafka = args.kafka.config()?;
    let name = kafka.topic(args.topic);
    let sink = KafkaSink::new(&kafka)?;
    let mut sent = 0u64;
    for line in std::io::stdin().lock().split(b'\n') {
        let line = line.context("reading standard input")?;
        let (key, value) = match line.iter().position(|byte| *byte == b'\t') {
            Some(tab) => (&line[..tab], &line[tab + 1..]),
            None => (&[][..], &line[..]),
        };
        sink.send(&name, key, value)?;
        sink.poll();
        sent += 1;
    }
    let report = sink.flush()?;
    println!("wrote {sent} messages to '{name}' on {kafka} ({} confirmed)", report.delivered);
    Ok(())
}

/// Prints every message of the topic, all partitions, from the beginning. A reader that stops
/// early (`| head`) ends the command quietly.
fn read(args: &ReadArgs) -> Result<()> {
    let kafka = args.kafka.config()?;
    let topic = args.topic;
    let name = kafka.topic(topic);
    let consumer = kafka.consumer()?;
    let partitions = kafka.partition_count(&consumer, topic)?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment.add_partition_offset(&name, partition, Offset::Beginning).context("assigning partitions")?;
    }
    consumer.assign(&assignment).map_err(|e| kafka.explain(e))?;
    let mut out = std::io::stdout().lock();
    let mut last_message = Instant::now();
    loop {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                last_message = Instant::now();
                let text = |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
                let stamp = match (args.timestamps, message.timestamp().to_millis()) {
                    (true, Some(millis)) => format!("{millis}\t"),
                    (true, None) => "-\t".to_string(),
                    (false, _) => String::new(),
                };
                let line = writeln!(out, "{stamp}{}\t{}", text(message.key()), text(message.payload()));
                if line.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) {
                    return Ok(());
                }
                line?;
            }
            Some(Err(error)) => log::warn!("reading '{name}' from {kafka}: {error}; retrying"),
            None if args.until_idle.is_some_and(|idle| last_message.elapsed() >= Duration::from_millis(idle)) => {
                return Ok(())
            }
            None => {}
        }
    }
}
