//! A tweet as the seed pipeline writes it — in MySQL rows, dumps, CSV, JSONL and Kafka messages
//! alike — and its conversion into the graph's `Tweet`.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use trendflow_dataflows::{EventTime, Tweet};

use crate::limits::{check_event_time, check_tweet, Misfit};
use crate::time::{format_utc_date_time, parse_created_at, DateTimeError};
use crate::vocabulary::rejection::{Reason, RejectionKind};

/// The seed's columns (`tweet_id`, `tweet`, `date_time`, `language`) and trendflow's optional
/// additions. Field names are the seed producer's, so its messages deserialize unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedTweet {
    pub tweet_id: u64,
    pub tweet: Option<String>,
    pub date_time: Option<String>,
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retweet_of: Option<u64>,
}

/// Why a row could not become a tweet; always names the tweet.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RowError {
    #[error("tweet {0}: no text")]
    MissingText(u64),
    #[error("tweet {0}: no date_time")]
    MissingDate(u64),
    #[error("tweet {id}: {reason}")]
    BadDate { id: u64, reason: DateTimeError },
    #[error("tweet {id}: {reason}")]
    Misfit { id: u64, reason: Misfit },
}

impl RowError {
    /// The kind of refusal this is, for the dead-letter metric.
    pub fn kind(&self) -> RejectionKind {
        match self {
            RowError::MissingText(_) | RowError::MissingDate(_) => RejectionKind::InvalidField,
            RowError::BadDate { .. } => RejectionKind::InvalidDate,
            RowError::Misfit { reason, .. } => reason.kind(),
        }
    }
}

impl From<RowError> for Reason {
    fn from(error: RowError) -> Self {
        Reason::new(error.kind(), error.to_string())
    }
}

/// When a tweet came in, and how far ahead of that its event time may be ([`crate::limits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ingestion {
    /// The Kafka record's timestamp, or the time of the load that brings the tweet in.
    pub at: EventTime,
    pub max_event_ahead_ms: u64,
}

impl SeedTweet {
    /// The row of a tweet that has no `date_time` text of its own (a generated one): the time is
    /// written as UTC with milliseconds, so [`SeedTweet::into_tweet`] gives the same tweet back.
    pub fn from_tweet(tweet: Tweet) -> Self {
        SeedTweet {
            tweet_id: tweet.id,
            date_time: Some(format_utc_date_time(tweet.created_at)),
            tweet: Some(tweet.text),
            language: Some(tweet.lang),
            user_id: tweet.user_id,
            retweet_of: tweet.retweet_of,
        }
    }

    /// The tweet this row describes, if it keeps the rules of [`crate::limits`] (all but
    /// the one on event time). A missing language is Twitter's `und` (undetermined).
    pub fn into_tweet(self) -> Result<Tweet, RowError> {
        let id = self.tweet_id;
        let text = self.tweet.ok_or(RowError::MissingText(id))?;
        let date_time = self.date_time.ok_or(RowError::MissingDate(id))?;
        let created_at = parse_created_at(&date_time).map_err(|reason| RowError::BadDate { id, reason })?;
        let tweet = Tweet {
            id,
            text,
            created_at,
            lang: self.language.filter(|lang| !lang.is_empty()).unwrap_or_else(|| "und".into()),
            user_id: self.user_id,
            retweet_of: self.retweet_of,
        };
        check_tweet(&tweet).map_err(|reason| RowError::Misfit { id, reason })?;
        Ok(tweet)
    }

    /// The tweet this row describes, coming in at `ingestion`: [`SeedTweet::into_tweet`], and an
    /// event time not too far ahead of the ingestion time.
    pub fn ingest(self, ingestion: Ingestion) -> Result<Tweet, RowError> {
        let tweet = self.into_tweet()?;
        check_event_time(tweet.created_at, ingestion.at, ingestion.max_event_ahead_ms)
            .map_err(|reason| RowError::Misfit { id: tweet.id, reason })?;
        Ok(tweet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_message_becomes_a_tweet() {
        let row: SeedTweet = serde_json::from_str(
            r#"{"tweet_id": 1432128795021086722, "tweet": "Played #IrishGauge", "date_time": "2021-08-29 19:51:27 EDT", "language": "en"}"#,
        )
        .unwrap();
        let tweet = row.into_tweet().unwrap();
        assert_eq!((tweet.id, tweet.created_at, tweet.lang.as_str()), (1432128795021086722, 1_630_281_087_000, "en"));
    }

    #[test]
    fn a_generated_tweet_survives_the_round_trip() {
        let tweet = Tweet {
            id: 5,
            text: "RT @a: #b".into(),
            created_at: 1_630_281_087_042,
            lang: "pt".into(),
            user_id: Some(8),
            retweet_of: Some(3),
        };
        assert_eq!(SeedTweet::from_tweet(tweet.clone()).into_tweet(), Ok(tweet));
    }

    #[test]
    fn a_tweet_from_the_future_is_refused_by_its_ingestion_time() {
        let row = |date: &str| SeedTweet {
            tweet_id: 9,
            tweet: Some("#x".into()),
            date_time: Some(date.into()),
            language: Some("en".into()),
            user_id: None,
            retweet_of: None,
        };
        let ingestion = Ingestion { at: 1_630_281_087_000, max_event_ahead_ms: 3_600_000 };
        assert!(row("2021-08-29 23:51:27 UTC").ingest(ingestion).is_ok());
        assert!(row("2021-08-30 00:51:27 UTC").ingest(ingestion).is_ok(), "at the bound");
        let error = row("2099-01-01 00:00:00 UTC").ingest(ingestion).unwrap_err().to_string();
        assert!(error.starts_with("tweet 9: event time 2099-01-01 00:00:00.000 UTC is "), "{error}");
        assert!(row("2099-01-01 00:00:00 UTC").into_tweet().is_ok(), "the rule needs an ingestion time");
    }

    #[test]
    fn errors_name_the_tweet() {
        let row = SeedTweet {
            tweet_id: 7,
            tweet: Some("x".into()),
            date_time: Some("soon".into()),
            language: None,
            user_id: None,
            retweet_of: None,
        };
        let error = row.clone().into_tweet().unwrap_err();
        assert_eq!(error.kind(), RejectionKind::InvalidDate);
        assert!(error.to_string().starts_with("tweet 7: 'soon' is not a date"), "{error}");
        let undated = SeedTweet { date_time: None, ..row };
        assert_eq!(
            Reason::from(undated.into_tweet().unwrap_err()),
            Reason::new(RejectionKind::InvalidField, "tweet 7: no date_time")
        );
    }
}
