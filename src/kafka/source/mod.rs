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
use crate::vocabulary::rejection::{Reason, RejectionKind};

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
pub fn decode(payload: Option<&[u8]>, format: Format, ingestion: Ingestion) -> Result<Decoded, Reason> {
    let bytes = payload
        .filter(|bytes| !bytes.is_empty())
        .ok_or_else(|| Reason::new(RejectionKind::EmptyMessage, "empty message"))?;
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(Reason::new(
            RejectionKind::TooLarge,
            format!("message of {} bytes exceeds the limit of {MAX_MESSAGE_BYTES} bytes", bytes.len()),
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Reason::new(RejectionKind::InvalidUtf8, format!("invalid UTF-8: {e}")))?;
    let row = match parse_record(text, format)? {
        Parsed::Skipped(what) => return Ok(Decoded::Skipped(what)),
        Parsed::Rows(mut rows) if rows.len() == 1 => rows.remove(0),
        Parsed::Rows(rows) => {
            return Err(Reason::new(
                RejectionKind::PageOfTweets,
                format!("a page of {} tweets: send one tweet a message (the data array's items)", rows.len()),
            ))
        }
    };
    let date_time = row.date_time.clone().unwrap_or_default();
    Ok(Decoded::Tweet(row.ingest(ingestion)?, date_time))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ingested at the seed's start, with an hour's bound.
    const AT_SEED_START: Ingestion = Ingestion { at: 1_630_281_087_000, max_event_ahead_ms: 3_600_000 };

    #[test]
    fn bad_messages_say_what_is_wrong_and_what_kind_of_wrong() {
        let refused = |payload: &[u8]| {
            let reason = decode(Some(payload), Format::Auto, AT_SEED_START).unwrap_err();
            (reason.kind(), reason.detail().to_string())
        };
        let empty = decode(None, Format::Auto, AT_SEED_START).unwrap_err();
        assert_eq!(empty, Reason::new(RejectionKind::EmptyMessage, "empty message"));
        assert_eq!(decode(Some(b""), Format::Auto, AT_SEED_START), Err(empty));
        let expectations: [(&[u8], RejectionKind, &str); 10] = [
            (b"{\"tweet_id\": 1", RejectionKind::MalformedJson, "malformed tweet JSON"),
            (
                b"{\"tweet\": \"x\", \"date_time\": \"2021-08-29 19:51:27 EDT\"}",
                RejectionKind::InvalidField,
                "missing field `tweet_id`",
            ),
            (b"{\"tweet_id\": \"one\"}", RejectionKind::InvalidField, "invalid type"),
            (b"\xff\xfe", RejectionKind::InvalidUtf8, "invalid UTF-8"),
            (
                br#"{"tweet_id": 9, "tweet": "x", "date_time": "1970-01-01 00:00:00 UTC"}"#,
                RejectionKind::InvalidDate,
                "outside",
            ),
            (br#"{"tweet_id": 9, "date_time": "1970-01-01 00:00:00 UTC"}"#, RejectionKind::InvalidField, "no text"),
            (
                br#"{"tweet_id": 0, "tweet": "x", "date_time": "2021-08-29 19:51:27 EDT"}"#,
                RejectionKind::IdOutOfRange,
                "tweet_id 0 is outside MySQL's bigint ids",
            ),
            (
                br#"{"tweet_id": 9223372036854775808, "tweet": "x", "date_time": "2021-08-29 19:51:27 EDT"}"#,
                RejectionKind::IdOutOfRange,
                "is outside MySQL's bigint ids",
            ),
            (
                br#"{"tweet_id": 9, "tweet": "x", "date_time": "2099-08-29 19:51:27 EDT"}"#,
                RejectionKind::AheadOfIngestion,
                "ahead of its ingestion time",
            ),
            (
                br#"{"data": [{"id": "1", "text": "a"}, {"id": "2", "text": "b"}]}"#,
                RejectionKind::PageOfTweets,
                "a page of 2 tweets",
            ),
        ];
        for (payload, kind, words) in expectations {
            let (refused_as, detail) = refused(payload);
            assert_eq!(refused_as, kind, "{detail}");
            assert!(detail.contains(words), "'{detail}' does not say '{words}'");
        }
        let (kind, detail) = refused(&vec![b' '; MAX_MESSAGE_BYTES + 1]);
        assert_eq!(
            (kind, detail.as_str()),
            (RejectionKind::TooLarge, "message of 1048577 bytes exceeds the limit of 1048576 bytes")
        );
        let seed = br##"{"tweet_id": 9, "tweet": "#a", "date_time": "2021-08-29 19:51:27 EDT", "language": "en", "extra": [1]}"##;
        let Ok(Decoded::Tweet(tweet, date_time)) = decode(Some(seed), Format::Auto, AT_SEED_START) else {
            panic!("a tweet")
        };
        assert_eq!((tweet.id, tweet.created_at, date_time.as_str()), (9, 1_630_281_087_000, "2021-08-29 19:51:27 EDT"));
    }

    /// The metric's label is the kind alone: messages refused for one kind with different values
    /// (sizes, ids) share it, however many there are.
    #[test]
    fn refusals_of_one_kind_with_different_values_share_their_kind() {
        let sizes: std::collections::HashSet<(RejectionKind, String)> = (1..=5)
            .map(|extra| {
                let reason = decode(Some(&vec![b' '; MAX_MESSAGE_BYTES + extra]), Format::Auto, AT_SEED_START);
                let reason = reason.unwrap_err();
                (reason.kind(), reason.detail().to_string())
            })
            .collect();
        assert_eq!(sizes.len(), 5, "each detail names its size");
        assert!(sizes.iter().all(|(kind, _)| *kind == RejectionKind::TooLarge));
        let ids = (0..5).map(|i| {
            let row = format!(
                r#"{{"tweet_id": {}, "tweet": "x", "date_time": "2021-08-29 19:51:27 EDT"}}"#,
                (1u64 << 63) + i
            );
            decode(Some(row.as_bytes()), Format::Auto, AT_SEED_START).unwrap_err().kind()
        });
        assert!(ids.into_iter().all(|kind| kind == RejectionKind::IdOutOfRange));
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
        let forced = decode(Some(v1), Format::Jetstream, AT_SEED_START).unwrap_err();
        assert_eq!(forced.kind(), RejectionKind::InvalidField);
        assert!(forced.detail().contains("Jetstream"), "{forced}");
    }
}
