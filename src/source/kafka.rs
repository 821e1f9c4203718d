//! The `tweets` topic: decoding its messages, and the watermarks that say how far a worker's
//! partitions are complete.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use trendflow_dataflows::{EventTime, Tweet};

use crate::source::formats::{parse_record, Format, Parsed};
use crate::source::seed_tweet::Ingestion;

/// The largest message accepted as a tweet. Tweets are at most a few kilobytes; anything far larger
/// is a producer's mistake, and parsing it would only cost memory.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// What a message of the `tweets` topic holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A tweet, with its `date_time` text as sent (to archive unchanged).
    Tweet(Tweet, String),
    /// No tweet, and rightly so (a deletion notice, a like): what it is.
    Skipped(String),
}

/// What a message of `format` ingested at `ingestion` holds, or why it holds nothing usable: the
/// reason goes to the dead-letter topic. A message holds one tweet (a Twitter v2 page of several
/// is refused: positions and duplicates are kept per message).
pub fn decode(payload: Option<&[u8]>, format: Format, ingestion: Ingestion) -> Result<Decoded, String> {
    let bytes = payload.filter(|bytes| !bytes.is_empty()).ok_or("empty message")?;
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(format!("message of {} bytes exceeds the limit of {MAX_MESSAGE_BYTES} bytes", bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("invalid UTF-8: {e}"))?;
    let row = match parse_record(text, format)? {
        Parsed::Skipped(what) => return Ok(Decoded::Skipped(what)),
        Parsed::Rows(mut rows) if rows.len() == 1 => rows.remove(0),
        Parsed::Rows(rows) => {
            return Err(format!("a page of {} tweets: send one tweet a message (the data array's items)", rows.len()))
        }
    };
    let date_time = row.date_time.clone().unwrap_or_default();
    row.ingest(ingestion).map(|tweet| Decoded::Tweet(tweet, date_time)).map_err(|e| e.to_string())
}

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

    /// The partitions that have delivered a tweet later than `time`.
    pub fn ahead_of(&self, time: EventTime) -> Vec<i32> {
        self.partitions.iter().filter(|p| p.latest.is_some_and(|latest| latest > time)).map(|p| p.partition).collect()
    }

    /// How long none of the partitions has delivered anything while the worker was caught up.
    pub fn quiet_for(&self) -> Duration {
        self.partitions.iter().map(|p| p.quiet).min().unwrap_or(Duration::MAX)
    }
}

/// Ids of the tweets fed lately, to drop copies of them: a producer's retry, a replayed partition,
/// the same tweet from two sources.
///
/// A copy older than the input frontier is late anyway and never reaches the graph, so only the
/// ids of tweets at or after the frontier need remembering: a lateness' worth of tweets. Copies
/// are caught by the worker that reads them, so they must share a partition, as they do when
/// keyed by tweet id.
#[derive(Debug, Default)]
pub struct RecentIds {
    ids: HashSet<u64>,
    by_time: BTreeMap<EventTime, Vec<u64>>,
}

impl RecentIds {
    /// Whether this is the first copy of tweet `id` (of event time `time`) since the frontier
    /// reached `frontier`; remembers it. Forgets the ids of tweets older than the frontier.
    pub fn first_sighting(&mut self, id: u64, time: EventTime, frontier: EventTime) -> bool {
        while let Some(entry) = self.by_time.first_entry().filter(|entry| *entry.key() < frontier) {
            for forgotten in entry.remove() {
                self.ids.remove(&forgotten);
            }
        }
        if !self.ids.insert(id) {
            return false;
        }
        self.by_time.entry(time).or_default().push(id);
        true
    }
}

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

    #[test]
    fn a_copy_is_dropped_while_its_tweet_is_at_or_after_the_frontier_and_forgotten_after() {
        let mut recent = RecentIds::default();
        assert!(recent.first_sighting(7, 10_000, 0));
        assert!(recent.first_sighting(8, 12_000, 0));
        assert!(!recent.first_sighting(7, 10_000, 9_000), "a redelivered copy");
        assert!(!recent.first_sighting(8, 12_000, 11_000), "tweet 8 is still at or after the frontier");
        assert!(recent.first_sighting(7, 10_000, 11_000), "forgotten: a copy behind the frontier is late anyway");
    }

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

    /// Ingested at the seed's start, with an hour's bound.
    const AT_SEED_START: Ingestion = Ingestion { at: 1_630_281_087_000, max_event_ahead_ms: 3_600_000 };

    #[test]
    fn bad_messages_say_what_is_wrong() {
        let reason = |payload: &[u8]| decode(Some(payload), Format::Auto, AT_SEED_START).unwrap_err();
        assert_eq!(decode(None, Format::Auto, AT_SEED_START).unwrap_err(), "empty message");
        assert!(reason(b"{\"tweet_id\": 1").starts_with("malformed tweet JSON"));
        assert!(reason(b"{\"tweet\": \"x\", \"date_time\": \"2021-08-29 19:51:27 EDT\"}")
            .contains("missing field `tweet_id`"));
        assert!(reason(b"{\"tweet_id\": \"one\"}").contains("invalid type"));
        assert!(reason(b"\xff\xfe").starts_with("invalid UTF-8"));
        assert!(reason(br#"{"tweet_id": 9, "tweet": "x", "date_time": "1970-01-01 00:00:00 UTC"}"#).contains("outside"));
        assert!(reason(&vec![b' '; MAX_MESSAGE_BYTES + 1]).contains("exceeds the limit"));
        assert!(reason(br#"{"tweet_id": 0, "tweet": "x", "date_time": "2021-08-29 19:51:27 EDT"}"#)
            .contains("tweet_id 0 is outside MySQL's bigint ids"));
        assert!(reason(br#"{"tweet_id": 9223372036854775808, "tweet": "x", "date_time": "2021-08-29 19:51:27 EDT"}"#)
            .contains("is outside MySQL's bigint ids"));
        assert!(reason(br#"{"tweet_id": 9, "tweet": "x", "date_time": "2099-08-29 19:51:27 EDT"}"#)
            .contains("ahead of its ingestion time"));
        let seed = br##"{"tweet_id": 9, "tweet": "#a", "date_time": "2021-08-29 19:51:27 EDT", "language": "en", "extra": [1]}"##;
        let Ok(Decoded::Tweet(tweet, date_time)) = decode(Some(seed), Format::Auto, AT_SEED_START) else {
            panic!("a tweet")
        };
        assert_eq!((tweet.id, tweet.created_at, date_time.as_str()), (9, 1_630_281_087_000, "2021-08-29 19:51:27 EDT"));
        let page = br#"{"data": [{"id": "1", "text": "a"}, {"id": "2", "text": "b"}]}"#;
        assert!(reason(page).starts_with("a page of 2 tweets"));
    }

    #[test]
    fn messages_of_every_format_decode_and_notices_are_skipped() {
        let v1 = br##"{"id_str": "9", "created_at": "Sun Aug 29 23:51:27 +0000 2021", "text": "#a", "lang": "en"}"##;
        let Ok(Decoded::Tweet(tweet, _)) = decode(Some(v1), Format::Auto, AT_SEED_START) else { panic!("a tweet") };
        assert_eq!((tweet.id, tweet.created_at), (9, 1_630_281_087_000));
        let deletion = br#"{"delete": {"status": {"id_str": "9"}}}"#;
        assert_eq!(
            decode(Some(deletion), Format::Auto, AT_SEED_START),
            Ok(Decoded::Skipped("Twitter v1.1 delete notice".into()))
        );
        assert!(decode(Some(v1), Format::Jetstream, AT_SEED_START).unwrap_err().contains("Jetstream"));
    }
}
