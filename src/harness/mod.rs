//! What the jobs share to run: the graph over a source on timely workers ([`layer`]), planned by
//! job ([`plan`]), each worker's end of it ([`worker`], [`pacing`]) and the calling thread's
//! ([`collect`]); how a stream's start went ([`recovery`]), end-to-end latency ([`latency`]),
//! peak memory ([`memory`]) and a stop on a signal ([`signal`]).

pub mod collect;
pub mod latency;
pub mod layer;
pub mod memory;
pub mod pacing;
pub mod plan;
pub mod recovery;
mod run_state;
pub mod signal;
pub mod worker;
