//! trendflow: sources, sinks and runners around the shared ranking graph of `trendflow-dataflows`.
//!
//! A reader finds any behaviour in two hops from `main`: [`cli`] picks a job in [`runner`], and the
//! job wires a [`source`] to the graph and the graph to a [`sink`].

pub mod cli;
pub mod cluster;
pub mod db;
pub mod fuzzing;
pub mod kafka;
pub mod runner;
pub mod sink;
pub mod source;
pub mod time;
