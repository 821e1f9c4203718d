//! The environment variables that point a `trendflow` process at its services: the flags read
//! them (`--mysql-url`, `--brokers`, `--topic-prefix`), and whatever starts trendflow processes
//! — the cluster script, the tests, the benchmarks — sets them with [`point_at`].

use std::process::Command;

/// The MySQL URL (`--mysql-url`).
pub const MYSQL_URL: &str = "TRENDFLOW_MYSQL_URL";
/// The Kafka bootstrap brokers (`--brokers`).
pub const BROKERS: &str = "TRENDFLOW_BROKERS";
/// The prefix of every topic name (`--topic-prefix`).
pub const TOPIC_PREFIX: &str = "TRENDFLOW_TOPIC_PREFIX";

/// Points `command`, a trendflow process about to start, at a database, brokers and topics.
pub fn point_at<'c>(command: &'c mut Command, mysql_url: &str, brokers: &str, topic_prefix: &str) -> &'c mut Command {
    command.env(MYSQL_URL, mysql_url).env(BROKERS, brokers).env(TOPIC_PREFIX, topic_prefix)
}
