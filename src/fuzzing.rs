//! What each fuzz target (`fuzz/`, run by `scripts/fuzz.sh`) does with one input: hand it to one
//! decoder at trendflow's edge and check what must hold of any answer. Shared with the test that
//! replays every input the fuzzers found (`tests/integration/fuzz_regressions.rs`), so a finding
//! stays fixed.
//!
//! Each function panics only on a broken promise; an input the decoder refuses is an answer. The
//! promises every decoder that yields tweets keeps:
//! * a tweet it takes keeps the input rules ([`crate::limits`]), its `date_time` text means
//!   exactly its event time — a day or time that does not exist (2021-02-30, 24:00:00) is
//!   refused, never rolled over into the next — and the row the archive keeps of it gives the
//!   batch layer the same tweet ([`taken`]);
//! * what a reader takes, written back in its own format (a dump, CSV) or in the seed's row form
//!   (JSON, as `produce` sends tweets), reads back the same: nothing is lost or changed between
//!   a file, a message and the archive.

use trendflow_dataflows::hashtags::extract_hashtags;
use trendflow_dataflows::{EventTime, Tweet};

use crate::kafka::source::{decode, Decoded, MAX_MESSAGE_BYTES};
use crate::limits::{check_tweet, MAX_HASHTAG_CHARS};
use crate::source::files::{csv_rows, json_lines};
use crate::source::formats::{Format, Parsed};
use crate::source::seed_dump::{DumpReader, DumpRow};
use crate::source::seed_tweet::{Ingestion, SeedTweet};
use crate::time::{format_utc_date_time, parse_created_at, zone_offset_hours};
use crate::vocabulary::rejection::{Reason, RejectionKind};

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

/// When [`kafka_message`]'s messages come in: at the seed's start, taking event times up to an
/// hour ahead.
const INGESTION: Ingestion = Ingestion { at: 1_630_281_087_000, max_event_ahead_ms: 3_600_000 };

/// Ten years, in milliseconds: long enough ago for any watermark to have passed.
const DECADE_MS: u64 = 10 * 365 * 86_400_000;

/// The columns rows are written back in, to CSV or a dump: the seed's, then trendflow's optional
/// ones.
const ROW_COLUMNS: [&str; 6] = ["tweet_id", "tweet", "date_time", "language", "user_id", "retweet_of"];

/// A Kafka message of the `tweets` topic, of any format. A tweet it yields is [`taken`] rightly,
/// and its event time is at most the bound ahead of the message's ingestion time, so that one
/// tweet dated years ahead cannot move a watermark there ([`crate::limits`]). The verdict on its
/// time is that bound's alone: ingested exactly the bound before its event time the message
/// gives the same tweet, a millisecond earlier it is refused, and however long after, it gives
/// the same tweet again (whether a tweet is late is the watermarks' business, not `decode`'s).
/// And the archive's row of it, sent again as the seed's message (as `produce` sends stored
/// tweets), decodes to the same tweet and `date_time`, when it fits a message.
pub fn kafka_message(data: &[u8]) {
    let decoded_at = |at| decode(Some(data), Format::Auto, Ingestion { at, ..INGESTION });
    let Ok(Decoded::Tweet(tweet, date_time)) = decoded_at(INGESTION.at) else { return };
    taken(&tweet, &date_time);
    let bound = INGESTION.max_event_ahead_ms;
    assert!(
        tweet.created_at <= INGESTION.at + bound,
        "a tweet of {} was taken at {}, more than the bound ahead",
        format_utc_date_time(tweet.created_at),
        format_utc_date_time(INGESTION.at)
    );
    let same = Ok(Decoded::Tweet(tweet.clone(), date_time.clone()));
    let earliest = tweet.created_at - bound;
    assert_eq!(decoded_at(earliest), same, "ingested exactly the bound before its event time");
    let too_early = decoded_at(earliest - 1);
    let refused = too_early.as_ref().is_err_and(|reason| reason.kind() == RejectionKind::AheadOfIngestion);
    assert!(refused, "ingested a millisecond before the bound allows: {too_early:?}");
    assert_eq!(decoded_at(tweet.created_at + DECADE_MS), same, "ingested ten years after its event time");
    let message = serde_json::to_vec(&archived(&tweet, &date_time)).expect("a row serializes");
    if message.len() <= MAX_MESSAGE_BYTES {
        assert_eq!(decode(Some(&message), Format::Auto, INGESTION), same, "{}", String::from_utf8_lossy(&message));
    }
}

/// A dump, read to its end or its first error. Every tweet row makes a tweet [`taken`] rightly or
/// is refused (converted as `db load` converts it), and the rows, written back as inserts with
/// strings escaped as mysqldump escapes them, read back the same.
pub fn seed_dump(data: &[u8]) {
    let rows: Vec<DumpRow> = DumpReader::new(data).map_while(Result::ok).collect();
    for row in &rows {
        if let DumpRow::Tweet(row) = row {
            row_taken(row);
        }
    }
    let written: String = rows.iter().map(insert).collect();
    let again: Result<Vec<DumpRow>, _> = DumpReader::new(written.as_bytes()).collect();
    assert_eq!(again.map_err(|e| e.to_string()), Ok(rows), "written back as\n{written}");
}

/// A CSV file of the seed's columns. Every row read makes a tweet [`taken`] rightly or is refused
/// (converted as `db load` converts it), and the rows, written back as CSV with the seed's columns
/// and trendflow's optional ones, read back the same.
pub fn csv_file(data: &[u8]) {
    let rows: Vec<SeedTweet> = csv_rows(data).filter_map(Result::ok).collect();
    rows.iter().for_each(row_taken);
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(ROW_COLUMNS).expect("writing to memory");
    for row in &rows {
        let record = (row.tweet_id, &row.tweet, &row.date_time, &row.language, row.user_id, row.retweet_of);
        writer.serialize(record).expect("writing to memory");
    }
    let written = writer.into_inner().expect("writing to memory");
    let again: Result<Vec<SeedTweet>, Reason> = csv_rows(&written[..]).collect();
    assert_eq!(again, Ok(rows), "written back as\n{}", String::from_utf8_lossy(&written));
}

/// JSON lines of any format. Every row a record holds makes a tweet [`taken`] rightly or is
/// refused (converted as `db load` converts it), and the rows, written back in the seed's row form
/// (as `produce` sends them), one a line, read back the same.
pub fn json_lines_file(data: &[u8]) {
    let rows: Vec<SeedTweet> = json_lines(data, Format::Auto)
        .filter_map(|record| match record {
            Ok(Parsed::Rows(rows)) => Some(rows),
            _ => None,
        })
        .flatten()
        .collect();
    rows.iter().for_each(row_taken);
    let written: String = rows.iter().map(|row| serde_json::to_string(row).expect("a row serializes") + "\n").collect();
    let again: Vec<Result<Parsed, Reason>> = json_lines(written.as_bytes(), Format::Auto).collect();
    let expected: Vec<Result<Parsed, Reason>> = rows.into_iter().map(|row| Ok(Parsed::Rows(vec![row]))).collect();
    assert_eq!(again, expected, "written back as\n{written}");
}

/// A `date_time` text: a time it reads means exactly what the text says ([`means_exactly`]).
pub fn date_time(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(time) = parse_created_at(text) {
            means_exactly(text, time);
        }
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
            let tweet = Tweet {
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

/// What must hold of a tweet a reader took, with the `date_time` text it came with. It keeps the
/// input rules, so that both layers store it; its `date_time` means exactly its event time
/// ([`means_exactly`]); and the row the archive keeps of it (its text and `date_time` as they
/// came) and the row of a generated tweet (its time as UTC with milliseconds) each give the batch
/// layer the same tweet back, so both layers count it alike.
fn taken(tweet: &Tweet, date_time: &str) {
    assert_eq!(check_tweet(tweet), Ok(()), "tweet {} was taken against the input rules", tweet.id);
    means_exactly(date_time, tweet.created_at);
    let archive = archived(tweet, date_time).into_tweet();
    assert_eq!(archive.as_ref(), Ok(tweet), "the archive's row of tweet {} reads back otherwise", tweet.id);
    let generated = SeedTweet::from_tweet(tweet.clone()).into_tweet();
    assert_eq!(generated.as_ref(), Ok(tweet), "a generated tweet's row of tweet {} reads back otherwise", tweet.id);
}

/// A row a file reader read: the tweet it makes, if any, is [`taken`] rightly.
fn row_taken(row: &SeedTweet) {
    if let Ok(tweet) = row.clone().into_tweet() {
        taken(&tweet, row.date_time.as_deref().unwrap_or_default());
    }
}

/// The row the archive stores for `tweet` and the batch layer reads back: the `date_time` text it
/// came with, the values it was taken with.
fn archived(tweet: &Tweet, date_time: &str) -> SeedTweet {
    SeedTweet {
        tweet_id: tweet.id,
        tweet: Some(tweet.text.clone()),
        date_time: Some(date_time.to_string()),
        language: Some(tweet.lang.clone()),
        user_id: tweet.user_id,
        retweet_of: tweet.retweet_of,
    }
}

/// What must hold of a `date_time` text read as `time`. The time lies in the years tweets can be
/// from (2006 to 2099; others are refused as absurd); written back as UTC with milliseconds, it
/// reads back the same; and a text in one of the forms read, written in full ([`written_fields`]),
/// writes the time's own calendar fields in its zone, to the millisecond — so a day or time that
/// does not exist (2021-02-30, 24:00:00, 23:60:00) was refused, not read as the one it would roll
/// over into.
fn means_exactly(text: &str, time: EventTime) {
    let shown = format_utc_date_time(time);
    let year: Option<u32> = shown.split('-').next().and_then(|year| year.parse().ok());
    assert!(matches!(year, Some(2006..=2099)), "'{text}' was read as {shown}");
    assert_eq!(parse_created_at(&shown), Ok(time), "'{text}' was read as {shown}");
    if let Some((fields, offset_ms)) = written_fields(text) {
        let local = time.checked_add_signed(offset_ms).map(format_utc_date_time);
        assert_eq!(
            local.as_deref().and_then(|local| local.strip_suffix(" UTC")),
            Some(fields.as_str()),
            "'{text}' was read as {shown}"
        );
    }
}

/// The calendar fields a `date_time` text writes, as `YYYY-MM-DD HH:MM:SS.mmm` (the milliseconds
/// are a fraction's first three digits), and its zone's offset from UTC in milliseconds, if it is
/// in one of the forms read, written in full: every field with all its digits (or the month's
/// English abbreviation), a known zone.
fn written_fields(text: &str) -> Option<(String, i64)> {
    let text = text.trim();
    numeric_form(text).or_else(|| twitter_v1_form(text))
}

/// The seed's form (`2021-08-29 19:51:27 EDT`, with a zone abbreviation or none for UTC) and RFC
/// 3339's (`2021-08-29T23:51:27Z`, `2021-08-29T19:51:27-04:00`), each with or without a fraction
/// of a second.
fn numeric_form(text: &str) -> Option<(String, i64)> {
    let (date, time, rest) = (text.get(..10)?, text.get(11..19)?, text.get(19..)?);
    if !(shaped(date, "9999-99-99") && matches!(text.as_bytes()[10], b' ' | b'T' | b't') && shaped(time, "99:99:99")) {
        return None;
    }
    let (millis, zone) = match rest.strip_prefix('.') {
        Some(fraction) => {
            let zone = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
            let digits = &fraction[..fraction.len() - zone.len()];
            (format!("{:0<3}", &digits[..digits.len().min(3)]), zone)
        }
        None => ("000".to_string(), rest),
    };
    let offset_minutes = match zone {
        "" | "Z" | "z" => 0,
        _ => match zone.strip_prefix(' ') {
            Some(abbreviation) => zone_offset_hours(abbreviation)? * 60,
            None => offset_minutes(zone, "99:99")?,
        },
    };
    Some((format!("{date} {time}.{millis}"), offset_minutes * 60_000))
}

/// Twitter API v1.1's form: `Sun Aug 29 23:51:27 +0000 2021`.
fn twitter_v1_form(text: &str) -> Option<(String, i64)> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let fields: Vec<&str> = text.split(' ').collect();
    let [_weekday, month, day, time, offset, year] = fields[..] else { return None };
    let month = MONTHS.iter().position(|name| *name == month)? + 1;
    if !(shaped(day, "99") && shaped(time, "99:99:99") && shaped(year, "9999")) {
        return None;
    }
    Some((format!("{year}-{month:02}-{day} {time}.000"), offset_minutes(offset, "9999")? * 60_000))
}

/// The minutes of an offset from UTC: a sign, then hours and minutes shaped as `shape`.
fn offset_minutes(offset: &str, shape: &str) -> Option<i64> {
    let sign = match offset.get(..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    if !shaped(&offset[1..], shape) {
        return None;
    }
    let digits = offset[1..].replace(':', "");
    let (hours, minutes) = digits.split_at(2);
    Some(sign * (hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?))
}

/// Whether `text` has the shape `shape`: an ASCII digit where it has `9`, its other characters as
/// they are.
fn shaped(text: &str, shape: &str) -> bool {
    text.len() == shape.len()
        && text.bytes().zip(shape.bytes()).all(|(byte, expected)| match expected {
            b'9' => byte.is_ascii_digit(),
            _ => byte == expected,
        })
}

/// `row` as an insert of its own into the seed's table, strings escaped as mysqldump escapes them.
fn insert(row: &DumpRow) -> String {
    let text = |text: Option<&str>| text.map_or_else(|| "NULL".to_string(), quoted);
    let id = |id: Option<u64>| id.map_or_else(|| "NULL".to_string(), |id| id.to_string());
    match row {
        DumpRow::Tweet(row) => format!(
            "INSERT INTO `tweets` ({}) VALUES ({}, {}, {}, {}, {}, {});\n",
            ROW_COLUMNS.map(|column| format!("`{column}`")).join(", "),
            row.tweet_id,
            text(row.tweet.as_deref()),
            text(row.date_time.as_deref()),
            text(row.language.as_deref()),
            id(row.user_id),
            id(row.retweet_of)
        ),
        DumpRow::Hashtag { hashtag_id, hashtag } => {
            format!("INSERT INTO `hashtags` (`hashtag_id`, `hashtag`) VALUES ({hashtag_id}, {});\n", quoted(hashtag))
        }
        DumpRow::TweetHashtag { tweet_id, hashtag_id, count } => format!(
            "INSERT INTO `tweet_hashtags` (`tweet_id`, `hashtag_id`, `count`) VALUES ({tweet_id}, {hashtag_id}, {count});\n"
        ),
    }
}

/// `text` as a MySQL string literal, escaped as mysqldump escapes it.
fn quoted(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('\'');
    for c in text.chars() {
        match c {
            '\0' => literal.push_str("\\0"),
            '\n' => literal.push_str("\\n"),
            '\r' => literal.push_str("\\r"),
            '\u{1a}' => literal.push_str("\\Z"),
            '\\' | '\'' | '"' => {
                literal.push('\\');
                literal.push(c);
            }
            c => literal.push(c),
        }
    }
    literal.push('\'');
    literal
}
