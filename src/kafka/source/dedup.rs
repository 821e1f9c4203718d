//! Telling a tweet read again from a new one. The master dataset is immutable (first write wins),
//! and the stream counts a tweet once, at its first event time, as the batch layer does. A tweet
//! whose id was read before is a *copy* if its values are the same (dropped, counted as a
//! duplicate) and a *conflict* if they differ (dead-lettered with the reason, never fed to the
//! graph nor archived). A worker tells which by the tweets it remembers ([`RecentIds`]) and, with
//! the archive on, by the master dataset ([`SeenTweets`]): the ids of a burst's tweets it does not
//! remember are looked up there, in one query by primary key. A stored row with other values
//! makes a conflict; one with the same values does not, and the tweet is fed: that is a restart
//! reading again what it archived before, or a tweet first loaded by `db load`.
//!
//! The rule for the race between the archive's thread and the lookup: a worker forgets a tweet
//! only once its event time is behind the input frontier *and* a checkpoint's flush has found
//! the archive holding it (the job's [`Durability`](super::checkpointing::Durability) said so).
//! Until then memory answers for it; after, the master dataset does. So a conflicting copy finds
//! its first in one or the other, however slow the archive. With `--no-archive` there is no master dataset to consult: memory forgets a
//! tweet at the frontier, and conflicts are caught only within the lateness; a copy with another
//! event time that comes later is counted again at its time. Either way, copies are caught by the
//! worker that reads them: a producer that sends one id to two partitions may have it counted
//! twice by the stream, though the archive still stores only the first (and logs the conflict).
//!
//! The lookup costs one primary-key `SELECT` per burst of messages that holds a tweet the worker
//! does not remember, and nothing with `--no-archive`. Against MariaDB on the same host (2 busy
//! cores, 8,759 tweets stored, none of the ids found) it took 0.11 ms for a burst of one tweet,
//! 0.23 ms for 64, and about 2 µs a tweet for bursts of hundreds or thousands.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hasher;

use anyhow::Result;
use trendflow_dataflows::{EventTime, Tweet};

use crate::mysql::MysqlConfig;
use crate::mysql::{conflict_reason, FirstCopy, KeptTweet, StoredTweets};
use crate::time::rfc3339;
use crate::vocabulary::rejection::Reason;

/// What a worker keeps of a tweet it read, to tell a copy (the same values) from a conflict (the
/// same id, other values): its event time, and a hash of the other values the views count (text,
/// language, author, retweeted tweet). Sixteen bytes, whatever the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TweetFingerprint {
    created_at: EventTime,
    contents: u64,
}

impl TweetFingerprint {
    pub fn of(tweet: &Tweet) -> Self {
        let mut hasher = fnv::FnvHasher::default();
        // 0xff never occurs in UTF-8: it ends the text and the language unambiguously.
        for text in [&tweet.text, &tweet.lang] {
            hasher.write(text.as_bytes());
            hasher.write_u8(0xff);
        }
        for id in [tweet.user_id, tweet.retweet_of] {
            match id {
                Some(id) => {
                    hasher.write_u8(1);
                    hasher.write_u64(id);
                }
                None => hasher.write_u8(0),
            }
        }
        TweetFingerprint { created_at: tweet.created_at, contents: hasher.finish() }
    }

    /// What of `sent` differs from this first copy, as far as a fingerprint tells.
    fn differences(&self, sent: &TweetFingerprint) -> Vec<String> {
        let mut differences = Vec::new();
        if self.created_at != sent.created_at {
            differences.push(format!("created_at {}, not {}", rfc3339(self.created_at), rfc3339(sent.created_at)));
        }
        if self.contents != sent.contents {
            differences.push("another text, language, user_id or retweet_of".into());
        }
        differences
    }
}

/// What a tweet read is, to the tweets a worker remembers.
#[derive(Debug, PartialEq, Eq)]
pub enum Sighting {
    /// None of them: new, as far as the worker remembers.
    New,
    /// A copy of one of them, with its values: dropped.
    Copy,
    /// Its id with other values: the reason, for the dead letter.
    Conflict(Reason),
}

/// How far the worker's reading has got when it asks its job to flush the archive: a tweet
/// remembered before is stored once the flush is durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RememberedBefore(u64);

/// The tweets read lately, to drop copies of them (a producer's retry, a replayed partition, the
/// same tweet from two sources) and refuse conflicts (the same id with other values).
///
/// A tweet is remembered until two things hold: its event time is behind the input frontier (a
/// copy of it is late then, and never reaches the graph at its time), and, with the archive on,
/// the archive has stored it ([`RecentIds::archived`]; from then on the master dataset answers
/// for it, and the reader looks there for what it does not remember). So memory holds a
/// lateness' worth of tweets, and the archive's last second or so; and there is no moment at
/// which a tweet is in neither. Without an archive a tweet is forgotten at the frontier, and a
/// conflicting copy that comes later, with an event time at or after the frontier, is taken for
/// new: conflicts are caught only within the lateness.
///
/// Copies are caught by the worker that reads them, so they must share a partition, as they do
/// when keyed by tweet id.
#[derive(Debug)]
pub struct RecentIds {
    tweets: HashMap<u64, TweetFingerprint>,
    /// With the archive on: the tweets remembered and perhaps not yet stored, in the order
    /// remembered, with their number in that order and their event times.
    unarchived: VecDeque<(u64, u64, EventTime)>,
    /// The tweets only the frontier keeps remembered, by event time.
    by_time: BTreeMap<EventTime, Vec<u64>>,
    remembered: u64,
    archive: bool,
}

impl RecentIds {
    /// Memory for a worker whose tweets are archived (`archive`), or not.
    pub fn new(archive: bool) -> Self {
        RecentIds {
            tweets: HashMap::new(),
            unarchived: VecDeque::new(),
            by_time: BTreeMap::new(),
            remembered: 0,
            archive,
        }
    }

    /// Forgets the stored tweets (all, without an archive) older than `frontier`.
    pub fn forget_before(&mut self, frontier: EventTime) {
        while let Some(entry) = self.by_time.first_entry().filter(|entry| *entry.key() < frontier) {
            for forgotten in entry.remove() {
                self.tweets.remove(&forgotten);
            }
        }
    }

    /// Whether tweet `id` is remembered.
    pub fn knows(&self, id: u64) -> bool {
        self.tweets.contains_key(&id)
    }

    /// What tweet `id` with `fingerprint` is to the tweets remembered.
    pub fn sighting(&self, id: u64, fingerprint: &TweetFingerprint) -> Sighting {
        match self.tweets.get(&id) {
            None => Sighting::New,
            Some(first) if first == fingerprint => Sighting::Copy,
            Some(first) => Sighting::Conflict(conflict_reason(id, FirstCopy::Read, &first.differences(fingerprint))),
        }
    }

    /// Remembers tweet `id`, unless remembered already.
    pub fn remember(&mut self, id: u64, fingerprint: TweetFingerprint) {
        if self.tweets.insert(id, fingerprint).is_some() {
            return;
        }
        match self.archive {
            true => self.unarchived.push_back((self.remembered, id, fingerprint.created_at)),
            false => self.by_time.entry(fingerprint.created_at).or_default().push(id),
        }
        self.remembered += 1;
    }

    /// How far remembering has got: what the archive holds once a flush asked for now is durable.
    pub fn mark(&self) -> RememberedBefore {
        RememberedBefore(self.remembered)
    }

    /// Notes that the archive has stored every tweet remembered before `mark`: the frontier alone
    /// keeps them remembered now.
    pub fn archived(&mut self, mark: RememberedBefore) {
        while let Some(&(_, id, time)) = self.unarchived.front().filter(|(number, _, _)| *number < mark.0) {
            self.unarchived.pop_front();
            self.by_time.entry(time).or_default().push(id);
        }
    }
}

/// The tweets a worker has read before: those it remembers, and, with the archive on, the master
/// dataset, asked about each burst's tweets that memory does not know at once.
pub struct SeenTweets {
    recent: RecentIds,
    master: Option<StoredTweets>,
    /// The master dataset's values of the current burst's tweets, of those it holds.
    stored: HashMap<u64, KeptTweet>,
}

impl SeenTweets {
    /// Nothing seen yet; with `master`, the master dataset the job archives into, where the tweets
    /// the worker no longer remembers are looked up.
    pub fn open(master: Option<&MysqlConfig>) -> Result<Self> {
        Ok(SeenTweets {
            recent: RecentIds::new(master.is_some()),
            master: master.map(StoredTweets::open).transpose()?,
            stored: HashMap::new(),
        })
    }

    /// Gets ready for a burst of `tweets` read while the input frontier is at `frontier`:
    /// forgets what the frontier has passed, and looks the tweets memory does not know up in the
    /// master dataset, each once, in one query.
    pub fn look_up<'t>(&mut self, tweets: impl Iterator<Item = &'t Tweet>, frontier: EventTime) -> Result<()> {
        self.recent.forget_before(frontier);
        self.stored = match self.master.as_mut() {
            Some(master) => {
                let mut ids: Vec<u64> = tweets.map(|tweet| tweet.id).filter(|id| !self.recent.knows(*id)).collect();
                ids.sort_unstable();
                ids.dedup();
                master.kept(&ids)?
            }
            None => HashMap::new(),
        };
        Ok(())
    }

    /// What `tweet` of the burst is: to the tweets remembered, or else to the master dataset's
    /// values. A new one is remembered from now on.
    pub fn sight(&mut self, tweet: &Tweet) -> Sighting {
        let fingerprint = TweetFingerprint::of(tweet);
        let sighting = match self.recent.sighting(tweet.id, &fingerprint) {
            Sighting::New => match self.stored.get(&tweet.id).map(|kept| kept.differences(tweet)) {
                Some(differences) if !differences.is_empty() => {
                    Sighting::Conflict(conflict_reason(tweet.id, FirstCopy::Stored, &differences))
                }
                _ => Sighting::New,
            },
            remembered => remembered,
        };
        if sighting == Sighting::New {
            self.recent.remember(tweet.id, fingerprint);
        }
        sighting
    }

    /// How far remembering has got: what the archive holds once a flush asked for now is durable.
    pub fn mark(&self) -> RememberedBefore {
        self.recent.mark()
    }

    /// Notes that the archive has stored every tweet remembered before `mark`.
    pub fn archived(&mut self, mark: RememberedBefore) {
        self.recent.archived(mark);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::rejection::RejectionKind;

    fn tweet(id: u64, created_at: EventTime, text: &str) -> Tweet {
        Tweet { id, text: text.into(), created_at, lang: "en".into(), user_id: Some(3), retweet_of: None }
    }

    /// Remembers `tweet` if it is new to `recent`, as the reader does; returns what it was.
    fn read(recent: &mut RecentIds, tweet: &Tweet, frontier: EventTime) -> Sighting {
        recent.forget_before(frontier);
        let fingerprint = TweetFingerprint::of(tweet);
        let sighting = recent.sighting(tweet.id, &fingerprint);
        if sighting == Sighting::New {
            recent.remember(tweet.id, fingerprint);
        }
        sighting
    }

    #[test]
    fn a_copy_is_dropped_while_its_tweet_is_at_or_after_the_frontier_and_forgotten_after() {
        let mut recent = RecentIds::new(false);
        let (seven, eight) = (tweet(7, 10_000, "#a"), tweet(8, 12_000, "#b"));
        assert_eq!(read(&mut recent, &seven, 0), Sighting::New);
        assert_eq!(read(&mut recent, &eight, 0), Sighting::New);
        assert_eq!(read(&mut recent, &seven, 9_000), Sighting::Copy, "a redelivered copy");
        assert_eq!(read(&mut recent, &eight, 11_000), Sighting::Copy, "tweet 8 is still at or after the frontier");
        assert_eq!(read(&mut recent, &seven, 11_000), Sighting::New, "forgotten: a copy behind the frontier is late");
    }

    #[test]
    fn the_same_id_with_other_values_is_a_conflict_not_a_copy() {
        let mut recent = RecentIds::new(false);
        let first = tweet(7, 1_630_281_300_000, "#a");
        assert_eq!(read(&mut recent, &first, 0), Sighting::New);
        let restamped = Tweet { created_at: 1_767_225_600_000, ..first.clone() };
        let Sighting::Conflict(reason) = read(&mut recent, &restamped, 0) else { panic!("a conflict") };
        assert_eq!(reason.kind(), RejectionKind::Conflict);
        assert_eq!(
            reason.detail(),
            "conflict: tweet 7 was read already with other values (first write wins): \
             created_at 2021-08-29T23:55:00.000Z, not 2026-01-01T00:00:00.000Z"
        );
        for other in [
            Tweet { text: "#b".into(), ..first.clone() },
            Tweet { lang: "fr".into(), ..first.clone() },
            Tweet { user_id: None, ..first.clone() },
            Tweet { retweet_of: Some(3), ..first.clone() },
        ] {
            let Sighting::Conflict(reason) = read(&mut recent, &other, 0) else { panic!("a conflict: {other:?}") };
            assert!(reason.detail().ends_with("(first write wins): another text, language, user_id or retweet_of"));
        }
        assert_eq!(read(&mut recent, &first, 0), Sighting::Copy, "the first values are still the ones remembered");
    }

    #[test]
    fn an_archived_tweet_is_remembered_until_the_archive_has_stored_it() {
        let mut recent = RecentIds::new(true);
        let early = tweet(7, 10_000, "#a");
        read(&mut recent, &early, 0);
        let flushed = recent.mark();
        read(&mut recent, &tweet(8, 10_500, "#b"), 0);
        // Behind the frontier, but perhaps not stored: the master dataset may not answer yet.
        assert_eq!(read(&mut recent, &early, 20_000), Sighting::Copy);
        recent.archived(flushed);
        recent.forget_before(20_000);
        assert!(!recent.knows(7), "stored and behind the frontier: the master dataset answers for it");
        assert!(recent.knows(8), "remembered after the flush: not known to be stored");
        recent.archived(recent.mark());
        recent.forget_before(20_000);
        assert!(!recent.knows(8));
    }
}
