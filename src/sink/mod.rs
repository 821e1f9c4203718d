//! Sinks beside the external systems: lines on the terminal ([`console`]), and the operator
//! metrics of the stream ([`stream_metrics`]) and the batch run ([`batch_metrics`]). Records on
//! Kafka topics are written by [`crate::kafka::producer`], rows in MySQL by [`crate::mysql`].

pub mod batch_metrics;
pub mod console;
pub mod stream_metrics;
