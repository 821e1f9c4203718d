//! The master dataset: tweets, their hashtags and the counts that join them, in the seed's tables.

use std::collections::HashMap;
use std::hash::Hasher;

use anyhow::Result;
use mysql::prelude::Queryable;
use mysql::{Conn, TxOpts, Value};
use trendflow_dataflows::hashtags::extract_hashtags;
use trendflow_dataflows::{EventTime, Tweet};

use crate::db::{explain, MysqlConfig};
use crate::limits::{sql_hashtag_id, sql_id, Misfit};
use crate::sink::mysql::insert_rows;
use crate::time::format_utc_date_time;

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

/// Makes a rewrite of a stored tweet (a replay, a reload) replace every column.
const TWEET_UPSERT: &str = "ON DUPLICATE KEY UPDATE tweet = VALUES(tweet), date_time = VALUES(date_time), \
    language = VALUES(language), created_at_ms = VALUES(created_at_ms), user_id = VALUES(user_id), \
    retweet_of = VALUES(retweet_of), ingested_at_ms = VALUES(ingested_at_ms)";

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

    /// Stores `tweets` in one transaction: the tweets, new hashtags, and tweet_hashtags counts.
    pub fn write(&mut self, mut tweets: Vec<StoredTweet>) -> Result<()> {
        // Rows go in key order, so concurrent writers (stream workers archiving) take row locks in
        // the same order; InnoDB may still pick a deadlock victim, so a deadlocked batch is retried.
        tweets.sort_by_key(|stored| stored.tweet.id);
        let mut new_hashtags: Vec<(i64, String)> = Vec::new();
        let mut links: Vec<(i64, i64, i64)> = Vec::new();
        for StoredTweet { tweet, hashtags, .. } in &mut tweets {
            let tweet_id = sql_id("tweet_id", tweet.id)?;
            let mut counts: HashMap<String, i64> = HashMap::new();
            for hashtag in hashtags.take().unwrap_or_else(|| extract_hashtags(&tweet.text)) {
                *counts.entry(hashtag).or_default() += 1;
            }
            for (hashtag, count) in counts {
                let id = match self.hashtag_ids.get(&hashtag) {
                    Some(id) => *id,
                    None => {
                        let id = new_hashtag_id(&hashtag);
                        self.hashtag_ids.insert(hashtag.clone(), id);
                        new_hashtags.push((id, hashtag));
                        id
                    }
                };
                links.push((tweet_id, id, count));
            }
        }
        new_hashtags.sort();
        links.sort();
        let rows = tweet_rows(&tweets)?;
        let what = format!("archiving {} tweets", tweets.len());
        self.config.retrying(&mut self.conn, &what, |conn| write_tweets(conn, &rows, &new_hashtags, &links))
    }
}

/// One transaction: new hashtags, the tweets, and their tweet_hashtags counts.
fn write_tweets(
    conn: &mut Conn,
    tweets: &[Vec<Value>],
    new_hashtags: &[(i64, String)],
    links: &[(i64, i64, i64)],
) -> mysql::Result<()> {
    let mut tx = conn.start_transaction(TxOpts::default())?;
    // Another writer may have stored the same new hashtag already, under the same id.
    insert_rows(
        &mut tx,
        "hashtags",
        &["hashtag_id", "hashtag"],
        "ON DUPLICATE KEY UPDATE hashtag_id = hashtag_id",
        new_hashtags.iter().map(|(id, hashtag)| vec![Value::from(id), Value::from(hashtag)]).collect(),
    )?;
    insert_rows(&mut tx, "tweets", &TWEET_COLUMNS, TWEET_UPSERT, tweets.to_vec())?;
    insert_rows(
        &mut tx,
        "tweet_hashtags",
        &["tweet_id", "hashtag_id", "count"],
        "ON DUPLICATE KEY UPDATE count = VALUES(count)",
        links
            .iter()
            .map(|(tweet, tag, count)| vec![Value::from(tweet), Value::from(tag), Value::from(count)])
            .collect(),
    )?;
    tx.commit()
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

    pub fn write_tweets(&mut self, tweets: Vec<StoredTweet>) -> Result<()> {
        let rows = tweet_rows(&tweets)?;
        insert_rows(&mut self.conn, "tweets", &TWEET_COLUMNS, TWEET_UPSERT, rows).map_err(|e| explain(e, &self.config))
    }

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

    #[test]
    fn new_hashtag_ids_are_stable_distinct_and_clear_of_twitters() {
        assert_eq!(new_hashtag_id("#rust"), new_hashtag_id("#rust"));
        assert_ne!(new_hashtag_id("#rust"), new_hashtag_id("#rusT"));
        for tag in ["#a", "#東京", "#vacancesfrançais21"] {
            assert!(new_hashtag_id(tag) >= 1 << 62, "{tag}: positive and above the seed's ids");
        }
    }
}
