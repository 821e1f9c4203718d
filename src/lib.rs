//! trendflow: jobs, sources and sinks around the shared ranking graph of `trendflow-dataflows`.
//!
//! A reader finds any behaviour in two hops from `main`: [`cli`] picks a job in [`jobs`], and the
//! job wires its input to the graph and the graph to its outputs, running them on the
//! [`harness`]; `serve` runs the serving layer ([`serve`]). Each external system is one tree:
//! [`mysql`] (the schema, the master dataset, the history, the view tables, checkpoints, serve's
//! queries) and [`kafka`] (settings, topics, the producer, the stream's source, serve's
//! follower); the inputs without a service are in [`source`], the terminal and the metrics
//! sinks in [`sink`]. Below those: [`limits`] (what a tweet must be to be taken in and stored),
//! [`vocabulary`] (the views, layers, rows and snapshots every edge shares), [`checkpoint`] (what
//! a stream's checkpoint holds), [`service_env`] (the environment that points a process at its
//! services), [`metrics`] (Prometheus exposition), [`time`] (event times as text, the wall
//! clock), [`cluster`] (timely's cluster flags) and [`fuzzing`] (the fuzz targets' checks).

pub mod checkpoint;
pub mod cli;
pub mod cluster;
pub mod fuzzing;
pub mod harness;
pub mod jobs;
pub mod kafka;
pub mod limits;
pub mod metrics;
pub mod mysql;
pub mod serve;
pub mod service_env;
pub mod sink;
pub mod source;
pub mod time;
pub mod vocabulary;
