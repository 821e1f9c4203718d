//! What a tweet must be to be taken in: the rules every source applies at its edge, so that a
//! tweet either fits everywhere it is stored or is refused with a reason, and both layers take
//! and refuse the same tweets.
//!
//! The rules, one per way a well-formed tweet can still not fit:
//! * **Ids** (tweet, author, retweeted tweet) are `u64` in the graph and signed `bigint` in MySQL:
//!   an id must lie in `1..=i64::MAX`. Twitter's ids all do; zero is nobody's id.
//! * **Text** up to [`MAX_TEXT_BYTES`] is stored whole (`db init` widens the seed's `TEXT` column,
//!   64 KiB, to `MEDIUMTEXT`, since long posts exceed it); longer text is refused.
//! * **Language** up to [`MAX_LANGUAGE_CHARS`] characters, the seed's `varchar(10)`: every code
//!   Twitter uses, and BCP 47 tags such as `zh-Hant-TW`, fit. A longer one is refused.
//! * **Hashtags** up to [`MAX_HASHTAG_CHARS`] characters, the seed's `varchar(300)` (a tweet of
//!   280 characters cannot hold a longer one). A tweet with a longer one is refused whole: storing
//!   it without that hashtag would rank it differently from its text.
//! * **Event time** at most the bound ahead of the tweet's ingestion time — the Kafka record's
//!   timestamp, or the time of the `db load` that brought it — so that one tweet dated years
//!   ahead cannot move a watermark there and make every later tweet late. The verdict depends only
//!   on the tweet and its ingestion time, which the archive keeps: a replay of the same record
//!   gets the same verdict, and a refused tweet never reaches the archive the batch layer reads.

use thiserror::Error;
use trendflow_dataflows::hashtags::extract_hashtags;
use trendflow_dataflows::window::format_duration;
use trendflow_dataflows::{EventTime, Tweet};

use crate::time::format_utc_date_time;
use crate::vocabulary::rejection::{Reason, RejectionKind};

/// The longest text taken, in bytes: the largest message the stream accepts.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// The longest language code taken, in characters: the seed's `language varchar(10)`.
pub const MAX_LANGUAGE_CHARS: usize = 10;

/// The longest hashtag taken, in characters: the seed's `hashtag varchar(300)`.
pub const MAX_HASHTAG_CHARS: usize = 300;

/// How far ahead of its ingestion time a tweet's event time may be, unless configured otherwise
/// (`--max-event-ahead`): generous for skewed clocks, far short of closing the world.
pub const DEFAULT_MAX_EVENT_AHEAD: &str = "1h";

/// Why a tweet that parsed cannot be taken in.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Misfit {
    #[error("{field} {value} is outside MySQL's bigint ids (1 to {max})", max = i64::MAX)]
    Id { field: &'static str, value: i128 },
    #[error("text of {0} bytes exceeds the limit of {MAX_TEXT_BYTES} bytes")]
    Text(usize),
    #[error("language '{shown}' has {chars} characters; at most {MAX_LANGUAGE_CHARS} fit")]
    Language { shown: String, chars: usize },
    #[error("hashtag '#{shown}…' has {chars} characters; at most {MAX_HASHTAG_CHARS} fit")]
    Hashtag { shown: String, chars: usize },
    #[error(
        "event time {event} is {ahead} ahead of its ingestion time {ingested}, more than the bound of {bound} (--max-event-ahead)",
        event = format_utc_date_time(*event), ingested = format_utc_date_time(*ingested),
        ahead = roughly(event - ingested), bound = format_duration(*bound)
    )]
    Future { event: EventTime, ingested: EventTime, bound: u64 },
}

impl Misfit {
    /// The kind of refusal this is, for the dead-letter metric.
    pub fn kind(&self) -> RejectionKind {
        match self {
            Misfit::Id { .. } => RejectionKind::IdOutOfRange,
            Misfit::Text(_) => RejectionKind::TextTooLong,
            Misfit::Language { .. } => RejectionKind::LanguageTooLong,
            Misfit::Hashtag { .. } => RejectionKind::HashtagTooLong,
            Misfit::Future { .. } => RejectionKind::AheadOfIngestion,
        }
    }
}

impl From<Misfit> for Reason {
    fn from(misfit: Misfit) -> Self {
        Reason::new(misfit.kind(), misfit.to_string())
    }
}

/// Checks everything about `tweet` that does not depend on when it arrived.
pub fn check_tweet(tweet: &Tweet) -> Result<(), Misfit> {
    check_id("tweet_id", tweet.id)?;
    if let Some(user) = tweet.user_id {
        check_id("user_id", user)?;
    }
    if let Some(original) = tweet.retweet_of {
        check_id("retweet_of", original)?;
    }
    if tweet.text.len() > MAX_TEXT_BYTES {
        return Err(Misfit::Text(tweet.text.len()));
    }
    let chars = tweet.lang.chars().count();
    if chars > MAX_LANGUAGE_CHARS {
        return Err(Misfit::Language { shown: prefix(&tweet.lang, MAX_LANGUAGE_CHARS), chars });
    }
    // A hashtag lies within one whitespace-free run of the text, and lowercasing at most doubles
    // its characters (`İ` becomes two): a text whose runs are all at most 150 characters holds
    // none longer than 300, and extraction, the costly part, is left to the texts that might.
    if tweet.text.split_whitespace().any(|run| run.chars().nth(MAX_HASHTAG_CHARS / 2).is_some()) {
        extract_hashtags(&tweet.text).iter().try_for_each(|tag| check_hashtag(tag))?;
    }
    Ok(())
}

/// Checks a hashtag row of the seed's dump: its id as MySQL stores it, and its length.
pub fn check_hashtag_row(id: u64, hashtag: &str) -> Result<(), Misfit> {
    sql_hashtag_id(id)?;
    check_hashtag(hashtag)
}

fn check_hashtag(hashtag: &str) -> Result<(), Misfit> {
    match hashtag.chars().nth(MAX_HASHTAG_CHARS) {
        Some(_) => Err(Misfit::Hashtag { shown: prefix(hashtag, 20), chars: hashtag.chars().count() }),
        None => Ok(()),
    }
}

/// Checks that `event`, the tweet's event time, is at most `bound_ms` ahead of `ingested`.
pub fn check_event_time(event: EventTime, ingested: EventTime, bound_ms: u64) -> Result<(), Misfit> {
    match event > ingested.saturating_add(bound_ms) {
        true => Err(Misfit::Future { event, ingested, bound: bound_ms }),
        false => Ok(()),
    }
}

/// An id as MySQL stores it: in `1..=i64::MAX`.
pub fn sql_id(field: &'static str, id: u64) -> Result<i64, Misfit> {
    check_id(field, id)?;
    Ok(id as i64)
}

/// A hashtag id as MySQL stores it: Twitter's own begin at 0 (the seed's `#legendary`).
pub fn sql_hashtag_id(id: u64) -> Result<i64, Misfit> {
    i64::try_from(id).map_err(|_| Misfit::Id { field: "hashtag_id", value: id.into() })
}

/// An id as MySQL returns it, back in the graph's type; a row that breaks the rules (written by
/// something else than trendflow) is refused, as it would have been at the edge.
pub fn graph_id(field: &'static str, id: i64) -> Result<u64, Misfit> {
    match u64::try_from(id) {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(Misfit::Id { field, value: id.into() }),
    }
}

fn check_id(field: &'static str, id: u64) -> Result<(), Misfit> {
    match id == 0 || i64::try_from(id).is_err() {
        true => Err(Misfit::Id { field, value: id.into() }),
        false => Ok(()),
    }
}

/// `ms` in its largest whole unit, rounded down: "3d" for three and a half days.
fn roughly(ms: u64) -> String {
    const UNITS: [(&str, u64); 4] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)];
    match UNITS.iter().find(|(_, size)| ms >= *size) {
        Some((unit, size)) if ms % size == 0 => format!("{}{unit}", ms / size),
        Some((unit, size)) => format!("over {}{unit}", ms / size),
        None => format!("{ms}ms"),
    }
}

/// The first `chars` characters of `text`, to show in a reason without echoing megabytes.
fn prefix(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tweet(id: u64, text: &str, lang: &str) -> Tweet {
        Tweet { id, text: text.into(), created_at: 0, lang: lang.into(), user_id: None, retweet_of: None }
    }

    #[test]
    fn ids_must_fit_a_signed_bigint_and_not_be_zero() {
        assert!(check_tweet(&tweet(1, "x", "en")).is_ok());
        assert!(check_tweet(&tweet(i64::MAX as u64, "x", "en")).is_ok());
        for id in [0, i64::MAX as u64 + 1, u64::MAX] {
            let reason = check_tweet(&tweet(id, "x", "en")).unwrap_err().to_string();
            assert!(reason.starts_with(&format!("tweet_id {id} is outside")), "{reason}");
        }
        let retweet = Tweet { retweet_of: Some(0), ..tweet(5, "x", "en") };
        assert_eq!(check_tweet(&retweet), Err(Misfit::Id { field: "retweet_of", value: 0 }));
        let author = Tweet { user_id: Some(u64::MAX), ..tweet(5, "x", "en") };
        assert!(matches!(check_tweet(&author), Err(Misfit::Id { field: "user_id", .. })));
    }

    #[test]
    fn ids_convert_to_sql_and_back_only_when_they_fit() {
        assert_eq!(sql_id("tweet_id", 42), Ok(42));
        assert!(sql_id("tweet_id", 1 << 63).is_err());
        assert_eq!(graph_id("tweet_id", 42), Ok(42));
        assert_eq!(graph_id("tweet_id", -1), Err(Misfit::Id { field: "tweet_id", value: -1 }));
        assert!(graph_id("tweet_id", 0).is_err());
    }

    #[test]
    fn languages_longer_than_the_column_are_refused() {
        assert!(check_tweet(&tweet(1, "x", "zh-Hant-TW")).is_ok());
        let reason = check_tweet(&tweet(1, "x", "english-as-spoken")).unwrap_err().to_string();
        assert_eq!(reason, "language 'english-as' has 17 characters; at most 10 fit");
    }

    #[test]
    fn a_hashtag_longer_than_the_column_refuses_its_tweet() {
        let fits = format!("#{} and more text after it", "ß".repeat(MAX_HASHTAG_CHARS));
        assert!(check_tweet(&tweet(1, &fits, "de")).is_ok());
        let long = format!("a tag #{}", "a".repeat(400));
        let reason = check_tweet(&tweet(1, &long, "en")).unwrap_err().to_string();
        assert_eq!(reason, format!("hashtag '#{}…' has 400 characters; at most 300 fit", "a".repeat(20)));
        // Lowercasing makes `İ` two characters: 200 of them are a hashtag of 400.
        let grows = format!("#{}", "İ".repeat(200));
        assert!(matches!(check_tweet(&tweet(1, &grows, "tr")), Err(Misfit::Hashtag { chars: 400, .. })));
        // Long text is fine as long as no single hashtag is long.
        let text = "#short ".repeat(1_000);
        assert!(check_tweet(&tweet(1, &text, "en")).is_ok());
    }

    #[test]
    fn a_dump_s_hashtag_row_needs_an_id_mysql_stores_and_a_tag_its_column_holds() {
        assert_eq!(check_hashtag_row(0, "legendary"), Ok(()), "Twitter's hashtag ids begin at 0");
        assert!(check_hashtag_row(1, &"ß".repeat(MAX_HASHTAG_CHARS)).is_ok());
        let long = check_hashtag_row(1, &"a".repeat(MAX_HASHTAG_CHARS + 1)).unwrap_err();
        assert!(matches!(long, Misfit::Hashtag { chars: 301, .. }), "{long}");
        let id = check_hashtag_row(u64::MAX, "x").unwrap_err();
        assert_eq!(id, Misfit::Id { field: "hashtag_id", value: u64::MAX.into() });
    }

    #[test]
    fn each_misfit_is_a_kind_of_its_own_and_keeps_its_values_in_the_detail() {
        let misfits = [
            Misfit::Id { field: "tweet_id", value: 0 },
            Misfit::Text(MAX_TEXT_BYTES + 1),
            Misfit::Language { shown: "english-as".into(), chars: 17 },
            Misfit::Hashtag { shown: "a".repeat(20), chars: 400 },
            Misfit::Future { event: 2, ingested: 1, bound: 0 },
        ];
        let kinds: std::collections::HashSet<RejectionKind> = misfits.iter().map(Misfit::kind).collect();
        assert_eq!(kinds.len(), misfits.len());
        let reason = Reason::from(Misfit::Id { field: "user_id", value: -7 });
        assert_eq!(reason.kind(), RejectionKind::IdOutOfRange);
        assert!(reason.detail().starts_with("user_id -7 is outside"), "{reason}");
    }

    #[test]
    fn text_is_bounded_by_bytes() {
        assert!(check_tweet(&tweet(1, &"é".repeat(MAX_TEXT_BYTES / 2), "fr")).is_ok());
        let reason = check_tweet(&tweet(1, &"x".repeat(MAX_TEXT_BYTES + 1), "en")).unwrap_err();
        assert_eq!(reason, Misfit::Text(MAX_TEXT_BYTES + 1));
    }

    #[test]
    fn event_times_may_run_ahead_of_ingestion_only_by_the_bound() {
        let hour = 3_600_000;
        assert!(check_event_time(1_000, 1_000 + 10 * hour, hour).is_ok(), "the past is always fine");
        assert!(check_event_time(1_000 + hour, 1_000, hour).is_ok());
        let years = check_event_time(4_000_000_000_000, 1_630_281_087_000, hour).unwrap_err().to_string();
        assert!(years.contains(" is over 27427d ahead of "), "{years}");
        let reason = check_event_time(1_630_281_087_000 + 2 * hour, 1_630_281_087_000, hour).unwrap_err().to_string();
        assert_eq!(
            reason,
            "event time 2021-08-30 01:51:27.000 UTC is 2h ahead of its ingestion time 2021-08-29 23:51:27.000 UTC, \
             more than the bound of 1h (--max-event-ahead)"
        );
    }
}
