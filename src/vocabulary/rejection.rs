//! Why input is refused: a [`Reason`] is a [`RejectionKind`], one of a fixed few, and a detail,
//! the human message with the values that make it precise (a size, an id, a time).
//!
//! The two go to different places on purpose. The kind labels the stream's dead-letter counter:
//! a metric's label values must be few and known in advance, or every hostile message mints a
//! time series of its own (the Prometheus anti-pattern of unbounded label values). The detail
//! goes where a person reads it — the dead letter, a load's report, a log line — and says exactly
//! what was wrong.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What kind of input was refused: the label of the dead-letter metric, and a dead letter's `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectionKind {
    /// A message with no bytes.
    EmptyMessage,
    /// A message larger than any tweet (`MAX_MESSAGE_BYTES`).
    TooLarge,
    /// Bytes that are not UTF-8 text.
    InvalidUtf8,
    /// A record that could not be read at all (a broken compressed file, say).
    Unreadable,
    /// Text that is not JSON.
    MalformedJson,
    /// A CSV record that does not parse.
    MalformedCsv,
    /// A statement of a SQL dump that does not parse.
    MalformedDump,
    /// A JSON object, or a record, of no format trendflow reads.
    UnknownFormat,
    /// A field missing, or not of its type (an id that is no number, a string for an object).
    InvalidField,
    /// A `date_time` that is no date trendflow reads.
    InvalidDate,
    /// A Twitter v2 page of several tweets sent as one message.
    PageOfTweets,
    /// An id outside MySQL's signed `bigint` ids, or zero.
    IdOutOfRange,
    /// Text longer than the limit.
    TextTooLong,
    /// A language code longer than its column.
    LanguageTooLong,
    /// A hashtag longer than its column.
    HashtagTooLong,
    /// An event time too far ahead of the time the tweet came in.
    AheadOfIngestion,
    /// A tweet behind the watermark.
    Late,
    /// A tweet whose id was stored or read before with other values (first write wins).
    Conflict,
}

impl RejectionKind {
    /// Every kind: the label values the dead-letter metric can take.
    pub const ALL: [RejectionKind; 18] = [
        RejectionKind::EmptyMessage,
        RejectionKind::TooLarge,
        RejectionKind::InvalidUtf8,
        RejectionKind::Unreadable,
        RejectionKind::MalformedJson,
        RejectionKind::MalformedCsv,
        RejectionKind::MalformedDump,
        RejectionKind::UnknownFormat,
        RejectionKind::InvalidField,
        RejectionKind::InvalidDate,
        RejectionKind::PageOfTweets,
        RejectionKind::IdOutOfRange,
        RejectionKind::TextTooLong,
        RejectionKind::LanguageTooLong,
        RejectionKind::HashtagTooLong,
        RejectionKind::AheadOfIngestion,
        RejectionKind::Late,
        RejectionKind::Conflict,
    ];

    /// The kind's name, as the metric's label and a dead letter's `kind` spell it.
    pub fn label(self) -> &'static str {
        match self {
            RejectionKind::EmptyMessage => "empty_message",
            RejectionKind::TooLarge => "too_large",
            RejectionKind::InvalidUtf8 => "invalid_utf8",
            RejectionKind::Unreadable => "unreadable",
            RejectionKind::MalformedJson => "malformed_json",
            RejectionKind::MalformedCsv => "malformed_csv",
            RejectionKind::MalformedDump => "malformed_dump",
            RejectionKind::UnknownFormat => "unknown_format",
            RejectionKind::InvalidField => "invalid_field",
            RejectionKind::InvalidDate => "invalid_date",
            RejectionKind::PageOfTweets => "page_of_tweets",
            RejectionKind::IdOutOfRange => "id_out_of_range",
            RejectionKind::TextTooLong => "text_too_long",
            RejectionKind::LanguageTooLong => "language_too_long",
            RejectionKind::HashtagTooLong => "hashtag_too_long",
            RejectionKind::AheadOfIngestion => "ahead_of_ingestion",
            RejectionKind::Late => "late",
            RejectionKind::Conflict => "conflict",
        }
    }

    /// The kind a JSON (de)serialization error is: bad syntax, or a field of the wrong shape.
    fn of_json(error: &serde_json::Error) -> RejectionKind {
        match error.classify() {
            serde_json::error::Category::Data => RejectionKind::InvalidField,
            _ => RejectionKind::MalformedJson,
        }
    }
}

impl fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Spelled as its label, so that the metric and the dead letter say the same.
impl Serialize for RejectionKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

impl<'de> Deserialize<'de> for RejectionKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let label = String::deserialize(deserializer)?;
        RejectionKind::ALL
            .into_iter()
            .find(|kind| kind.label() == label)
            .ok_or_else(|| serde::de::Error::custom(format!("no rejection kind is called '{label}'")))
    }
}

/// Why one record, message or row was refused: its kind, and the detail a person reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    kind: RejectionKind,
    detail: String,
}

impl Reason {
    pub fn new(kind: RejectionKind, detail: impl Into<String>) -> Self {
        Reason { kind, detail: detail.into() }
    }

    /// A JSON (de)serialization error, its detail prefixed with what was being read.
    pub fn json(what: &str, error: &serde_json::Error) -> Self {
        Reason::new(RejectionKind::of_json(error), format!("{what}: {error}"))
    }

    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The human message, values included.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The same reason, its detail saying where in its file the record was (`line 4`).
    pub fn at(self, place: impl fmt::Display) -> Self {
        Reason { detail: format!("{place}: {}", self.detail), ..self }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_kind_has_its_own_label_in_prometheus_style() {
        let labels: HashSet<&str> = RejectionKind::ALL.iter().map(|kind| kind.label()).collect();
        assert_eq!(labels.len(), RejectionKind::ALL.len(), "labels are distinct");
        for label in labels {
            assert!(label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{label}");
        }
    }

    #[test]
    fn a_kind_is_spelled_as_its_label_in_json_and_read_back() {
        for kind in RejectionKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.label()));
            assert_eq!(serde_json::from_str::<RejectionKind>(&json).unwrap(), kind);
        }
        let unknown = serde_json::from_str::<RejectionKind>("\"gremlins\"").unwrap_err().to_string();
        assert!(unknown.contains("no rejection kind is called 'gremlins'"), "{unknown}");
    }

    #[test]
    fn json_errors_are_malformed_text_or_invalid_fields() {
        let syntax = serde_json::from_str::<serde_json::Value>("{\"a\": ").unwrap_err();
        assert_eq!(Reason::json("malformed tweet JSON", &syntax).kind(), RejectionKind::MalformedJson);
        let shape = serde_json::from_str::<u64>("\"one\"").unwrap_err();
        let reason = Reason::json("malformed tweet JSON", &shape);
        assert_eq!(reason.kind(), RejectionKind::InvalidField);
        assert!(reason.detail().starts_with("malformed tweet JSON: invalid type"), "{reason}");
    }

    #[test]
    fn a_place_prefixes_the_detail_and_keeps_the_kind() {
        let reason = Reason::new(RejectionKind::InvalidDate, "'soon' is not a date").at("line 4");
        assert_eq!(
            (reason.kind(), reason.to_string().as_str()),
            (RejectionKind::InvalidDate, "line 4: 'soon' is not a date")
        );
    }
}
