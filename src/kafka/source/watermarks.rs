//! How far a worker's partitions are complete: their watermarks, and when a quiet one is idle.

use std::time::{Duration, Instant};

use trendflow_dataflows::EventTime;

/// The most quiet time one round of reading adds: a caught-up round takes a few milliseconds
/// (a poll and a short park); anything longer was spent working, not waiting for input.
pub const MAX_QUIET_PER_ROUND: Duration = Duration::from_millis(100);

/// What one worker knows of its partitions' progress.
///
/// A partition's watermark is the latest event time seen on it minus the allowed lateness; the
/// worker's is the least over its partitions, so that no partition's on-time tweets are late.
///
/// A partition that has delivered nothing for the idle timeout stops counting (otherwise one quiet
/// partition would hold every window open forever); when it delivers again it counts again, and
/// whatever it delivers behind the frontier by then is late. Quiet time only accrues while the
/// partition is read to its end (the consumer said so, and nothing came since) and the worker is
/// caught up — in rounds that drained everything the consumer had fetched — and at most
/// [`MAX_QUIET_PER_ROUND`] a round. So a partition with a backlog on a slow broker, one waiting
/// behind another's backlog, or one whose worker is busy writing, is never taken for idle.
/// Before a partition has delivered anything, it holds the watermark at zero until it turns idle.
#[derive(Debug)]
pub struct PartitionWatermarks {
    partitions: Vec<PartitionProgress>,
    lateness_ms: u64,
    idle_after: Duration,
    round_ended: Instant,
}

#[derive(Debug)]
struct PartitionProgress {
    partition: i32,
    latest: Option<EventTime>,
    quiet: Duration,
    seen_this_round: bool,
    at_end: bool,
}

impl PartitionWatermarks {
    /// Progress of `partitions`, none of them heard from yet, as of `now`.
    pub fn new(partitions: &[i32], lateness_ms: u64, idle_after: Duration, now: Instant) -> Self {
        let partitions = partitions
            .iter()
            .map(|&partition| PartitionProgress {
                partition,
                latest: None,
                quiet: Duration::ZERO,
                seen_this_round: false,
                at_end: false,
            })
            .collect();
        PartitionWatermarks { partitions, lateness_ms, idle_after, round_ended: now }
    }

    /// Records that `partition` delivered a tweet of event time `time`.
    pub fn observe(&mut self, partition: i32, time: EventTime) {
        if let Some(progress) = self.partitions.iter_mut().find(|p| p.partition == partition) {
            progress.latest = Some(progress.latest.map_or(time, |latest| latest.max(time)));
            progress.quiet = Duration::ZERO;
            progress.seen_this_round = true;
            progress.at_end = false;
        }
    }

    /// Records that the consumer has read `partition` to its end.
    pub fn reached_end(&mut self, partition: i32) {
        if let Some(progress) = self.partitions.iter_mut().find(|p| p.partition == partition) {
            progress.at_end = true;
        }
    }

    /// Ends a round of reading at `now`. If the round `drained` the consumer, the partitions it
    /// heard nothing from have been quiet since the last round ended (counted up to
    /// [`MAX_QUIET_PER_ROUND`]: a long round was busy, not waiting for them).
    pub fn end_round(&mut self, drained: bool, now: Instant) {
        let elapsed = now.duration_since(self.round_ended).min(MAX_QUIET_PER_ROUND);
        for progress in &mut self.partitions {
            if drained && progress.at_end && !progress.seen_this_round {
                progress.quiet += elapsed;
            }
            progress.seen_this_round = false;
        }
        self.round_ended = now;
    }

    /// The least watermark of the partitions that are not idle; `None` if all are idle.
    pub fn watermark(&self) -> Option<EventTime> {
        self.partitions
            .iter()
            .filter(|p| p.quiet < self.idle_after)
            .map(|p| p.latest.map_or(0, |latest| latest.saturating_sub(self.lateness_ms)))
            .min()
    }

    /// Each partition's own watermark: the latest event time it delivered, less the lateness;
    /// `None` before it delivered anything.
    pub fn each(&self) -> impl Iterator<Item = (i32, Option<EventTime>)> + '_ {
        self.partitions.iter().map(|p| (p.partition, p.latest.map(|latest| latest.saturating_sub(self.lateness_ms))))
    }

    /// The partitions that have delivered a tweet later than `time`.
    pub fn ahead_of(&self, time: EventTime) -> Vec<i32> {
        self.partitions.iter().filter(|p| p.latest.is_some_and(|latest| latest > time)).map(|p| p.partition).collect()
    }

    /// How long none of the partitions has delivered anything while the worker was caught up.
    pub fn quiet_for(&self) -> Duration {
        self.partitions.iter().map(|p| p.quiet).min().unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(5);

    #[test]
    fn the_slowest_active_partition_sets_the_watermark() {
        let start = Instant::now();
        let mut marks = PartitionWatermarks::new(&[0, 3], 1_000, IDLE, start);
        assert_eq!(marks.watermark(), Some(0), "a partition that delivered nothing yet holds the watermark");
        marks.observe(0, 50_000);
        marks.observe(3, 20_000);
        marks.observe(3, 10_000);
        marks.end_round(true, start);
        assert_eq!(marks.watermark(), Some(19_000));
        assert_eq!(marks.ahead_of(20_000), vec![0], "partition 0 is far ahead");
        assert_eq!(marks.ahead_of(50_000), Vec::<i32>::new());
    }

    /// Ends caught-up rounds every 10 ms from `from` for `millis`, with every partition read to its
    /// end; returns when they ended.
    fn quiet_rounds(marks: &mut PartitionWatermarks, from: Instant, millis: u64) -> Instant {
        for partition in 0..2 {
            marks.reached_end(partition);
        }
        for step in 1..=millis / 10 {
            marks.end_round(true, from + Duration::from_millis(step * 10));
        }
        from + Duration::from_millis(millis)
    }

    #[test]
    fn an_idle_partition_stops_holding_back_the_others_until_it_delivers_again() {
        let start = Instant::now();
        let mut marks = PartitionWatermarks::new(&[0, 1], 0, IDLE, start);
        marks.observe(0, 10_000);
        marks.observe(1, 90_000);
        let now = quiet_rounds(&mut marks, start, 3_000);
        assert_eq!(marks.watermark(), Some(10_000));
        marks.observe(1, 91_000);
        let now = quiet_rounds(&mut marks, now, 3_000);
        assert_eq!(marks.watermark(), Some(91_000), "partition 0 has been quiet for 6 s");
        marks.observe(0, 11_000);
        let now = quiet_rounds(&mut marks, now, 1_000);
        assert_eq!(marks.watermark(), Some(11_000), "partition 0 counts again");
        quiet_rounds(&mut marks, now, 12_000);
        assert_eq!(marks.watermark(), None, "all idle");
        assert_eq!(marks.quiet_for(), Duration::from_millis(12_990), "the round that heard from it adds nothing");
    }

    #[test]
    fn a_partition_behind_a_backlog_or_a_busy_worker_is_not_idle() {
        let start = Instant::now();
        let mut marks = PartitionWatermarks::new(&[0, 1], 0, IDLE, start);
        marks.observe(0, 10_000);
        marks.observe(1, 10_000);
        marks.end_round(true, start);
        for round in 1..=10 {
            marks.observe(0, 10_000 + round * 1_000);
            // A full round (the consumer still has messages) that took a second, say writing.
            marks.end_round(false, start + Duration::from_secs(round));
        }
        assert_eq!(marks.watermark(), Some(10_000), "partition 1 may have data queued behind partition 0's");
        // Drained rounds that each took seconds (a worker blocked on a slow broker) count little.
        for round in 11..=20 {
            marks.observe(0, 10_000 + round * 1_000);
            marks.end_round(true, start + Duration::from_secs(round));
        }
        assert_eq!(marks.watermark(), Some(10_000), "ten busy rounds add a second of quiet, not ten");
    }

    #[test]
    fn a_partition_not_read_to_its_end_is_never_idle() {
        let start = Instant::now();
        let mut marks = PartitionWatermarks::new(&[0, 1], 0, IDLE, start);
        marks.observe(0, 10_000);
        marks.observe(1, 90_000);
        marks.reached_end(1);
        for step in 1..=1_000 {
            // The consumer has nothing fetched, but partition 0 has more on a slow broker.
            marks.end_round(true, start + Duration::from_millis(step * 10));
        }
        assert_eq!(marks.watermark(), Some(10_000), "partition 0 holds the watermark");
        assert_eq!(marks.quiet_for(), Duration::ZERO);
    }
}
