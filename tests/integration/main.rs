//! The integration tests, in one binary (as ripgrep has them), each file a module.
//!
//! Two tiers. `cargo test` alone runs those that need no services — the fuzzers' regressions,
//! extraction against the seed's dump, the demo in every cluster layout, completions and man
//! pages — and lists the others as ignored, with what they need. `scripts/test.sh` starts MariaDB
//! and a Kafka-API broker and runs them all (`--include-ignored`): the batch and speed layers
//! against the real services, faults, outages, hostile input, formats and clusters (network
//! namespaces need root).

mod common;

mod batch_mysql;
mod change_capture;
mod cluster;
mod dashboard;
mod faults;
mod flags;
mod formats;
mod fuzz_regressions;
mod hashtag_extraction;
mod hostile_input;
mod hosts;
mod master_dataset;
mod outages;
mod serve;
mod serve_network;
mod shell;
mod sink_failures;
mod speed_kafka;
mod topics;
mod upgrade;
