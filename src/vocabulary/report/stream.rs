//! What `trendflow stream` reports: how its start went ([`StartReport`]), as soon as every local
//! worker has caught up, and what the run did ([`StreamRun`]), once it ends.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use trendflow_dataflows::window::format_duration;

use super::PeakMemory;

/// A stream's report. `--report PATH` writes it twice: when the stream has caught up (`run` still
/// `None`), so that a restart's figures are there while the stream reads on, and when it ends.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamReport {
    /// How the start went; `None` if the job ended before every local worker had caught up.
    pub started: Option<StartReport>,
    /// What the run did; `None` until it ends.
    pub run: Option<StreamRun>,
}

/// When each step of a stream's start ended, in milliseconds since the job started; what a
/// restart costs before the stream reads live input again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartReport {
    /// When the job started, in microseconds since the Unix epoch: the process's own start-up is
    /// the time from its spawn to this.
    pub job_started_at_us: u64,
    /// MySQL connected, the schema checked, the stored positions loaded.
    pub mysql_ms: u64,
    /// The topic's metadata read, and the stored positions found on the broker.
    pub broker_ms: u64,
    /// The view writer and the rankings' producer ready.
    pub sinks_ms: u64,
    /// Every local worker reading, with its consumer, producer and archive.
    pub workers_ms: u64,
    /// Every message the previous run had handled read again (into the graph only).
    pub replayed_ms: u64,
    pub replayed_messages: u64,
    /// Every partition read to the end the broker had.
    pub caught_up_ms: u64,
}

/// What a stream did, from its start to its end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamRun {
    /// The brokers: `Kafka at HOST:PORT`, with its settings (secrets masked).
    pub brokers: String,
    pub partitions: i32,
    /// The stored positions the stream resumed from, by partition; empty when it started afresh.
    pub resumed_from: BTreeMap<i32, i64>,
    pub seconds: f64,
    pub messages_consumed: u64,
    /// Messages consumed a second, between the first message and the last (not over the idle
    /// wait that ends a job).
    pub messages_per_second: f64,
    /// Windows closed, their final views written (layer speed).
    pub windows_closed: u64,
    pub snapshots_published: u64,
    /// Messages the broker confirmed, of the rankings published.
    pub snapshots_confirmed: u64,
    /// Messages sent to the dead-letter topic, the late ones included.
    pub dead_lettered: u64,
    /// Tweets behind the input frontier.
    pub late: u64,
    pub lateness_ms: u64,
    /// Messages that rightly hold no tweet (deletion notices, likes).
    pub skipped: u64,
    /// Copies of recent tweets, dropped.
    pub duplicates: u64,
    /// Tweets written to MySQL's master dataset.
    pub archived: u64,
    pub checkpoints_stored: u64,
    pub peak_memory_bytes: Option<u64>,
    /// Stopped by a signal: windows still open were not published as final.
    pub stopped_by_signal: bool,
}

/// The run's summary, once it has ended.
impl fmt::Display for StreamReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.run {
            Some(run) => run.fmt(f),
            None => Ok(()),
        }
    }
}

impl fmt::Display for StartReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MySQL {} ms, broker {} ms, sinks {} ms, workers reading {} ms, {} messages replayed {} ms, caught up {} ms",
            self.mysql_ms,
            self.broker_ms,
            self.sinks_ms,
            self.workers_ms,
            self.replayed_messages,
            self.replayed_ms,
            self.caught_up_ms
        )
    }
}

impl fmt::Display for StreamRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stream: {} messages consumed from {} partitions of {} in {:.2} s ({:.0} messages/s between the first \
             and the last); {} windows closed (layer speed), {} ranking snapshots ({} confirmed); {} dead-lettered \
             ({} late, lateness {}), {} skipped (no tweet), {} duplicates dropped, {} archived, {} checkpoints stored{}",
            self.messages_consumed,
            self.partitions,
            self.brokers,
            self.seconds,
            self.messages_per_second,
            self.windows_closed,
            self.snapshots_published,
            self.snapshots_confirmed,
            self.dead_lettered,
            self.late,
            format_duration(self.lateness_ms),
            self.skipped,
            self.duplicates,
            self.archived,
            self.checkpoints_stored,
            PeakMemory(self.peak_memory_bytes),
        )?;
        if self.stopped_by_signal {
            f.write_str(" (stopped by signal: open windows not published)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_reads_as_its_steps_in_order() {
        let start = StartReport {
            job_started_at_us: 1,
            mysql_ms: 31,
            broker_ms: 52,
            sinks_ms: 60,
            workers_ms: 70,
            replayed_ms: 700,
            replayed_messages: 30_123,
            caught_up_ms: 900,
        };
        assert_eq!(
            start.to_string(),
            "MySQL 31 ms, broker 52 ms, sinks 60 ms, workers reading 70 ms, 30123 messages replayed 700 ms, caught up 900 ms"
        );
    }

    #[test]
    fn the_summary_line_counts_every_message_and_says_how_the_run_ended() {
        let run = StreamRun {
            brokers: "Kafka at 127.0.0.1:9092".into(),
            partitions: 4,
            resumed_from: BTreeMap::from([(0, 17)]),
            seconds: 6.259,
            messages_consumed: 8_759,
            messages_per_second: 27_802.4,
            windows_closed: 24,
            snapshots_published: 1_609,
            snapshots_confirmed: 1_609,
            dead_lettered: 7,
            late: 1,
            lateness_ms: 5_000,
            skipped: 2,
            duplicates: 1,
            archived: 8_759,
            checkpoints_stored: 6,
            peak_memory_bytes: None,
            stopped_by_signal: true,
        };
        assert_eq!(
            run.to_string(),
            "stream: 8759 messages consumed from 4 partitions of Kafka at 127.0.0.1:9092 in 6.26 s (27802 messages/s \
             between the first and the last); 24 windows closed (layer speed), 1609 ranking snapshots (1609 \
             confirmed); 7 dead-lettered (1 late, lateness 5s), 2 skipped (no tweet), 1 duplicates dropped, 8759 \
             archived, 6 checkpoints stored (stopped by signal: open windows not published)"
        );
        let report = StreamReport { started: None, run: Some(run) };
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["run"]["resumed_from"]["0"], 17, "partitions are the keys");
        assert_eq!(serde_json::from_value::<StreamReport>(json).unwrap(), report);
    }
}
