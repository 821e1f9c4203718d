//! What each job reports when it ends: one `Serialize` type per job, whose `Display` is the
//! human summary the job prints, and whose JSON `--report PATH` writes
//! ([`crate::jobs::report::ReportArgs`]). Scripts and the benchmarks read the JSON, never the
//! printed sentences, so that rewording a summary breaks nobody.
//!
//! Durations are seconds (`f64`) or whole milliseconds (`_ms`); rates are per second of the
//! figure named (`tweets_per_second`); memory is bytes. A figure a platform cannot give (peak
//! memory outside Linux) is `null`.

pub mod batch;
pub mod db;
pub mod demo;
pub mod produce;
pub mod stream;
pub mod verify;

use std::fmt;

/// `count` a second over `seconds`, however short the time.
pub fn per_second(count: u64, seconds: f64) -> f64 {
    count as f64 / seconds.max(1e-9)
}

/// A peak memory figure as the summaries show it: `, peak memory 73 MiB`, or nothing without one.
struct PeakMemory(Option<u64>);

impl fmt::Display for PeakMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(bytes) => write!(f, ", peak memory {} MiB", mebibytes(bytes)),
            None => Ok(()),
        }
    }
}

fn mebibytes(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}
