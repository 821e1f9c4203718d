//! What `trendflow produce` reports.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a producer sent, and what the broker confirmed of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProduceReport {
    /// Where the tweets came from: the MySQL database, `the generator`, or a file's path.
    pub source: String,
    pub topic: String,
    pub sent: u64,
    pub seconds: f64,
    pub tweets_per_second: f64,
    /// Messages the broker confirmed, and those it refused.
    pub confirmed: u64,
    pub failed: u64,
    /// Stopped by a signal before the source's end.
    pub interrupted: bool,
    /// With `--from FILE`: records that hold no tweet (deletion notices), and records that could
    /// not be read (logged with their reasons); neither is sent.
    pub not_tweets: u64,
    pub unreadable: u64,
    /// With `--follow`: what change capture did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow: Option<FollowReport>,
}

/// What `produce --follow` read from MySQL and did with it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FollowReport {
    /// The stored binary log position it resumed from; none when it started with a snapshot (or
    /// at the log's end, with `--skip-snapshot`).
    pub resumed_from: Option<String>,
    /// Rows of the snapshot sent.
    pub snapshot_rows: u64,
    /// Rows inserted or updated after it, read from the binary log, and sent.
    pub followed_rows: u64,
    /// Rows deleted: tweets are immutable here, a delete is not followed.
    pub deletes_ignored: u64,
    /// Rows that break the input rules, sent to the dead-letter topic with their reasons.
    pub dead_lettered: u64,
    /// Rows written without an event time, given theirs (parsed from `date_time`).
    pub event_times_filled: u64,
    /// The position stored last: a restart resumes from it.
    pub stored_position: Option<String>,
}

impl fmt::Display for ProduceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "produce: {} tweets from {} to '{}' in {:.2} s ({:.0} tweets/s), {} confirmed, {} failed",
            self.sent, self.source, self.topic, self.seconds, self.tweets_per_second, self.confirmed, self.failed
        )?;
        if self.interrupted {
            f.write_str(" (interrupted)")?;
        }
        if self.not_tweets + self.unreadable > 0 {
            write!(
                f,
                "\nleft out of the file: {} records that hold no tweet, {} unreadable (see the warnings)",
                self.not_tweets, self.unreadable
            )?;
        }
        if let Some(follow) = &self.follow {
            let start = match &follow.resumed_from {
                Some(position) => format!("resumed from {position}"),
                None => format!("after a snapshot of {} rows", follow.snapshot_rows),
            };
            write!(
                f,
                "\nfollowed the binary log ({start}): {} rows sent, {} dead-lettered, {} deletes ignored, \
                 {} event times filled in; position stored: {}",
                follow.followed_rows,
                follow.dead_lettered,
                follow.deletes_ignored,
                follow.event_times_filled,
                follow.stored_position.as_deref().unwrap_or("none")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_left_out_of_a_file_gets_a_line_of_its_own() {
        let mut report = ProduceReport {
            source: "the generator".into(),
            topic: "tweets".into(),
            sent: 8_759,
            seconds: 2.0,
            tweets_per_second: 4_379.5,
            confirmed: 8_759,
            failed: 0,
            interrupted: false,
            not_tweets: 0,
            unreadable: 0,
            follow: None,
        };
        assert_eq!(
            report.to_string(),
            "produce: 8759 tweets from the generator to 'tweets' in 2.00 s (4380 tweets/s), 8759 confirmed, 0 failed"
        );
        (report.interrupted, report.not_tweets) = (true, 2);
        assert!(report.to_string().ends_with(
            "0 failed (interrupted)\nleft out of the file: 2 records that hold no tweet, 0 unreadable (see the warnings)"
        ));
    }
}
