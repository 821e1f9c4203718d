//! trendflow: jobs, sources and sinks around the shared ranking graph of `trendflow-dataflows`.
//!
//! A reader finds any behaviour in two hops from `main`: [`cli`] picks a job in [`jobs`], and the
//! job wires a [`source`] to the graph and the graph to a [`sink`], running them on the
//! [`harness`]. Below those: [`db`] and [`kafka`] (connections and their settings), [`time`]
//! (event times as text), [`cluster`] (timely's cluster flags) and [`fuzzing`] (the fuzz
//! targets' checks).

pub mod cli;
pub mod cluster;
pub mod db;
pub mod fuzzing;
pub mod harness;
pub mod jobs;
pub mod kafka;
pub mod sink;
pub mod source;
pub mod time;
