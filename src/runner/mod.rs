//! Jobs: each wires sources, the graph and sinks together and runs them on timely workers.

pub mod demo;
pub mod memory;
