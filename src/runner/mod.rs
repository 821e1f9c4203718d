//! Jobs: each wires sources, the graph and sinks together and runs them on timely workers.

pub mod batch;
pub mod db;
pub mod demo;
pub mod graph_args;
pub mod latency;
pub mod layer;
pub mod memory;
pub mod produce;
pub mod recovery;
pub mod signal;
pub mod stream;
pub mod topics;
pub mod verify;
pub mod views;
