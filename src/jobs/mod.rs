//! Jobs, one a file: each validates its flags, wires a source, the graph and sinks, and runs them
//! on the layer harness ([`crate::harness`]); `shell` alone runs no graph, printing completion scripts
//! and man pages. `cli` picks one; nothing else calls them.

pub mod batch;
pub mod db;
pub mod demo;
pub mod graph_args;
pub mod produce;
pub mod report;
pub mod serve;
pub mod shell;
pub mod stream;
pub mod topics;
pub mod verify;
pub mod views;
