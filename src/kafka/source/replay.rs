//! Where each of a worker's partitions must be read again from to rebuild the windows not yet
//! published ([`ReplayPoint`]), and the checkpoints that say so ([`Positions`]).

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use trendflow_dataflows::EventTime;

use crate::checkpoint::{Checkpoint, PartitionPosition, ResumePoint};

/// The granularity of [`ReplayPoint`]: a restart may read up to about this much event time more
/// than it needs to, and a partition's point holds one entry per this much of the window horizon.
const REPLAY_GRANULARITY_MS: u64 = 1_000;

/// Where a restart must read a partition again from to see every tweet from some event time on.
///
/// A partition's tweets arrive nearly in event-time order, but a tweet may follow later ones (by
/// up to the lateness, or more if it is late). The first offset holding a tweet at or after time
/// `c` is necessarily one whose tweet is later than every tweet before it: a record high. So the
/// point keeps the offsets where the record high first entered a new second of event time, and
/// answers with the first of them in or after `c`'s second: never after the exact offset, and
/// before it by at most about a second's worth of tweets.
///
/// It also knows how far an earlier run had read (`read_to`): the messages before that were
/// archived, dead-lettered and their hashtags published then, so reading them again only feeds
/// the graph.
#[derive(Debug, Clone, Default)]
pub struct ReplayPoint {
    /// The offset after the last message read, or the offset reading started from.
    next: Option<i64>,
    /// `(offset, granule)`: where the record high's granule of event time first rose to `granule`.
    highs: VecDeque<(i64, u64)>,
    /// The offset before which an earlier run had handled every message.
    handled_before: Option<i64>,
}

impl ReplayPoint {
    /// A partition read from `offset` (`None`: from its beginning), whose messages before
    /// `handled_before` an earlier run has handled.
    pub fn starting_at(offset: Option<i64>, handled_before: Option<i64>) -> Self {
        ReplayPoint { next: offset, highs: VecDeque::new(), handled_before }
    }

    /// Whether an earlier run handled the message at `offset` already.
    pub fn handled_before(&self, offset: i64) -> bool {
        self.handled_before.is_some_and(|before| offset < before)
    }

    /// Whether this run has read again every message an earlier run had handled.
    pub fn replayed(&self) -> bool {
        match (self.handled_before, self.next) {
            (Some(before), Some(next)) => next >= before,
            (Some(_), None) => false,
            (None, _) => true,
        }
    }

    /// The offset before which every message has been handled, by this run or an earlier one:
    /// what a checkpoint stores once this run's writes are flushed.
    pub fn handled_to(&self) -> Option<i64> {
        self.next.max(self.handled_before)
    }

    /// Records the message at `offset`, with the event time of the tweet it holds, if it holds one.
    pub fn read(&mut self, offset: i64, time: Option<EventTime>) {
        self.next = Some(offset + 1);
        if let Some(granule) = time.map(|time| time / REPLAY_GRANULARITY_MS) {
            if self.highs.back().is_none_or(|&(_, high)| granule > high) {
                self.highs.push_back((offset, granule));
            }
        }
    }

    /// The offset to read again from to see every tweet of event time at or after `from`, or
    /// `None` if this run has read nothing and did not start at a known offset. `from` must not
    /// decrease from one call to the next: what it passes is forgotten.
    pub fn replay_from(&mut self, from: EventTime) -> Option<i64> {
        let granule = from / REPLAY_GRANULARITY_MS;
        while self.highs.front().is_some_and(|&(_, high)| high < granule) {
            self.highs.pop_front();
        }
        self.highs.front().map(|&(offset, _)| offset).or(self.next)
    }
}

/// Where a worker's partitions must be read again from, for its checkpoints.
pub struct Positions {
    worker: usize,
    points: BTreeMap<i32, ReplayPoint>,
    horizon_ms: u64,
    /// Windows starting before this were written before a restart: never rebuild earlier.
    rebuild_from: EventTime,
    /// When the last checkpoint was taken.
    taken: Instant,
    /// The last checkpoint handed over: an idle stream does not store the same one again.
    last_taken: Option<Checkpoint>,
}

impl Positions {
    /// The positions of worker `worker`'s `partitions`, read from where `resume` says, for a
    /// graph whose longest window is `horizon_ms`.
    pub fn new(worker: usize, partitions: &[i32], resume: &ResumePoint, horizon_ms: u64) -> Self {
        let points = partitions
            .iter()
            .map(|p| {
                let (offset, handled_to) = (resume.offsets.get(p), resume.handled_to.get(p));
                (*p, ReplayPoint::starting_at(offset.copied(), handled_to.copied()))
            })
            .collect();
        Positions {
            worker,
            points,
            horizon_ms,
            rebuild_from: resume.rebuild_from,
            taken: Instant::now(),
            last_taken: None,
        }
    }

    /// Records the message at `offset` of `partition`; returns whether an earlier run handled
    /// it before it stopped.
    pub fn read(&mut self, partition: i32, offset: i64, time: Option<EventTime>) -> bool {
        let Some(point) = self.points.get_mut(&partition) else { return false };
        let handled = point.handled_before(offset);
        point.read(offset, time);
        handled
    }

    /// The offset after the last message read of `partition` (or where reading starts).
    pub fn next_offset(&self, partition: i32) -> Option<i64> {
        self.points.get(&partition)?.next
    }

    /// Whether every message an earlier run handled has been read again.
    pub fn replayed(&self) -> bool {
        self.points.values().all(ReplayPoint::replayed)
    }

    /// When the last checkpoint was taken.
    pub fn taken(&self) -> Instant {
        self.taken
    }

    /// A checkpoint that rebuilds every window the cluster has not yet published in full: those
    /// that end after `published_before` (the graph's output frontier), which start less than
    /// the longest window before it. `None` once the graph is done, or if nothing moved since the
    /// last one.
    pub fn checkpoint(&mut self, published_before: Option<EventTime>, last: bool) -> Option<Checkpoint> {
        self.taken = Instant::now();
        let published_before = published_before?;
        let rebuilds_from = published_before.saturating_sub(self.horizon_ms).max(self.rebuild_from);
        let positions = self
            .points
            .iter_mut()
            .filter_map(|(&partition, point)| {
                let replay_from = point.replay_from(rebuilds_from)?;
                let handled_to = point.handled_to().unwrap_or(replay_from);
                Some(PartitionPosition { partition, replay_from, handled_to })
            })
            .collect();
        let checkpoint = Checkpoint { worker: self.worker, published_before, positions, rebuilds_from, last };
        if self.last_taken.as_ref() == Some(&checkpoint) {
            return None;
        }
        self.last_taken = Some(checkpoint.clone());
        Some(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact answer: the first offset whose tweet is at or after `from`, or the end.
    fn first_offset_from(times: &[Option<EventTime>], from: EventTime) -> i64 {
        times.iter().position(|time| time.is_some_and(|time| time >= from)).unwrap_or(times.len()) as i64
    }

    #[test]
    fn a_replay_point_never_skips_a_tweet_it_must_rebuild_and_rereads_little() {
        // Out of order by up to three seconds, with messages that are not tweets in between.
        let times: Vec<Option<EventTime>> =
            (0..2_000u64).map(|i| (i % 7 != 3).then_some(10_000 + i * 100 - (i * 7_919 % 30) * 100)).collect();
        let mut point = ReplayPoint::starting_at(None, None);
        assert_eq!(point.replay_from(0), None, "nothing read yet");
        for (offset, time) in times.iter().enumerate() {
            point.read(offset as i64, *time);
        }
        for from in (0..220_000).step_by(1_700) {
            let exact = first_offset_from(&times, from);
            let answer = point.replay_from(from).unwrap();
            assert!(answer <= exact, "from {from}: {answer} skips the tweet at {exact}");
            // Ten tweets a second: a second's granule and three seconds of disorder, about 40.
            assert!(exact - answer <= 50, "from {from}: rereads {} messages", exact - answer);
        }
        assert_eq!(point.replay_from(u64::MAX), Some(2_000), "past every tweet: the end");
        assert!(point.highs.is_empty(), "what a restart no longer needs is forgotten");
    }

    #[test]
    fn a_replay_point_started_at_a_stored_offset_answers_it_until_it_reads() {
        let mut point = ReplayPoint::starting_at(Some(41), None);
        assert_eq!(point.replay_from(5_000), Some(41));
        point.read(41, None);
        assert_eq!(point.replay_from(5_000), Some(42));
        point.read(42, Some(9_000));
        assert_eq!(point.replay_from(6_000), Some(42));
    }

    #[test]
    fn a_replay_point_tells_the_messages_an_earlier_run_handled_from_new_ones() {
        let mut point = ReplayPoint::starting_at(Some(40), Some(43));
        assert_eq!(point.handled_to(), Some(43), "nothing read again yet: the earlier run's position stands");
        assert!(point.handled_before(40) && point.handled_before(42) && !point.handled_before(43));
        point.read(40, Some(1_000));
        point.read(41, Some(2_000));
        assert!(!point.replayed());
        assert_eq!(point.handled_to(), Some(43));
        point.read(42, Some(3_000));
        assert!(point.replayed());
        point.read(43, Some(4_000));
        assert_eq!(point.handled_to(), Some(44));
        assert!(ReplayPoint::starting_at(None, None).replayed(), "nothing to read again");
        assert!(!ReplayPoint::starting_at(None, Some(5)).replayed());
    }

    #[test]
    fn a_checkpoint_rebuilds_the_windows_not_yet_published_and_is_not_repeated() {
        let resume = ResumePoint { rebuild_from: 2_000, ..ResumePoint::default() };
        let mut positions = Positions::new(3, &[1, 5], &resume, 10_000);
        for (offset, time) in [(0, 1_000), (1, 9_000), (2, 15_000), (3, 30_000)] {
            assert!(!positions.read(1, offset, Some(time)), "nothing was handled before");
        }
        let checkpoint = positions.checkpoint(Some(26_000), false).expect("a first checkpoint");
        // Windows ending after 26 s start after 16 s: partition 1 is read again from the first
        // tweet at or after that; partition 5, never read, has no position yet.
        assert_eq!(checkpoint.rebuilds_from, 16_000);
        assert_eq!(checkpoint.positions, [PartitionPosition { partition: 1, replay_from: 3, handled_to: 4 }]);
        assert_eq!((checkpoint.worker, checkpoint.published_before, checkpoint.last), (3, 26_000, false));
        assert_eq!(positions.checkpoint(Some(26_000), false), None, "the same checkpoint is not handed over twice");
        assert_eq!(positions.checkpoint(None, true), None, "the graph is done: nothing to rebuild");
        // Never earlier than what a restart was told is written.
        let mut early = Positions::new(0, &[1], &resume, 10_000);
        early.read(1, 0, Some(1_000));
        assert_eq!(early.checkpoint(Some(5_000), true).unwrap().rebuilds_from, 2_000);
    }
}
