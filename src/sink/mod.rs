//! Sinks: turn rankings and tweets into external effects — lines on the terminal ([`console`]),
//! records on Kafka topics ([`kafka`]), rows in MySQL ([`mysql`]: the archive, the view tables,
//! the stream's checkpoints), and the operator metrics of the stream ([`stream_metrics`]) and
//! the batch run ([`batch_metrics`]).

pub mod batch_metrics;
pub mod console;
pub mod kafka;
pub mod mysql;
pub mod stream_metrics;
