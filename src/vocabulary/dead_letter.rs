//! A dead letter: the record `stream` sends to the dead-letter topic for each message it could
//! not use — why (the kind and the detail of its [`Reason`]), where the message was, and what it
//! held. One type for the writer and every reader (the tests, `topics read dead-letter`'s users).

use serde::{Deserialize, Serialize};

use crate::vocabulary::rejection::{Reason, RejectionKind};

/// How much of a bad message a dead letter repeats: enough to find and fix it.
pub const PAYLOAD_SHOWN_BYTES: usize = 64 * 1024;

/// What the dead-letter topic holds, one per refused message, keyed by the message's own key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Why the message was refused, as a person reads it, values included.
    pub reason: String,
    /// What kind of refusal it was: the label the dead-letter metric counts it by.
    pub kind: RejectionKind,
    /// Where the message was: its topic, partition and offset. For a row change capture read
    /// (`produce --follow`): `DATABASE.tweets@BINLOG_FILE`, partition 0, and the binary log
    /// position after the row's transaction.
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The size of the message.
    pub payload_bytes: usize,
    /// The message's first [`PAYLOAD_SHOWN_BYTES`], as text with invalid UTF-8 replaced.
    pub payload: String,
}

impl DeadLetter {
    /// The dead letter of the message at `offset` of `partition` of `topic`, refused for `reason`.
    pub fn new(reason: &Reason, topic: &str, partition: i32, offset: i64, payload: Option<&[u8]>) -> Self {
        let payload = payload.unwrap_or_default();
        let shown = &payload[..payload.len().min(PAYLOAD_SHOWN_BYTES)];
        DeadLetter {
            reason: reason.detail().to_string(),
            kind: reason.kind(),
            topic: topic.to_string(),
            partition,
            offset,
            payload_bytes: payload.len(),
            payload: String::from_utf8_lossy(shown).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_keeps_the_reason_its_kind_the_source_and_a_readable_payload() {
        let reason =
            Reason::new(RejectionKind::InvalidUtf8, "invalid UTF-8: invalid utf-8 sequence of 1 bytes from index 1");
        let letter = DeadLetter::new(&reason, "tweets", 2, 41, Some(b"a\xffb"));
        let json: serde_json::Value = serde_json::to_value(&letter).unwrap();
        assert_eq!(json["reason"], reason.detail());
        assert_eq!(json["kind"], "invalid_utf8");
        assert_eq!(
            (json["topic"].as_str(), json["partition"].as_i64(), json["offset"].as_i64()),
            (Some("tweets"), Some(2), Some(41))
        );
        assert_eq!(letter.payload, "a\u{fffd}b");
        let read: DeadLetter = serde_json::from_value(json).unwrap();
        assert_eq!(read, letter);
    }

    #[test]
    fn a_huge_payload_is_shown_in_part_and_its_size_told() {
        let huge = vec![b'x'; 2 * PAYLOAD_SHOWN_BYTES];
        let letter = DeadLetter::new(&Reason::new(RejectionKind::TooLarge, "too big"), "tweets", 0, 0, Some(&huge));
        assert_eq!((letter.payload_bytes, letter.payload.len()), (huge.len(), PAYLOAD_SHOWN_BYTES));
        let empty = DeadLetter::new(&Reason::new(RejectionKind::EmptyMessage, "empty message"), "tweets", 0, 1, None);
        assert_eq!((empty.payload_bytes, empty.payload.as_str()), (0, ""));
    }
}
