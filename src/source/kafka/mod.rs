//! The `tweets` topic as a source: each worker reads its partitions ([`reader`], through
//! [`polling`], minding the [`broker`]), decodes their messages (here), knows how complete its
//! input is ([`watermarks`]), drops copies ([`dedup`]) and remembers where a restart must read
//! again from ([`replay`]). The job gets tweets and rejected messages as the worker's
//! [`reader::ReadHandler`], and checkpoints through the harness, in order with the rankings, once
//! it has made durable what it wrote before them ([`checkpointing`]).

pub mod broker;
pub mod checkpointing;
pub mod dedup;
pub mod polling;
pub mod reader;
pub mod replay;
pub mod watermarks;

use trendflow_dataflows::Tweet;

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

#[cfg(test)]
mod tests {
    use super::*;

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
