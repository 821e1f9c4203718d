//! librdkafka's mock cluster as a benchmark's broker: an in-memory Kafka-API broker, started in
//! the benchmark's own process, that keeps up with rates the test broker does not.
//!
//! It listens on a loopback port and speaks the Kafka protocol, so `trendflow` and the broker
//! baseline's clients run against it as against any broker, over TCP. It leaves out what a
//! production broker spends on durability: nothing goes to disk, nothing is replicated, and each
//! partition keeps only its newest 5 MiB or so (librdkafka's limit for the mock), so a consumer
//! that falls further behind fails (trendflow's consumer does not skip records:
//! `auto.offset.reset=error`). A fetch finds no data at once or waits out the consumer's
//! `fetch.wait.max.ms`, as tansu does; a real broker answers as soon as data arrives.
//!
//! The mock does not implement CreateTopics, so the benchmark creates each run's topics through
//! the cluster's own handle instead of `trendflow topics create`.

use anyhow::{Context, Result};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use trendflow::kafka::{KafkaConfig, Topic};

/// A one-broker mock cluster, running until dropped.
pub struct MockBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl MockBroker {
    pub fn start() -> Result<Self> {
        let cluster = MockCluster::new(1).context("starting librdkafka's mock cluster")?;
        Ok(MockBroker { cluster })
    }

    /// The address to hand to clients as `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// Creates trendflow's topics under `kafka`'s prefix, each with `partitions` partitions.
    pub fn create_topics(&self, kafka: &KafkaConfig, partitions: u32) -> Result<()> {
        let partitions = i32::try_from(partitions).context("too many partitions")?;
        for topic in Topic::all() {
            let name = kafka.topic(topic);
            self.cluster
                .create_topic(&name, partitions, 1)
                .with_context(|| format!("creating topic '{name}' on the mock broker"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use trendflow::kafka::KafkaArgs;

    use super::*;
    use crate::broker_baseline::{round_trip, Load};

    #[test]
    fn trendflow_clients_find_the_topics_and_every_record_makes_the_round_trip() {
        let broker = MockBroker::start().expect("a mock broker");
        let kafka = KafkaArgs {
            brokers: broker.bootstrap_servers(),
            settings: Vec::new(),
            topic_prefix: "mock.".into(),
            kafka_wait_secs: 10,
        }
        .config()
        .expect("a Kafka configuration");
        broker.create_topics(&kafka, 2).expect("topics");
        let consumer = kafka.consumer().expect("a consumer");
        for topic in Topic::all() {
            assert_eq!(kafka.partition_count(&consumer, topic).expect("the topic"), 2, "{topic:?}");
        }
        // 700 records at 1,000 a second; those due in the last 500 ms are measured (one may fall
        // a microsecond short of the warm-up's end by rounding).
        let latencies =
            round_trip(&kafka, 1_000.0, Duration::from_millis(200), Duration::from_millis(500), Load::WithHashtags)
                .expect("the round trip");
        assert!((499..=500).contains(&latencies.len()), "{} records measured", latencies.len());
    }
}
