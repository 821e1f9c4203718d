//! What `trendflow demo` reports: its two runs over the same generated tweets, and whether their
//! final views agree.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::mebibytes;

/// The demo's stream run and batch run, side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemoReport {
    /// The stream run: tweets in arrival order, every ranking change published.
    pub stream: DemoRun,
    /// The batch run: the same tweets with the coarsest tick, final rankings only.
    pub batch: DemoRun,
    pub peak_memory_bytes: Option<u64>,
    /// Whether the two runs' final views are identical, window for window.
    pub identical: bool,
    /// The first difference between them (left: stream, right: batch), if any.
    pub first_difference: Option<String>,
}

/// One of the demo's runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemoRun {
    pub tweets: u64,
    pub seconds: f64,
    pub tweets_per_second: f64,
    /// Windows with final views.
    pub windows: usize,
    /// Ranking snapshots published, live and final.
    pub ranking_updates: u64,
    /// Tweets behind the input frontier.
    pub late: u64,
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (stream, batch) = (&self.stream, &self.batch);
        writeln!(
            f,
            "stream: {} tweets in {:.2} s ({:.0} tweets/s), {} windows, {} ranking updates, {} late",
            stream.tweets,
            stream.seconds,
            stream.tweets_per_second,
            stream.windows,
            stream.ranking_updates,
            stream.late
        )?;
        writeln!(
            f,
            "batch:  {} tweets in {:.2} s ({:.0} tweets/s), {} windows",
            batch.tweets, batch.seconds, batch.tweets_per_second, batch.windows
        )?;
        if let Some(bytes) = self.peak_memory_bytes {
            writeln!(f, "peak memory: {} MiB", mebibytes(bytes))?;
        }
        write!(f, "identical: {}", if self.identical { "yes" } else { "no" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_gives_each_run_its_line_and_the_verdict_last() {
        let run = |seconds, updates| DemoRun {
            tweets: 1_000,
            seconds,
            tweets_per_second: 1_000.0 / seconds,
            windows: 20,
            ranking_updates: updates,
            late: 0,
        };
        let report = DemoReport {
            stream: run(0.5, 300),
            batch: run(0.25, 0),
            peak_memory_bytes: Some(40 << 20),
            identical: true,
            first_difference: None,
        };
        assert_eq!(
            report.to_string(),
            "stream: 1000 tweets in 0.50 s (2000 tweets/s), 20 windows, 300 ranking updates, 0 late\n\
             batch:  1000 tweets in 0.25 s (4000 tweets/s), 20 windows\n\
             peak memory: 40 MiB\n\
             identical: yes"
        );
        assert_eq!(serde_json::from_value::<DemoReport>(serde_json::to_value(&report).unwrap()).unwrap(), report);
    }
}
