//! What each fuzz target (`fuzz/`, run by `scripts/fuzz.sh`) does with one input: hand it to one
//! decoder at trendflow's edge and check what must hold of any answer. Shared with the test that
//! replays every input the fuzzers found (`tests/fuzz_regressions.rs`), so a finding stays fixed.
//!
//! Each function panics only on a broken promise; an input the decoder refuses is an answer.

use trendflow_dataflows::hashtags::extract_hashtags;

use crate::limits::{check_tweet, MAX_HASHTAG_CHARS};
use crate::source::files::{csv_rows, json_lines};
use crate::source::formats::{Format, Parsed};
use crate::source::kafka::{decode, Decoded};
use crate::source::seed_dump::{DumpReader, DumpRow};
use crate::source::seed_tweet::{Ingestion, SeedTweet};
use crate::time::{format_utc_date_time, parse_created_at};

/// What a fuzz target does with one input.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name: the names of `fuzz/fuzz_targets/*.rs` and of the folders under
/// `fuzz/regressions/`.
pub const TARGETS: [(&str, Check); 6] = [
    ("kafka_message", kafka_message),
    ("seed_dump", seed_dump),
    ("csv_rows", csv_file),
    ("json_lines", json_lines_file),
    ("date_time", date_time),
    ("hashtags", hashtags),
];

/// A Kafka message of the `tweets` topic, of any format: a tweet it yields keeps the input rules
/// and survives the trip through the seed's row form (what `produce` and the archive write)
/// unchanged.
pub fn kafka_message(data: &[u8]) {
    let ingestion = Ingestion { at: 1_630_281_087_000, max_event_ahead_ms: 3_600_000 };
    if let Ok(Decoded::Tweet(tweet, _)) = decode(Some(data), Format::Auto, ingestion) {
        assert_eq!(check_tweet(&tweet), Ok(()));
        assert_eq!(SeedTweet::from_tweet(tweet.clone()).into_tweet().as_ref(), Ok(&tweet));
    }
}

/// A dump, read to its end or its first error, every tweet row converted as `db load` does.
pub fn seed_dump(data: &[u8]) {
    for row in DumpReader::new(data) {
        match row {
            Ok(DumpRow::Tweet(row)) => drop(row.into_tweet()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
}

/// A CSV file of the seed's columns, every row converted as `db load` does.
pub fn csv_file(data: &[u8]) {
    csv_rows(data).for_each(|row| drop(row.map(SeedTweet::into_tweet)));
}

/// A JSON-lines file of any format, every row converted as `db load` does.
pub fn json_lines_file(data: &[u8]) {
    for record in json_lines(data, Format::Auto) {
        if let Ok(Parsed::Rows(rows)) = record {
            rows.into_iter().for_each(|row| drop(row.into_tweet()));
        }
    }
}

/// A `date_time` text: a time it reads is written back (as UTC with milliseconds) to text that
/// reads as the same time.
pub fn date_time(data: &[u8]) {
    if let Ok(Ok(time)) = std::str::from_utf8(data).map(parse_created_at) {
        assert_eq!(parse_created_at(&format_utc_date_time(time)), Ok(time));
    }
}

/// A tweet's text: every hashtag found is a non-empty word (no sign, no space in it), and one too
/// long to store refuses the tweet.
pub fn hashtags(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for hashtag in extract_hashtags(text) {
        assert!(!hashtag.is_empty());
        assert!(!hashtag.contains(['#', '＃']) && !hashtag.contains(char::is_whitespace), "{hashtag:?}");
        if hashtag.chars().count() > MAX_HASHTAG_CHARS {
            let tweet = trendflow_dataflows::Tweet {
                id: 1,
                text: text.to_string(),
                created_at: 0,
                lang: "en".into(),
                user_id: None,
                retweet_of: None,
            };
            assert!(check_tweet(&tweet).is_err(), "a {}-character hashtag passed", hashtag.chars().count());
        }
    }
}
