//! Reaching the brokers: validated connection settings, the clients made from them, and errors
//! that say what to do.

use std::fmt;
use std::time::Duration;

use super::Topic;
use crate::service_env;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use rdkafka::config::{ClientConfig, FromClientConfig};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// The broker `scripts/kafka.sh` starts on this machine.
pub const DEFAULT_BROKERS: &str = "127.0.0.1:9092";

/// Kafka flags shared by every command that talks to the broker.
#[derive(Args, Clone, Debug)]
pub struct KafkaArgs {
    /// Bootstrap brokers, comma-separated HOST:PORT.
    #[arg(long = "brokers", env = service_env::BROKERS, default_value = DEFAULT_BROKERS)]
    pub brokers: String,
    /// A librdkafka setting KEY=VALUE (repeatable), as with kcat: TLS, SASL, tuning.
    /// Example: -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,
    /// Prefix of every topic name, to keep several deployments apart on one cluster.
    #[arg(long = "topic-prefix", env = service_env::TOPIC_PREFIX, default_value = "")]
    pub topic_prefix: String,
    /// How long to wait for the broker to answer, in seconds.
    #[arg(long = "kafka-wait", default_value_t = 10, value_name = "SECS")]
    pub kafka_wait_secs: u64,
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_string(), value.to_string())),
        _ => Err(format!("'{text}' is not KEY=VALUE")),
    }
}

/// Where the brokers are, validated; shows itself without secrets.
#[derive(Clone)]
pub struct KafkaConfig {
    brokers: String,
    settings: Vec<(String, String)>,
    topic_prefix: String,
    wait: Duration,
}

/// Settings whose values never appear in output.
fn is_secret(key: &str) -> bool {
    key.contains("password") || key.contains("secret") || key.ends_with(".pem") || key.contains("oauthbearer.config")
}

impl fmt::Display for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kafka at {}", self.brokers)?;
        if !self.settings.is_empty() {
            let shown: Vec<String> = self
                .settings
                .iter()
                .map(|(key, value)| match is_secret(key) {
                    true => format!("{key}=***"),
                    false => format!("{key}={value}"),
                })
                .collect();
            write!(f, " ({})", shown.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KafkaConfig({self})")
    }
}

impl KafkaArgs {
    /// Validates the flags: librdkafka itself checks every `-X` key and value here, so a typo
    /// fails before any work starts.
    pub fn config(&self) -> Result<KafkaConfig> {
        if self.brokers.split(',').any(|broker| broker.trim().is_empty()) {
            bail!("--brokers / TRENDFLOW_BROKERS must be comma-separated HOST:PORT, not '{}'", self.brokers);
        }
        if !self.topic_prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            bail!("--topic-prefix may hold only letters, digits, '.', '_' and '-'");
        }
        let config = KafkaConfig {
            brokers: self.brokers.clone(),
            settings: self.settings.clone(),
            topic_prefix: self.topic_prefix.clone(),
            wait: Duration::from_secs(self.kafka_wait_secs.max(1)),
        };
        config.client_config().create_native_config().map_err(|e| anyhow!("{config}: invalid -X setting: {e}"))?;
        Ok(config)
    }
}

impl KafkaConfig {
    /// The full name of a topic.
    pub fn topic(&self, topic: Topic) -> String {
        format!("{}{}", self.topic_prefix, topic.base_name())
    }

    /// How long to wait for the broker before giving up.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// librdkafka settings: the brokers, then every `-X`.
    pub fn client_config(&self) -> ClientConfig {
        self.client_config_with(&[])
    }

    /// librdkafka settings: the brokers, a client's own `defaults`, then every `-X`, which may
    /// override anything.
    pub fn client_config_with(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        config.set("client.id", "trendflow");
        for (key, value) in defaults {
            config.set(*key, *value);
        }
        for (key, value) in &self.settings {
            config.set(key, value);
        }
        config
    }

    /// A client for metadata and partition offsets only. It has no group id: dropping a consumer
    /// that has one waits for the group to close, polling every 100 ms, and a restarting stream
    /// spent 200 of its first 260 ms that way.
    pub fn metadata_client(&self) -> Result<BaseConsumer> {
        BaseConsumer::from_config(&self.client_config())
            .with_context(|| format!("creating a Kafka client for metadata of {self}"))
    }

    /// A consumer for metadata and explicit assignment; it never joins a consumer group.
    pub fn consumer(&self) -> Result<BaseConsumer> {
        self.consumer_reporting_ends(false)
    }

    /// A consumer that also reports reading each partition to its end (`PartitionEOF`), which
    /// the stream's idle rule needs.
    pub fn tailing_consumer(&self) -> Result<BaseConsumer> {
        self.consumer_reporting_ends(true)
    }

    fn consumer_reporting_ends(&self, partition_ends: bool) -> Result<BaseConsumer> {
        let config = self.client_config_with(&[
            ("group.id", "trendflow"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", if partition_ends { "true" } else { "false" }),
            // A stored position the broker no longer has is an error, not a silent jump to the
            // end (librdkafka's default), which would skip records.
            ("auto.offset.reset", "error"),
            // librdkafka prefetches up to 64 MiB by default, for each partition once each has
            // a queue of its own (as the stream's do); the graph keeps up with far less, and
            // memory stays bounded by the window horizon, not the backlog.
            ("queued.max.messages.kbytes", "4096"),
            // Latency before request rate. A broker that holds a fetch until data arrives
            // answers at once anyway, and this only bounds an idle consumer's polling (500
            // fetches a second); tansu answers after this wait, and the stream's tweets arrive
            // in batches this far apart. With librdkafka's 500 ms default a final ranking
            // appeared about half a second after the watermark passed its window; with 10 ms, an
            // end-to-end p50 of 22 ms at 5,000 tweets/s on tansu, with 2 ms 9 ms.
            ("fetch.wait.max.ms", "2"),
        ]);
        BaseConsumer::from_config(&config).with_context(|| format!("creating a Kafka consumer for {self}"))
    }

    /// How many partitions `topic` has; a clear error if the broker or the topic is missing.
    pub fn partition_count(&self, consumer: &BaseConsumer, topic: Topic) -> Result<i32> {
        let name = self.topic(topic);
        let metadata = consumer.fetch_metadata(Some(&name), self.wait).map_err(|e| self.explain(e))?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|t| t.name() == name)
            .filter(|t| t.error().is_none())
            .map(|t| t.partitions().len() as i32)
            .unwrap_or(0);
        if partitions == 0 {
            bail!("{self}: topic '{name}' does not exist; create it with: trendflow topics create");
        }
        Ok(partitions)
    }

    /// A one-line explanation of a Kafka error that says what would fix it.
    pub fn explain(&self, error: rdkafka::error::KafkaError) -> anyhow::Error {
        let hint = match error.rdkafka_error_code() {
            _ if is_broker_away(&error) => "; is the broker running? scripts/kafka.sh installs and starts one",
            Some(RDKafkaErrorCode::OperationTimedOut) => {
                "; no broker answered in time: check --brokers / TRENDFLOW_BROKERS, or run scripts/kafka.sh"
            }
            Some(RDKafkaErrorCode::Fatal) => {
                "; the idempotent producer failed for good: the broker rejected its sequence numbers \
                 (tansu does after a crash). Rerun the command; against such a broker, \
                 -X enable.idempotence=false lets it retry, and the stream drops the duplicates"
            }
            _ => "",
        };
        anyhow!("{self}: {error}{hint}")
    }
}

/// Whether `error` says the broker is away (down, or the connection to it failed), as opposed to
/// a refusal of what was asked: librdkafka reconnects by itself, so a caller waits rather than
/// fails.
pub fn is_broker_away(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure)
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(crate) fn args(settings: &[&str]) -> KafkaArgs {
        KafkaArgs {
            brokers: DEFAULT_BROKERS.into(),
            settings: settings.iter().map(|s| parse_setting(s).unwrap()).collect(),
            topic_prefix: "t1.".into(),
            kafka_wait_secs: 1,
        }
    }

    #[test]
    fn secrets_never_show() {
        let config = args(&["sasl.password=hunter2", "sasl.username=me"]).config().unwrap();
        let shown = format!("{config} {config:?}");
        assert!(!shown.contains("hunter2") && shown.contains("sasl.username=me"), "{shown}");
    }

    #[test]
    fn librdkafka_rejects_unknown_settings_before_any_work() {
        let error = args(&["no.such.setting=1"]).config().unwrap_err().to_string();
        assert!(error.contains("invalid -X setting") && error.contains("no.such.setting"), "{error}");
        assert!(parse_setting("novalue").is_err());
    }
}
