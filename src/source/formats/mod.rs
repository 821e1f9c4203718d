//! The shapes tweets come in, each turned into the seed's row form ([`SeedTweet`]) at the edge, so
//! that the date parser, the input rules ([`crate::limits`]) and the graph treat them all
//! alike: the seed's own rows, Twitter API v1.1 statuses, Twitter API v2 tweets (single objects
//! and whole response pages) and Bluesky Jetstream commit events.
//!
//! A record's format is told from its fields ([`Format::Auto`]) — unambiguous for these four —
//! or fixed by `--format`. A record of a known format that holds no tweet (a deletion notice, a
//! like, a profile change) is skipped and counted with what it was, not rejected.
//!
//! Ids: Twitter's formats share one id space (a status has the same id in v1.1, v2 and the seed's
//! rows, so the same tweet from two of them is one tweet). Twitter's snowflake ids stay below
//! 2^62 until 2045; Bluesky posts get ids from [2^62, 2^63) ([`jetstream`]), so the two cannot
//! collide in the archive.

pub mod jetstream;
pub mod twitter_v1;
pub mod twitter_v2;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::source::seed_tweet::SeedTweet;
use crate::vocabulary::rejection::{Reason, RejectionKind};

/// Which shape records have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tell each record's format from its fields.
    #[default]
    Auto,
    /// The seed's rows: `tweet_id`, `tweet`, `date_time`, `language` (and `user_id`, `retweet_of`).
    Seed,
    /// Twitter API v1.1 statuses, as the streaming API and its archives hold them.
    TwitterV1,
    /// Twitter API v2 tweet objects, or response pages with a `data` object or array.
    TwitterV2,
    /// Bluesky Jetstream events; posts (`app.bsky.feed.post` creations) become tweets.
    Jetstream,
}

/// What one record holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Its tweets: one, or a Twitter v2 page's.
    Rows(Vec<SeedTweet>),
    /// No tweet: what the record is instead (a deletion notice, a like).
    Skipped(String),
}

/// The tweets of one record (a JSON object as text) of `format`, or why it holds none.
pub fn parse_record(text: &str, format: Format) -> Result<Parsed, Reason> {
    let malformed = |error: serde_json::Error| Reason::json("malformed tweet JSON", &error);
    // The seed's rows are most of what trendflow reads: straight into their struct.
    if format == Format::Seed || (format == Format::Auto && text.contains("\"tweet_id\"")) {
        let row = serde_json::from_str::<SeedTweet>(text).map_err(malformed)?;
        return Ok(Parsed::Rows(vec![row]));
    }
    let value: Value = serde_json::from_str(text).map_err(malformed)?;
    let Value::Object(record) = value else {
        return Err(Reason::new(RejectionKind::UnknownFormat, "malformed tweet JSON: not an object"));
    };
    let format = match format {
        Format::Auto => detect(&record).ok_or_else(|| {
            Reason::new(
                RejectionKind::UnknownFormat,
                "not a tweet in any known format (the seed's rows, Twitter v1.1 or v2, Bluesky Jetstream); \
                 choose one with --format to see what is missing",
            )
        })?,
        format => format,
    };
    match format {
        Format::TwitterV1 => twitter_v1::parse(record),
        Format::TwitterV2 => twitter_v2::parse(record),
        Format::Jetstream => jetstream::parse(record),
        // Auto is resolved above.
        Format::Seed | Format::Auto => {
            SeedTweet::deserialize(Value::Object(record)).map(|row| Parsed::Rows(vec![row])).map_err(malformed)
        }
    }
}

/// The format whose fields `record` has.
fn detect(record: &Map<String, Value>) -> Option<Format> {
    let has = |field: &str| record.contains_key(field);
    if has("tweet_id") || (has("tweet") && has("date_time")) {
        Some(Format::Seed)
    } else if has("id_str") || twitter_v1::is_notice(record) {
        Some(Format::TwitterV1)
    } else if has("did") && has("kind") {
        Some(Format::Jetstream)
    } else if has("data") || has("errors") || (has("id") && has("text")) {
        Some(Format::TwitterV2)
    } else {
        None
    }
}

/// A decimal id of a JSON string field (Twitter sends ids as strings: they exceed what a JSON
/// number holds exactly in most parsers).
fn id_from_text(field: &str, text: &str) -> Result<u64, Reason> {
    text.parse().map_err(|_| Reason::new(RejectionKind::InvalidField, format!("{field} '{text}' is not a decimal id")))
}

/// A record of a known format that lacks a part it must have.
fn missing(what: &str) -> Reason {
    Reason::new(RejectionKind::InvalidField, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_told_from_its_fields() {
        let detected = |text: &str| match serde_json::from_str::<Value>(text).unwrap() {
            Value::Object(record) => detect(&record),
            _ => None,
        };
        assert_eq!(detected(r#"{"tweet_id": 1, "tweet": "x"}"#), Some(Format::Seed));
        assert_eq!(detected(r#"{"id_str": "1", "created_at": "x", "text": "x"}"#), Some(Format::TwitterV1));
        assert_eq!(detected(r#"{"delete": {"status": {"id_str": "1"}}}"#), Some(Format::TwitterV1));
        assert_eq!(detected(r#"{"data": [{"id": "1", "text": "x"}]}"#), Some(Format::TwitterV2));
        assert_eq!(detected(r#"{"id": "1", "text": "x"}"#), Some(Format::TwitterV2));
        assert_eq!(detected(r#"{"did": "did:plc:x", "kind": "commit"}"#), Some(Format::Jetstream));
        assert_eq!(detected(r#"{"hello": "world"}"#), None);
    }

    #[test]
    fn records_that_are_no_tweet_in_any_format_say_so() {
        let reason = parse_record(r#"{"hello": "world"}"#, Format::Auto).unwrap_err();
        assert_eq!(reason.kind(), RejectionKind::UnknownFormat);
        assert!(reason.detail().starts_with("not a tweet in any known format"), "{reason}");
        let array = parse_record("[1, 2]", Format::Auto).unwrap_err();
        assert_eq!(array.kind(), RejectionKind::UnknownFormat);
        assert!(array.detail().contains("not an object"), "{array}");
        let forced = parse_record(r#"{"hello": "world"}"#, Format::TwitterV1).unwrap_err();
        assert_eq!(forced.kind(), RejectionKind::InvalidField);
        assert!(forced.detail().contains("id_str"), "{forced}");
    }

    #[test]
    fn broken_json_is_malformed_and_a_field_of_the_wrong_shape_invalid() {
        let kind = |text: &str| parse_record(text, Format::Auto).unwrap_err().kind();
        assert_eq!(kind("{\"tweet_id\": 1, "), RejectionKind::MalformedJson);
        assert_eq!(kind("{not json"), RejectionKind::MalformedJson);
        assert_eq!(kind("{\"tweet_id\": \"one\"}"), RejectionKind::InvalidField);
        assert_eq!(kind("{\"tweet\": \"x\", \"date_time\": \"2021-08-29 19:51:27 EDT\"}"), RejectionKind::InvalidField);
        assert_eq!(kind(r#"{"id": 5, "text": "x"}"#), RejectionKind::InvalidField);
    }
}
