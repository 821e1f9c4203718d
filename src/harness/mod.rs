//! What the jobs share to run: the graph over a source on timely workers ([`layer`]), how a
//! stream's start went ([`recovery`]), end-to-end latency ([`latency`]), peak memory
//! ([`memory`]) and a stop on a signal ([`signal`]).

pub mod latency;
pub mod layer;
pub mod memory;
pub mod recovery;
pub mod signal;
