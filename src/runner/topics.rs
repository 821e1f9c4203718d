//! `trendflow topics create`: the topics trendflow reads and writes, created idempotently.

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::kafka::{KafkaArgs, Topic};

#[derive(Subcommand, Debug, Clone)]
pub enum TopicsCommand {
    /// Create tweets, hashtags, top_hashtags, top_tweets and the dead-letter topic where missing.
    Create(CreateArgs),
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

pub fn run(command: TopicsCommand) -> Result<()> {
    match command {
        TopicsCommand::Create(args) => {
            let kafka = args.kafka.config()?;
            let created = kafka.create_topics(args.partitions, args.replication)?;
            let existing: Vec<String> =
                Topic::ALL.iter().map(|t| kafka.topic(*t)).filter(|name| !created.contains(name)).collect();
            if !created.is_empty() {
                println!("created {} with {} partitions on {kafka}", created.join(", "), args.partitions);
            }
            if !existing.is_empty() {
                println!("already there: {}", existing.join(", "));
            }
            Ok(())
        }
    }
}
