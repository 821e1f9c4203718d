//! A hashtag occurrence as the `hashtags` topic carries it: one message per hashtag a tweet
//! holds, keyed by the hashtag, for consumers that count or index hashtags themselves.

use serde::{Deserialize, Serialize};
use trendflow_dataflows::{EventTime, Tweet};

use crate::time::rfc3339;

/// One hashtag of one tweet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashtagOccurrence {
    pub tweet_id: u64,
    /// The hashtag as extracted: lowercased, without its sign.
    pub hashtag: String,
    pub created_at: String,
    pub created_at_ms: EventTime,
    pub language: String,
}

impl HashtagOccurrence {
    /// `hashtag`, found in `tweet`.
    pub fn of(tweet: &Tweet, hashtag: &str) -> Self {
        HashtagOccurrence {
            tweet_id: tweet.id,
            hashtag: hashtag.to_string(),
            created_at: rfc3339(tweet.created_at),
            created_at_ms: tweet.created_at,
            language: tweet.lang.clone(),
        }
    }
}
