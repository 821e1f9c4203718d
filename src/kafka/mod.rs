//! Kafka, every use of it in one place: connection settings ([`config`]), trendflow's topics
//! ([`topics`]), writing to them ([`producer`]), the `tweets` topic as the stream's source
//! ([`source`]), and the serving layer's follower of the ranking topics ([`follower`]).
//!
//! Everything goes through librdkafka (the `rdkafka` crate) with standard Kafka APIs only —
//! metadata, create-topics, produce, fetch with explicit partition assignment — so any Kafka-API
//! broker works: Apache Kafka, Redpanda, tansu. Consumer groups are deliberately not used: the
//! stream job assigns partitions to timely workers itself, which is both what timely needs (a
//! fixed owner per partition) and what slow or partial group-coordinator implementations cannot
//! break.

pub mod config;
pub mod follower;
pub mod producer;
pub mod source;
pub mod topics;

pub use config::{is_broker_away, KafkaArgs, KafkaConfig, DEFAULT_BROKERS};
pub use topics::Topic;
