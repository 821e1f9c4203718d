//! The tweet: the one input record of the graph.

use serde::{Deserialize, Serialize};

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
