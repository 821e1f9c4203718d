//! Sinks: turn rankings and tweets into external effects — lines on the terminal ([`console`]),
//! records on Kafka topics ([`kafka`]), rows in MySQL ([`mysql`]: the archive, the view tables,
//! the stream's checkpoints).

pub mod console;
pub mod kafka;
pub mod mysql;
