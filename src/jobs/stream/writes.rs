//! What the stream's workers write besides the graph's input: each good tweet's hashtags to the
//! `hashtags` topic, the tweet itself into the master dataset, and what is no tweet to the
//! dead-letter topic with the reason. Each worker writes through sinks of its own
//! ([`WorkerSinks`]), which are the reader's [`ReadHandler`]: they flush when a checkpoint asks,
//! and say when what they wrote is durable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::checkpoint::Checkpoint;
use crate::harness::layer::DrivenSource;
use crate::harness::worker::Feed;
use crate::kafka::producer::{hashtag_json, KafkaSink, SentBefore};
use crate::kafka::source::checkpointing::Durability;
use crate::kafka::source::reader::{ReadHandler, ReadTweet, Rejection, TweetsReader};
use crate::kafka::{KafkaConfig, Topic};
use crate::mysql::archive::HandedBefore;
use crate::mysql::MysqlConfig;
use crate::mysql::{Archive, StoredTweet};
use crate::sink::stream_metrics::StreamMetrics;
use crate::vocabulary::dead_letter::DeadLetter;

/// Archive writes go in batches of this many tweets, or at least every [`ARCHIVE_EVERY`].
const ARCHIVE_BATCH: usize = 4_096;
const ARCHIVE_EVERY: Duration = Duration::from_secs(1);

/// Where the workers write, and what they counted; one for all of a process's workers.
pub(super) struct WorkerWrites {
    kafka: KafkaConfig,
    /// Where the archive goes; `None` with `--no-archive`.
    archive: Option<MysqlConfig>,
    /// Where each tweet's hashtags go; `None` with `--no-hashtags-topic`.
    hashtags_topic: Option<String>,
    pub dead_lettered: AtomicU64,
    pub archived: Arc<AtomicU64>,
    metrics: Arc<StreamMetrics>,
}

impl WorkerWrites {
    pub fn new(
        kafka: &KafkaConfig,
        archive: Option<MysqlConfig>,
        hashtags_topic: Option<String>,
        metrics: Arc<StreamMetrics>,
    ) -> Self {
        WorkerWrites {
            kafka: kafka.clone(),
            archive,
            hashtags_topic,
            dead_lettered: AtomicU64::new(0),
            archived: Arc::new(AtomicU64::new(0)),
            metrics,
        }
    }

    /// The stream's source: each worker reads with `reader`, and writes what it hands over.
    pub fn source(self: &Arc<Self>, reader: TweetsReader) -> DrivenSource<Checkpoint> {
        let writes = self.clone();
        Arc::new(move |worker, peers, feed: &mut dyn Feed<Checkpoint>| {
            let mut sinks = writes.open()?;
            reader.read(worker, peers, feed, &mut sinks)?;
            sinks.finish()
        })
    }

    /// One worker's sinks: a producer of its own, and an archive with a thread of its own.
    fn open(&self) -> Result<WorkerSinks<'_>> {
        let archive = self
            .archive
            .as_ref()
            .map(|config| Archive::start(config, ARCHIVE_BATCH, ARCHIVE_EVERY, self.archived.clone()))
            .transpose()?;
        Ok(WorkerSinks {
            writes: self,
            producer: KafkaSink::new(&self.kafka)?,
            archive,
            tweets: self.kafka.topic(Topic::Tweets),
            dead_letters: self.kafka.topic(Topic::DeadLetter),
        })
    }
}

/// One worker's sinks.
struct WorkerSinks<'w> {
    writes: &'w WorkerWrites,
    producer: KafkaSink,
    archive: Option<Archive>,
    tweets: String,
    dead_letters: String,
}

impl WorkerSinks<'_> {
    /// Stores what the archive has queued, and ends its thread.
    fn finish(mut self) -> Result<()> {
        self.archive.as_mut().map_or(Ok(()), Archive::finish)
    }
}

impl ReadHandler for WorkerSinks<'_> {
    fn tweet(&mut self, read: &ReadTweet) -> Result<()> {
        if let Some(topic) = &self.writes.hashtags_topic {
            for hashtag in &read.hashtags {
                self.producer.send(topic, hashtag.as_bytes(), hashtag_json(&read.tweet, hashtag)?.as_bytes())?;
            }
        }
        if let Some(archive) = self.archive.as_mut() {
            let stored = StoredTweet {
                hashtags: Some(read.hashtags.iter().map(|hashtag| hashtag.to_string()).collect()),
                ..StoredTweet::new(read.tweet.clone(), read.date_time.clone(), read.ingested_at)
            };
            archive.push(stored)?;
        }
        Ok(())
    }

    fn rejected(&mut self, rejection: Rejection<'_>) -> Result<()> {
        self.writes.dead_lettered.fetch_add(1, Ordering::Relaxed);
        self.writes.metrics.dead_lettered(rejection.reason.kind());
        let letter =
            DeadLetter::new(&rejection.reason, &self.tweets, rejection.partition, rejection.offset, rejection.payload);
        let letter = serde_json::to_vec(&letter).context("encoding a dead letter")?;
        self.producer.send(&self.dead_letters, rejection.key.unwrap_or_default(), &letter)
    }

    fn round_ended(&mut self) -> Result<()> {
        self.producer.poll();
        self.archive.as_mut().map_or(Ok(()), Archive::check)
    }
}

/// What a worker had written when a flush was asked for: the messages it sent, and the tweets it
/// handed to the archive.
struct Written {
    sent: SentBefore,
    archived: Option<HandedBefore>,
}

impl Durability for WorkerSinks<'_> {
    type Written = Written;

    fn flush(&mut self) -> Result<Written> {
        Ok(Written {
            sent: self.producer.sent_so_far(),
            archived: self.archive.as_mut().map(Archive::flush).transpose()?,
        })
    }

    fn is_durable(&mut self, written: &Written) -> Result<bool> {
        let stored = match (self.archive.as_mut(), written.archived) {
            (Some(archive), Some(handed)) => archive.stored(handed)?,
            _ => true,
        };
        Ok(stored && self.producer.confirmed(written.sent)?)
    }
}
