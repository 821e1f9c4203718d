//! The tweet, as every source delivers it, and what the graph takes of it: its [`Contribution`].

use serde::{Deserialize, Serialize};

use crate::hashtags::hashtag_symbols;
use crate::symbol::Symbol;

/// Event time: milliseconds since the Unix epoch, UTC. The graph's timestamps are event times.
pub type EventTime = u64;

/// A tweet as the graph sees it, whatever source it came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tweet {
    /// The tweet's id (Twitter's snowflake id in real data).
    pub id: u64,
    /// The tweet's text; hashtags are extracted from it.
    pub text: String,
    /// When the tweet was posted.
    pub created_at: EventTime,
    /// The language code Twitter assigned (`en`, `ja`, `und`, ...).
    pub lang: String,
    /// The author, when the source knows it.
    pub user_id: Option<u64>,
    /// For a retweet, the id of the tweet it retweets.
    pub retweet_of: Option<u64>,
}

/// What a tweet contributes to the rankings: the graph's input record. It carries the tweet's
/// hashtags instead of its text: they are extracted once, at the edge, where a job that needs them
/// too (the stream's `hashtags` topic, its archive) reuses them, and where a source's reading
/// thread can do the work beside the graph's. Its strings are interned [`Symbol`]s: the graph
/// copies, hashes and compares them over and over.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Contribution {
    /// The tweet's id.
    pub id: u64,
    /// Its language code.
    pub lang: Symbol,
    /// Its hashtags, by [`extract_hashtags`](crate::hashtags::extract_hashtags), in the order they occur.
    pub hashtags: Vec<Symbol>,
    /// For a retweet, the id of the tweet it retweets.
    pub retweet_of: Option<u64>,
}

impl Contribution {
    /// What `tweet` contributes, its hashtags extracted from its text.
    ///
    /// ```
    /// use trendflow_dataflows::{Contribution, Tweet};
    ///
    /// let tweet = Tweet {
    ///     id: 7, text: "#Rust and #rust".into(), created_at: 0, lang: "en".into(), user_id: None, retweet_of: None,
    /// };
    /// assert_eq!(Contribution::of(tweet).hashtags, ["rust", "rust"]);
    /// ```
    pub fn of(tweet: Tweet) -> Self {
        let hashtags = hashtag_symbols(&tweet.text);
        Contribution::with_hashtags(tweet, hashtags)
    }

    /// What `tweet` contributes, given its `hashtags` as [`extract_hashtags`](crate::hashtags::extract_hashtags) finds them in its
    /// text (the caller extracted them already).
    pub fn with_hashtags(tweet: Tweet, hashtags: Vec<Symbol>) -> Self {
        Contribution { id: tweet.id, lang: Symbol::new(&tweet.lang), hashtags, retweet_of: tweet.retweet_of }
    }
}
