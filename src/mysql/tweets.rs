//! The master dataset: tweets, their hashtags and the counts that join them, in the seed's tables.
//!
//! The master dataset is immutable: **first write wins**. A tweet is stored once, with the values
//! it first came with, and never rewritten. A copy with the same values (a producer's retry, a
//! replayed partition, a reloaded file) is a harmless no-op; a copy with other values (the same
//! id restamped, or with another text) is a *conflict*: it is not stored, and the writer reports
//! it with its reason ([`FirstWrites`]). Only the values the views count make a tweet the same
//! ([`KeptTweet`]): its event time, text, language, author and retweeted tweet. Its `date_time`
//! text and ingestion time stay as first written, whatever a copy brings: the same instant may
//! be spelled in another zone, and every copy arrives at another time.
//!
//! A writer reads which of a batch's ids are stored, and inserts the others with plain `INSERT`s
//! in the same transaction. A concurrent writer that stores one of those ids first makes the
//! insert fail on the duplicate key; the transaction is then rolled back and done again, and the
//! row that got there first wins. Hashtag links go in only with the tweets they belong to.

use std::collections::HashMap;
use std::hash::Hasher;

use anyhow::Result;
use mysql::prelude::Queryable;
use mysql::{Conn, TxOpts, Value};
use trendflow_dataflows::hashtags::extract_hashtags;
use trendflow_dataflows::{EventTime, Tweet};

use crate::limits::{sql_hashtag_id, sql_id, Misfit};
use crate::mysql::insert_rows;
use crate::mysql::{explain, MysqlConfig};
use crate::time::{format_utc_date_time, rfc3339};
use crate::vocabulary::rejection::{Reason, RejectionKind};

/// A tweet to store, with the `date_time` text to keep for it (the seed's own text for seed rows)
/// and when it came in (the Kafka record's timestamp, or the load's time).
pub struct StoredTweet {
    pub tweet: Tweet,
    pub date_time: String,
    pub ingested_at: EventTime,
    /// The tweet's hashtags, if its source extracted them already (the stream, for its hashtags
    /// topic); otherwise [`TweetWriter`] extracts them.
    pub hashtags: Option<Vec<String>>,
}

impl StoredTweet {
    /// A tweet with its `date_time` text, ingested at `ingested_at`.
    pub fn new(tweet: Tweet, date_time: String, ingested_at: EventTime) -> Self {
        StoredTweet { tweet, date_time, ingested_at, hashtags: None }
    }

    /// A tweet from a source with no text of its own for the time, ingested at `ingested_at`:
    /// the time is written as UTC with milliseconds, a form `date_time` readers parse back exactly.
    pub fn with_utc_date(tweet: Tweet, ingested_at: EventTime) -> Self {
        let date_time = format_utc_date_time(tweet.created_at);
        StoredTweet::new(tweet, date_time, ingested_at)
    }
}

/// The `tweets` columns trendflow writes, in the order of [`tweet_rows`].
const TWEET_COLUMNS: [&str; 8] =
    ["tweet_id", "tweet", "date_time", "language", "created_at_ms", "user_id", "retweet_of", "ingested_at_ms"];

/// The rows of `tweets`, in the order of [`TWEET_COLUMNS`]; ids are checked, not cast.
fn tweet_rows(tweets: &[StoredTweet]) -> Result<Vec<Vec<Value>>, Misfit> {
    tweets
        .iter()
        .map(|StoredTweet { tweet, date_time, ingested_at, .. }| {
            Ok(vec![
                Value::from(sql_id("tweet_id", tweet.id)?),
                Value::from(&tweet.text),
                Value::from(date_time),
                Value::from(&tweet.lang),
                Value::from(tweet.created_at),
                Value::from(tweet.user_id.map(|id| sql_id("user_id", id)).transpose()?),
                Value::from(tweet.retweet_of.map(|id| sql_id("retweet_of", id)).transpose()?),
                Value::from(*ingested_at),
            ])
        })
        .collect()
}

/// The id a hashtag gets when trendflow stores it first: a hash of its text, above every id
/// Twitter's own (the seed's) use. Any number of writers, in any number of processes, give a new
/// hashtag the same id without asking each other or the database.
pub fn new_hashtag_id(hashtag: &str) -> i64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(hashtag.as_bytes());
    ((hasher.finish() >> 2) | (1 << 62)) as i64
}

/// The values of a tweet that a later copy must equal to be the same tweet, as the batch layer
/// reads them back (a missing text is empty, a missing language `und`). Ids are held as `i128`,
/// which holds both the graph's `u64` and MySQL's `i64` exactly, so no conversion can make two
/// different ids equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptTweet {
    /// `None` for a row whose event time was never filled in (`db init` fills it in).
    created_at: Option<EventTime>,
    text: String,
    lang: String,
    user_id: Option<i128>,
    retweet_of: Option<i128>,
}

/// `tweet_id, tweet, created_at_ms, language, user_id, retweet_of`, as stored.
type KeptRow = (i64, Option<String>, Option<i64>, Option<String>, Option<i64>, Option<i64>);

impl KeptTweet {
    /// The values of `tweet`, as they would be stored.
    pub fn of(tweet: &Tweet) -> Self {
        KeptTweet {
            created_at: Some(tweet.created_at),
            text: tweet.text.clone(),
            lang: tweet.lang.clone(),
            user_id: tweet.user_id.map(i128::from),
            retweet_of: tweet.retweet_of.map(i128::from),
        }
    }

    fn from_row((_, text, created_at, lang, user_id, retweet_of): KeptRow) -> Self {
        KeptTweet {
            created_at: created_at.and_then(|ms| EventTime::try_from(ms).ok()),
            text: text.unwrap_or_default(),
            lang: lang.filter(|lang| !lang.is_empty()).unwrap_or_else(|| "und".into()),
            user_id: user_id.map(i128::from),
            retweet_of: retweet_of.map(i128::from),
        }
    }

    /// What of `sent` differs from these values, said for a reader: empty when `sent` is the same
    /// tweet.
    pub fn differences(&self, sent: &Tweet) -> Vec<String> {
        let sent = KeptTweet::of(sent);
        let time = |time: Option<EventTime>| time.map_or_else(|| "unknown".to_string(), rfc3339);
        let id = |id: Option<i128>| id.map_or_else(|| "none".to_string(), |id| id.to_string());
        let mut differences = Vec::new();
        if self.created_at != sent.created_at {
            differences.push(format!("created_at {}, not {}", time(self.created_at), time(sent.created_at)));
        }
        if self.text != sent.text {
            differences.push(format!("text {:?}, not {:?}", shortened(&self.text), shortened(&sent.text)));
        }
        if self.lang != sent.lang {
            differences.push(format!("language {}, not {}", self.lang, sent.lang));
        }
        if self.user_id != sent.user_id {
            differences.push(format!("user_id {}, not {}", id(self.user_id), id(sent.user_id)));
        }
        if self.retweet_of != sent.retweet_of {
            differences.push(format!("retweet_of {}, not {}", id(self.retweet_of), id(sent.retweet_of)));
        }
        differences
    }
}

/// The first characters of a text, to show in a reason without echoing a whole post.
fn shortened(text: &str) -> String {
    const SHOWN_CHARS: usize = 40;
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Where the first copy of a tweet is, that a later copy with other values conflicts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstCopy {
    /// In the master dataset.
    Stored,
    /// Read by the stream lately, and perhaps not stored yet.
    Read,
}

/// Why a copy of tweet `id` with other values than its first is refused: the reason of its dead
/// letter, or of a load's report.
pub fn conflict_reason(id: u64, first: FirstCopy, differences: &[String]) -> Reason {
    let first = match first {
        FirstCopy::Stored => "is stored already",
        FirstCopy::Read => "was read already",
    };
    let detail =
        format!("conflict: tweet {id} {first} with other values (first write wins): {}", differences.join(", "));
    Reason::new(RejectionKind::Conflict, detail)
}

/// A copy left out because its tweet is stored with other values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub tweet_id: u64,
    pub reason: Reason,
}

/// What a write of tweets did, by first write wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirstWrites {
    /// Tweets stored by this write.
    pub stored: u64,
    /// Copies of stored tweets with the same values: nothing to write.
    pub unchanged: u64,
    /// Copies with other values than the stored tweet's: left out.
    pub conflicts: Vec<Conflict>,
}

impl FirstWrites {
    /// The tweets this write stored or found stored with their values.
    pub fn kept(&self) -> u64 {
        self.stored + self.unchanged
    }

    /// Adds what another write did.
    pub fn add(&mut self, other: FirstWrites) {
        self.stored += other.stored;
        self.unchanged += other.unchanged;
        self.conflicts.extend(other.conflicts);
    }
}

/// What becomes of one tweet of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    New,
    Unchanged,
    /// With the reason.
    Conflict(Reason),
}

/// The verdict on each of `tweets`, in order, given the stored values of those of their ids that
/// are stored: a tweet earlier in the same write counts as stored first, too.
fn first_writes(tweets: &[StoredTweet], stored: &HashMap<u64, KeptTweet>) -> Vec<Verdict> {
    let mut earlier: HashMap<u64, usize> = HashMap::new();
    let mut verdicts = Vec::with_capacity(tweets.len());
    for (index, StoredTweet { tweet, .. }) in tweets.iter().enumerate() {
        let differences = match (stored.get(&tweet.id), earlier.get(&tweet.id)) {
            (Some(kept), _) => kept.differences(tweet),
            (None, Some(&first)) => KeptTweet::of(&tweets[first].tweet).differences(tweet),
            (None, None) => {
                earlier.insert(tweet.id, index);
                verdicts.push(Verdict::New);
                continue;
            }
        };
        verdicts.push(match differences.is_empty() {
            true => Verdict::Unchanged,
            false => Verdict::Conflict(conflict_reason(tweet.id, FirstCopy::Stored, &differences)),
        });
    }
    verdicts
}

/// What the verdicts on `tweets` add up to.
fn report(tweets: &[StoredTweet], verdicts: Vec<Verdict>) -> FirstWrites {
    let mut report = FirstWrites::default();
    for (StoredTweet { tweet, .. }, verdict) in tweets.iter().zip(verdicts) {
        match verdict {
            Verdict::New => report.stored += 1,
            Verdict::Unchanged => report.unchanged += 1,
            Verdict::Conflict(reason) => report.conflicts.push(Conflict { tweet_id: tweet.id, reason }),
        }
    }
    report
}

/// Ids per lookup statement. A lookup of fewer is padded to a power of two (its last id
/// repeated), so that a connection prepares at most a dozen statement shapes, which its statement
/// cache keeps: a shape per count would prepare a statement for nearly every lookup.
const IDS_PER_LOOKUP: usize = 1_024;

/// The stored values of those of `ids` that are stored: one statement per [`IDS_PER_LOOKUP`]
/// ids, by primary key.
fn kept_tweets(conn: &mut impl Queryable, ids: &[u64]) -> mysql::Result<HashMap<u64, KeptTweet>> {
    let mut kept = HashMap::new();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let Some(&last) = chunk.last() else { continue };
        let shape = chunk.len().next_power_of_two();
        let placeholders = vec!["?"; shape].join(", ");
        let padding = std::iter::repeat_n(&last, shape - chunk.len());
        let params: Vec<Value> = chunk.iter().chain(padding).map(|id| Value::from(*id)).collect();
        let rows: Vec<KeptRow> = conn.exec(
            format!(
                "SELECT tweet_id, tweet, created_at_ms, language, user_id, retweet_of FROM tweets \
                 WHERE tweet_id IN ({placeholders})"
            ),
            params,
        )?;
        for row in rows {
            if let Ok(id) = u64::try_from(row.0) {
                kept.insert(id, KeptTweet::from_row(row));
            }
        }
    }
    Ok(kept)
}

/// The verdict on each of `tweets`, read in `conn`'s transaction.
fn judge(conn: &mut impl Queryable, tweets: &[StoredTweet]) -> mysql::Result<Vec<Verdict>> {
    let ids: Vec<u64> = tweets.iter().map(|stored| stored.tweet.id).collect();
    Ok(first_writes(tweets, &kept_tweets(conn, &ids)?))
}

/// The rows of the tweets found new.
fn new_rows(rows: &[Vec<Value>], verdicts: &[Verdict]) -> Vec<Vec<Value>> {
    rows.iter().zip(verdicts).filter(|(_, verdict)| **verdict == Verdict::New).map(|(row, _)| row.clone()).collect()
}

/// MySQL's error for an insert of a key that is there already.
const ER_DUP_ENTRY: u16 = 1062;

/// How often a write is done again because concurrent writers stored some of its new tweets first.
/// Each time those are stored, and the next attempt finds them.
const MAX_FIRST_WRITE_ATTEMPTS: u32 = 8;

/// Runs `write` in a transaction and commits it. If a concurrent writer stored one of the tweets
/// it inserts first (a duplicate key), rolls it back and runs it again, to find that tweet stored.
fn first_write_wins<T>(
    conn: &mut Conn,
    mut write: impl FnMut(&mut mysql::Transaction) -> mysql::Result<T>,
) -> mysql::Result<T> {
    let mut attempts = 1;
    loop {
        let mut tx = conn.start_transaction(TxOpts::default())?;
        match write(&mut tx) {
            Ok(value) => {
                tx.commit()?;
                return Ok(value);
            }
            Err(mysql::Error::MySqlError(error))
                if error.code == ER_DUP_ENTRY && attempts < MAX_FIRST_WRITE_ATTEMPTS =>
            {
                log::debug!("a concurrent writer stored a tweet first ({error}); writing again");
                attempts += 1;
                tx.rollback()?;
            }
            Err(error) => return Err(error),
        }
    }
}

/// The master dataset as the stream consults it: the stored values of the tweets it reads.
pub struct StoredTweets {
    conn: Conn,
    config: MysqlConfig,
}

impl StoredTweets {
    pub fn open(config: &MysqlConfig) -> Result<Self> {
        Ok(StoredTweets { conn: config.connect()?, config: config.clone() })
    }

    /// The stored values of those of `ids` that are stored.
    pub fn kept(&mut self, ids: &[u64]) -> Result<HashMap<u64, KeptTweet>> {
        self.config.retrying(&mut self.conn, "looking up stored tweets", |conn| kept_tweets(conn, ids))
    }
}

/// A hashtag link of a tweet to write: the hashtag's id, its text if it may not be stored yet, and
/// how often the tweet holds it.
type Link = (i64, Option<String>, i64);

/// Writes tweets into the seed's tables, the hashtags of each (by extraction) included.
pub struct TweetWriter {
    conn: Conn,
    config: MysqlConfig,
    hashtag_ids: HashMap<String, i64>,
}

impl TweetWriter {
    /// A writer on a fresh connection; learns the hashtags already stored, so that a hashtag the
    /// seed's dump brought keeps Twitter's id.
    pub fn new(config: &MysqlConfig) -> Result<Self> {
        let mut conn = config.connect()?;
        let mut hashtag_ids = HashMap::new();
        let rows: Vec<(i64, Option<String>)> = conn
            .query("SELECT hashtag_id, hashtag FROM hashtags ORDER BY hashtag_id")
            .map_err(|e| explain(e, config))?;
        for (id, hashtag) in rows {
            if let Some(hashtag) = hashtag {
                hashtag_ids.entry(hashtag).or_insert(id);
            }
        }
        Ok(TweetWriter { conn, config: config.clone(), hashtag_ids })
    }

    /// Stores those of `tweets` not stored yet in one transaction, with their new hashtags and
    /// tweet_hashtags counts; a tweet stored already keeps its values and its links.
    pub fn write(&mut self, mut tweets: Vec<StoredTweet>) -> Result<FirstWrites> {
        // Rows go in key order, so concurrent writers (stream workers archiving) take row locks in
        // the same order; InnoDB may still pick a deadlock victim, so a deadlocked batch is retried.
        // The sort is stable: of two copies in one batch, the first handed over stays first.
        tweets.sort_by_key(|stored| stored.tweet.id);
        let rows = tweet_rows(&tweets)?;
        let tweet_ids =
            tweets.iter().map(|stored| sql_id("tweet_id", stored.tweet.id)).collect::<Result<Vec<i64>, Misfit>>()?;
        let mut links: Vec<Vec<Link>> = Vec::with_capacity(tweets.len());
        for StoredTweet { tweet, hashtags, .. } in &mut tweets {
            let mut counts: HashMap<String, i64> = HashMap::new();
            for hashtag in hashtags.take().unwrap_or_else(|| extract_hashtags(&tweet.text)) {
                *counts.entry(hashtag).or_default() += 1;
            }
            let tweet_links = counts.into_iter().map(|(hashtag, count)| match self.hashtag_ids.get(&hashtag) {
                Some(id) => (*id, None, count),
                None => (new_hashtag_id(&hashtag), Some(hashtag), count),
            });
            links.push(tweet_links.collect());
        }
        let what = format!("archiving {} tweets", tweets.len());
        let verdicts = self.config.retrying(&mut self.conn, &what, |conn| {
            first_write_wins(conn, |tx| write_new_tweets(tx, &tweets, &tweet_ids, &rows, &links))
        })?;
        for (tweet_links, verdict) in links.into_iter().zip(&verdicts) {
            if *verdict == Verdict::New {
                let new = tweet_links.into_iter().filter_map(|(id, hashtag, _)| hashtag.map(|hashtag| (hashtag, id)));
                self.hashtag_ids.extend(new);
            }
        }
        Ok(report(&tweets, verdicts))
    }
}

/// In one transaction: which of `tweets` (of ids `tweet_ids` as stored) are new, then their
/// hashtags not stored yet, the new tweets, and their tweet_hashtags counts.
fn write_new_tweets(
    tx: &mut mysql::Transaction,
    tweets: &[StoredTweet],
    tweet_ids: &[i64],
    rows: &[Vec<Value>],
    links: &[Vec<Link>],
) -> mysql::Result<Vec<Verdict>> {
    let verdicts = judge(tx, tweets)?;
    let mut new_hashtags: Vec<(i64, &str)> = Vec::new();
    let mut new_links: Vec<(i64, i64, i64)> = Vec::new();
    for ((tweet_id, tweet_links), verdict) in tweet_ids.iter().zip(links).zip(&verdicts) {
        if *verdict != Verdict::New {
            continue;
        }
        for (hashtag_id, hashtag, count) in tweet_links {
            if let Some(hashtag) = hashtag {
                new_hashtags.push((*hashtag_id, hashtag));
            }
            new_links.push((*tweet_id, *hashtag_id, *count));
        }
    }
    new_hashtags.sort();
    new_hashtags.dedup();
    new_links.sort();
    // Another writer may have stored the same new hashtag already, under the same id.
    insert_rows(
        tx,
        "hashtags",
        &["hashtag_id", "hashtag"],
        "ON DUPLICATE KEY UPDATE hashtag_id = hashtag_id",
        new_hashtags.iter().map(|(id, hashtag)| vec![Value::from(id), Value::from(hashtag)]).collect(),
    )?;
    insert_rows(tx, "tweets", &TWEET_COLUMNS, "", new_rows(rows, &verdicts))?;
    insert_rows(
        tx,
        "tweet_hashtags",
        &["tweet_id", "hashtag_id", "count"],
        "",
        new_links
            .iter()
            .map(|(tweet, tag, count)| vec![Value::from(tweet), Value::from(tag), Value::from(count)])
            .collect(),
    )?;
    Ok(verdicts)
}

/// Writes the seed dump's rows as they are: its hashtag ids and tweet_hashtags are Twitter's.
pub struct SeedRowWriter {
    conn: Conn,
    config: MysqlConfig,
}

impl SeedRowWriter {
    pub fn new(config: &MysqlConfig) -> Result<Self> {
        Ok(SeedRowWriter { conn: config.connect()?, config: config.clone() })
    }

    pub fn write_hashtags(&mut self, rows: Vec<(u64, String)>) -> Result<()> {
        let rows = rows
            .into_iter()
            .map(|(id, tag)| Ok(vec![Value::from(sql_hashtag_id(id)?), Value::from(tag)]))
            .collect::<Result<_, Misfit>>()?;
        insert_rows(
            &mut self.conn,
            "hashtags",
            &["hashtag_id", "hashtag"],
            "ON DUPLICATE KEY UPDATE hashtag = VALUES(hashtag)",
            rows,
        )
        .map_err(|e| explain(e, &self.config))
    }

    /// Stores those of `tweets` not stored yet, in one transaction; a tweet stored already keeps
    /// its values.
    pub fn write_tweets(&mut self, tweets: Vec<StoredTweet>) -> Result<FirstWrites> {
        let rows = tweet_rows(&tweets)?;
        let verdicts = first_write_wins(&mut self.conn, |tx| {
            let verdicts = judge(tx, &tweets)?;
            insert_rows(tx, "tweets", &TWEET_COLUMNS, "", new_rows(&rows, &verdicts))?;
            Ok(verdicts)
        })
        .map_err(|e| explain(e, &self.config))?;
        Ok(report(&tweets, verdicts))
    }

    /// Stores the dump's tweet_hashtags rows, given again for a reload (a load stopped halfway
    /// stored tweets before their links). Rows of tweets left out as conflicts are for the caller
    /// to leave out: they belong to other texts than the stored ones.
    pub fn write_links(&mut self, rows: Vec<(u64, u64, u32)>) -> Result<()> {
        let rows = rows
            .into_iter()
            .map(|(tweet, tag, count)| {
                Ok(vec![Value::from(sql_id("tweet_id", tweet)?), Value::from(sql_hashtag_id(tag)?), Value::from(count)])
            })
            .collect::<Result<_, Misfit>>()?;
        insert_rows(
            &mut self.conn,
            "tweet_hashtags",
            &["tweet_id", "hashtag_id", "count"],
            "ON DUPLICATE KEY UPDATE count = VALUES(count)",
            rows,
        )
        .map_err(|e| explain(e, &self.config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tweet(id: u64, created_at: EventTime, text: &str) -> Tweet {
        Tweet { id, text: text.into(), created_at, lang: "en".into(), user_id: None, retweet_of: None }
    }

    /// At the seed's 2021-08-29 23:55:00 UTC.
    const SEED_TIME: EventTime = 1_630_281_300_000;

    #[test]
    fn first_write_wins_a_copy_with_the_same_values_is_unchanged_and_one_with_other_values_a_conflict() {
        let stored_first = tweet(1, SEED_TIME, "#seed");
        let stored = HashMap::from([(1, KeptTweet::of(&stored_first))]);
        let restamped = Tweet { created_at: 1_767_225_600_000, ..stored_first.clone() };
        let fresh = tweet(2, SEED_TIME, "#new");
        let writes = vec![
            // The same instant spelled in another zone, ingested later: the same tweet.
            StoredTweet::new(stored_first.clone(), "2021-08-29 19:55:00 EDT".into(), 99),
            StoredTweet::with_utc_date(restamped, 5),
            StoredTweet::with_utc_date(fresh.clone(), 5),
            // Copies of a tweet first written earlier in the same write.
            StoredTweet::with_utc_date(fresh.clone(), 6),
            StoredTweet::with_utc_date(Tweet { text: "#other".into(), ..fresh }, 6),
        ];
        let verdicts = first_writes(&writes, &stored);
        assert_eq!(verdicts[0], Verdict::Unchanged);
        assert_eq!(verdicts[2..4], [Verdict::New, Verdict::Unchanged]);
        assert_eq!(
            verdicts[1],
            Verdict::Conflict(Reason::new(
                RejectionKind::Conflict,
                "conflict: tweet 1 is stored already with other values (first write wins): \
                 created_at 2021-08-29T23:55:00.000Z, not 2026-01-01T00:00:00.000Z"
            ))
        );
        assert_eq!(
            verdicts[4],
            Verdict::Conflict(Reason::new(
                RejectionKind::Conflict,
                "conflict: tweet 2 is stored already with other values (first write wins): \
                 text \"#new\", not \"#other\""
            ))
        );
        let report = report(&writes, verdicts);
        assert_eq!((report.stored, report.unchanged, report.kept()), (1, 2, 3));
        assert_eq!(report.conflicts.iter().map(|conflict| conflict.tweet_id).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn a_stored_row_reads_back_as_the_batch_layer_reads_it() {
        // No text and no language are an empty text and `und`, as the batch layer reads them.
        let row: KeptRow = (5, None, Some(SEED_TIME as i64), Some(String::new()), Some(7), None);
        let kept = KeptTweet::from_row(row);
        let same = Tweet { user_id: Some(7), lang: "und".into(), ..tweet(5, SEED_TIME, "") };
        assert!(kept.differences(&same).is_empty());
        let other = Tweet { user_id: Some(8), lang: "en".into(), retweet_of: Some(1), ..same.clone() };
        assert_eq!(kept.differences(&other), ["language und, not en", "user_id 7, not 8", "retweet_of none, not 1"]);
        let unfilled = KeptTweet::from_row((5, None, None, None, Some(7), None));
        assert_eq!(unfilled.differences(&same), ["created_at unknown, not 2021-08-29T23:55:00.000Z"]);
        let long = "x".repeat(100);
        let reason = KeptTweet::of(&tweet(5, SEED_TIME, &long)).differences(&tweet(5, SEED_TIME, "y"));
        assert_eq!(reason, [format!("text \"{}…\", not \"y\"", "x".repeat(40))]);
    }

    #[test]
    fn new_hashtag_ids_are_stable_distinct_and_clear_of_twitters() {
        assert_eq!(new_hashtag_id("#rust"), new_hashtag_id("#rust"));
        assert_ne!(new_hashtag_id("#rust"), new_hashtag_id("#rusT"));
        for tag in ["#a", "#東京", "#vacancesfrançais21"] {
            assert!(new_hashtag_id(tag) >= 1 << 62, "{tag}: positive and above the seed's ids");
        }
    }
}
