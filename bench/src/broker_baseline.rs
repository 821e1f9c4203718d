//! The broker's own latency, with no trendflow in it: what the end-to-end figures are measured
//! against.
//!
//! A producer sends the same records `trendflow produce --live` sends (the generator's tweets, as
//! JSON), on the same schedule, with trendflow's producer settings ([`KafkaSink`]); a consumer
//! with trendflow's consumer settings reads them back from the beginning of the topic. Each
//! record carries the moment it was due, in microseconds, as its key; its latency runs from that
//! moment to the moment the consumer has it. Whatever trendflow adds end to end is the
//! difference to these figures at the same rate.
//!
//! A stream that publishes the `hashtags` topic makes the broker store each tweet's hashtag
//! occurrences too, about 2.2 records per tweet in all. [`Load::WithHashtags`] gives the broker
//! that same load: the consumer writes each tweet's occurrences back to a `hashtags` topic as it
//! reads the tweet, as the stream does, with the same extraction, records and producer settings.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use trendflow::harness::latency::new_histogram;
use trendflow::kafka::producer::{hashtag_json, KafkaSink};
use trendflow::kafka::{KafkaConfig, Topic};
use trendflow::source::generator::{Generator, GeneratorConfig};
use trendflow::source::seed_tweet::SeedTweet;
use trendflow::time::wall_clock_us;
use trendflow_dataflows::hashtags::hashtag_symbols;

/// How long the consumer waits for a record after the last one was sent before it gives up.
const DRAIN: Duration = Duration::from_secs(30);

/// What the broker carries besides the tweets' round trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    /// The tweets alone.
    Tweets,
    /// The tweets, and each tweet's hashtag occurrences written back when it is read.
    WithHashtags,
}

/// Sends `rate` records a second for `warmup + measure` into the tweets topic of `kafka` and
/// returns the produce-to-consume latencies of those due after the warm-up, in microseconds.
pub fn round_trip(
    kafka: &KafkaConfig,
    rate: f64,
    warmup: Duration,
    measure: Duration,
    load: Load,
) -> Result<Histogram<u64>> {
    let topic = kafka.topic(Topic::Tweets);
    let consumer = kafka.consumer()?;
    let partitions = kafka.partition_count(&consumer, Topic::Tweets)?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment
            .add_partition_offset(&topic, partition, Offset::Beginning)
            .context("assigning the baseline's partitions")?;
    }
    consumer.assign(&assignment).with_context(|| format!("reading '{topic}' for the broker baseline"))?;
    let records = ((warmup + measure).as_secs_f64() * rate) as u64;
    let sent_all = AtomicBool::new(false);
    let started_us = wall_clock_us();
    let measure_from_us = started_us + warmup.as_micros() as u64;
    std::thread::scope(|scope| {
        let producer = scope.spawn(|| {
            let sent = produce(kafka, &topic, rate, records, started_us);
            sent_all.store(true, Ordering::Relaxed);
            sent
        });
        let write_back = match load {
            Load::Tweets => None,
            Load::WithHashtags => {
                Some(HashtagWriter { sink: KafkaSink::new(kafka)?, topic: kafka.topic(Topic::Hashtags) })
            }
        };
        let consumed = consume(&consumer, records, measure_from_us, &sent_all, write_back.as_ref());
        producer.join().map_err(|_| anyhow::anyhow!("the baseline's producer panicked"))??;
        consumed
    })
}

/// Sends `records` generated tweets, each when it is due by `rate` from `started_us`, keyed by
/// that due moment.
fn produce(kafka: &KafkaConfig, topic: &str, rate: f64, records: u64, started_us: u64) -> Result<()> {
    let sink = KafkaSink::new(kafka)?;
    let generator = Generator::new(GeneratorConfig { tweets: records, ..GeneratorConfig::default() })
        .map_err(|e| anyhow::anyhow!("invalid generator settings: {e}"))?;
    let started = Instant::now();
    for (index, tweet) in generator.share(0, 1).enumerate() {
        let due = Duration::from_secs_f64(index as f64 / rate);
        if let Some(ahead) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(ahead);
        }
        let value = serde_json::to_vec(&SeedTweet::from_tweet(tweet)).context("encoding a tweet")?;
        let due_us = started_us + due.as_micros() as u64;
        sink.send(topic, due_us.to_string().as_bytes(), &value)?;
        sink.poll();
    }
    let report = sink.flush()?;
    if report.failed > 0 {
        bail!("the broker refused {} of the baseline's records", report.failed);
    }
    Ok(())
}

/// Writes a tweet's hashtag occurrences to the `hashtags` topic, as the stream does.
struct HashtagWriter {
    sink: KafkaSink,
    topic: String,
}

impl HashtagWriter {
    fn write(&self, payload: &[u8]) -> Result<()> {
        let row: SeedTweet = serde_json::from_slice(payload).context("decoding a baseline tweet")?;
        let tweet = row.into_tweet().map_err(|e| anyhow::anyhow!("a baseline tweet that is not valid: {e}"))?;
        for hashtag in hashtag_symbols(&tweet.text) {
            self.sink.send(&self.topic, hashtag.as_bytes(), hashtag_json(&tweet, &hashtag)?.as_bytes())?;
        }
        self.sink.poll();
        Ok(())
    }
}

/// Reads `records` records and the latency of each due at or after `measure_from_us`, writing
/// each one's hashtags back through `write_back` when given.
fn consume(
    consumer: &BaseConsumer,
    records: u64,
    measure_from_us: u64,
    sent_all: &AtomicBool,
    write_back: Option<&HashtagWriter>,
) -> Result<Histogram<u64>> {
    let mut latencies = new_histogram();
    let mut read = 0;
    let mut last_read = Instant::now();
    while read < records {
        match consumer.poll(Duration::from_millis(100)) {
            Some(message) => {
                let message = message.context("reading the broker baseline's records")?;
                let now_us = wall_clock_us();
                let due_us: u64 = message
                    .key()
                    .and_then(|key| std::str::from_utf8(key).ok()?.parse().ok())
                    .context("a baseline record without its due moment")?;
                if due_us >= measure_from_us {
                    latencies.saturating_record(now_us.saturating_sub(due_us).max(1));
                }
                if let Some(writer) = write_back {
                    writer.write(message.payload().unwrap_or_default())?;
                }
                read += 1;
                last_read = Instant::now();
            }
            None if sent_all.load(Ordering::Relaxed) && last_read.elapsed() > DRAIN => {
                bail!("the broker baseline read {read} of {records} records; the rest never came")
            }
            None => {}
        }
    }
    if let Some(writer) = write_back {
        let report = writer.sink.flush()?;
        if report.failed > 0 {
            bail!("the broker refused {} of the baseline's hashtag records", report.failed);
        }
    }
    Ok(latencies)
}
