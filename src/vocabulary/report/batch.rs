//! What `trendflow batch` reports.

use std::fmt;

use serde::{Deserialize, Serialize};
use trendflow_dataflows::EventTime;

use super::PeakMemory;
use crate::time::rfc3339;

/// A batch run: the history it read, how fast, and what it wrote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchReport {
    /// Where the history came from: `MySQL at HOST:PORT (user 'USER', database 'NAME')`.
    pub source: String,
    /// Tweets read from the history and run through the graph.
    pub tweets: u64,
    pub seconds: f64,
    pub tweets_per_second: f64,
    /// Windows whose final views were written (layer batch).
    pub windows_written: u64,
    /// Views of windows the history no longer holds, removed.
    pub stale_views_removed: u64,
    /// Per window spec, the latest window end the run covered: `serve` answers windows up to it
    /// from the batch layer. None when the history holds no tweet.
    pub boundaries: Vec<Boundary>,
    /// What each of this process's readers read of the history: the server reads their shares
    /// apart, each examining about its own rows.
    pub shares: Vec<ShareRead>,
    pub peak_memory_bytes: Option<u64>,
}

/// What one reader (a worker) read of the stored history, its share.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRead {
    /// The reader's number among all the run's readers (workers of every process).
    pub reader: usize,
    /// Rows of the share handed to the graph (those that break the input rules included).
    pub rows: u64,
    /// Rows the server examined to read them, by its handler counters (index entries stepped
    /// on, table rows read): about `rows` when the share is read apart from the others.
    pub rows_examined: u64,
}

/// The time boundary a batch run recorded for one window spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boundary {
    /// The window spec, as written on the command line (`5m/1m`).
    pub window: String,
    pub up_to_ms: EventTime,
}

impl fmt::Display for BatchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "batch: {} tweets from {} in {:.2} s ({:.0} tweets/s), {} windows written (layer batch), \
             {} stale views removed, ",
            self.tweets,
            self.source,
            self.seconds,
            self.tweets_per_second,
            self.windows_written,
            self.stale_views_removed
        )?;
        match self.boundaries.is_empty() {
            true => f.write_str("no boundary recorded (no tweets)")?,
            false => {
                let each: Vec<String> = self
                    .boundaries
                    .iter()
                    .map(|boundary| format!("{} up to {}", boundary.window, rfc3339(boundary.up_to_ms)))
                    .collect();
                write!(f, "boundaries {}", each.join(", "))?;
            }
        }
        let rows: u64 = self.shares.iter().map(|share| share.rows).sum();
        let examined: u64 = self.shares.iter().map(|share| share.rows_examined).sum();
        write!(f, ", {rows} rows read in {} shares ({examined} examined by the server)", self.shares.len())?;
        write!(f, "{}", PeakMemory(self.peak_memory_bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(boundaries: Vec<Boundary>) -> BatchReport {
        BatchReport {
            source: "MySQL at 127.0.0.1:3306 (user 'root', database 'trendflow')".into(),
            tweets: 8_759,
            seconds: 1.234,
            tweets_per_second: 7_098.1,
            windows_written: 24,
            stale_views_removed: 0,
            boundaries,
            shares: vec![
                ShareRead { reader: 0, rows: 4_300, rows_examined: 4_390 },
                ShareRead { reader: 1, rows: 4_459, rows_examined: 4_547 },
            ],
            peak_memory_bytes: Some(73 * 1024 * 1024),
        }
    }

    #[test]
    fn the_summary_line_says_what_the_run_read_and_wrote() {
        let one = Boundary { window: "1m".into(), up_to_ms: 1_630_281_660_000 };
        assert_eq!(
            report(vec![one]).to_string(),
            "batch: 8759 tweets from MySQL at 127.0.0.1:3306 (user 'root', database 'trendflow') in 1.23 s \
             (7098 tweets/s), 24 windows written (layer batch), 0 stale views removed, boundaries 1m up to \
             2021-08-30T00:01:00.000Z, 8759 rows read in 2 shares (8937 examined by the server), peak memory 73 MiB"
        );
        assert!(report(Vec::new()).to_string().contains("no boundary recorded (no tweets), 8759 rows read"));
    }

    #[test]
    fn the_report_reads_back_from_its_json() {
        let report = report(vec![Boundary { window: "5m/1m".into(), up_to_ms: 60_000 }]);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!((json["tweets"].as_u64(), json["boundaries"][0]["window"].as_str()), (Some(8_759), Some("5m/1m")));
        assert_eq!(serde_json::from_value::<BatchReport>(json).unwrap(), report);
    }
}
