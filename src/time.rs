//! Event times as text, one definition each: parsing tweets' `date_time` into UTC milliseconds,
//! and writing times for the seed's rows, for people and for JSON.
//!
//! The seed stores times as `2021-08-29 19:51:27 EDT`: local time with a US or UTC zone
//! abbreviation. Abbreviations are ambiguous in general (CST is also China's), so only the ones
//! the seed's sources use are accepted, with their US meaning. ISO-8601 / RFC 3339 times (Twitter
//! API v2, Bluesky) and Twitter API v1.1's `Sun Aug 29 23:51:27 +0000 2021` are accepted too, and a
//! time with no zone at all is taken as UTC.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use thiserror::Error;

use trendflow_dataflows::EventTime;

/// Why a `date_time` could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DateTimeError {
    #[error("'{0}' is not a date and time (expected e.g. '2021-08-29 19:51:27 EDT' or '2021-08-29T23:51:27Z')")]
    Unreadable(String),
    #[error("unknown time zone '{zone}' in '{text}' (known: UTC, GMT, Z, EST, EDT, CST, CDT, MST, MDT, PST, PDT, AKST, AKDT, HST)")]
    UnknownZone { zone: String, text: String },
    #[error("'{0}' is outside 2006..2100, when tweets can exist")]
    Absurd(String),
}

/// The form of `created_at` in Twitter API v1.1 statuses: `Sun Aug 29 23:51:27 +0000 2021`.
const TWITTER_V1: &str = "%a %b %d %H:%M:%S %z %Y";

/// Offsets from UTC, in hours, of the zone abbreviations the seed's sources write.
const ZONES: [(&str, i64); 14] = [
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("EST", -5),
    ("EDT", -4),
    ("CST", -6),
    ("CDT", -5),
    ("MST", -7),
    ("MDT", -6),
    ("PST", -8),
    ("PDT", -7),
    ("AKST", -9),
    ("AKDT", -8),
    ("HST", -10),
];

/// Milliseconds since the Unix epoch (UTC) of a tweet's `date_time`.
///
/// ```
/// use trendflow::time::parse_created_at;
/// assert_eq!(parse_created_at("2021-08-29 19:51:27 EDT"), parse_created_at("2021-08-29T23:51:27Z"));
/// assert_eq!(parse_created_at("Sun Aug 29 23:51:27 +0000 2021"), parse_created_at("2021-08-29T23:51:27Z"));
/// ```
pub fn parse_created_at(text: &str) -> Result<EventTime, DateTimeError> {
    let trimmed = text.trim();
    let (millis, nanosecond) = match DateTime::parse_from_rfc3339(trimmed)
        .or_else(|_| DateTime::parse_from_str(trimmed, TWITTER_V1))
    {
        Ok(moment) => (moment.timestamp_millis(), moment.nanosecond()),
        Err(_) => {
            let (local, offset_hours) = match trimmed.rsplit_once(' ') {
                Some((local, zone)) if zone.chars().all(|c| c.is_ascii_alphabetic()) => {
                    let offset = zone_offset_hours(zone)
                        .ok_or_else(|| DateTimeError::UnknownZone { zone: zone.to_string(), text: text.to_string() })?;
                    (local, offset)
                }
                _ => (trimmed, 0),
            };
            let local = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S%.f")
                .map_err(|_| DateTimeError::Unreadable(text.to_string()))?;
            (local.and_utc().timestamp_millis() - offset_hours * 3_600_000, local.nanosecond())
        }
    };
    // chrono reads a 60th second in any minute as a leap second, and its time as the next
    // minute's first: 10:00:60 would silently become 10:01:00. Tweets' times are Unix times,
    // which have no leap seconds, so a 60th second is no time a source writes.
    if nanosecond >= 1_000_000_000 {
        return Err(DateTimeError::Unreadable(text.to_string()));
    }
    // 2006-01-01 and 2100-01-01 UTC.
    if !(1_136_073_600_000..4_102_444_800_000).contains(&millis) {
        return Err(DateTimeError::Absurd(text.to_string()));
    }
    Ok(millis as EventTime)
}

/// The offset from UTC, in hours, of a zone abbreviation [`parse_created_at`] knows (in any case).
///
/// ```
/// use trendflow::time::zone_offset_hours;
/// assert_eq!((zone_offset_hours("EDT"), zone_offset_hours("utc"), zone_offset_hours("CET")), (Some(-4), Some(0), None));
/// ```
pub fn zone_offset_hours(zone: &str) -> Option<i64> {
    ZONES.iter().find(|(name, _)| name.eq_ignore_ascii_case(zone)).map(|(_, hours)| *hours)
}

/// A `date_time` text for an event time that has none of its own: UTC with milliseconds, which
/// [`parse_created_at`] reads back exactly.
///
/// ```
/// use trendflow::time::{format_utc_date_time, parse_created_at};
/// assert_eq!(format_utc_date_time(1_630_281_087_042), "2021-08-29 23:51:27.042 UTC");
/// assert_eq!(parse_created_at(&format_utc_date_time(1_630_281_087_042)), Ok(1_630_281_087_042));
/// ```
pub fn format_utc_date_time(time: EventTime) -> String {
    static FORMAT: Format = LazyLock::new(|| parsed("%Y-%m-%d %H:%M:%S%.3f UTC"));
    formatted(time, &FORMAT)
}

/// Event time as `YYYY-MM-DD HH:MM:SS` in UTC, the form trendflow's lines for people use.
pub fn format_event_time(time: EventTime) -> String {
    static FORMAT: Format = LazyLock::new(|| parsed("%Y-%m-%d %H:%M:%S"));
    formatted(time, &FORMAT)
}

/// Event time as RFC 3339 UTC with milliseconds, for message keys and bodies.
pub fn rfc3339(time: EventTime) -> String {
    static FORMAT: Format = LazyLock::new(|| parsed("%Y-%m-%dT%H:%M:%S%.3fZ"));
    formatted(time, &FORMAT)
}

/// A time format, parsed once: parsing it for every time formatted was 5% of the serving
/// layer's time under load.
type Format = LazyLock<Vec<Item<'static>>>;

/// The items of the constant `format`.
fn parsed(format: &'static str) -> Vec<Item<'static>> {
    StrftimeItems::new(format).parse().unwrap_or_else(|error| panic!("the time format {format}: {error}"))
}

/// `time` in `format`, or as milliseconds if it lies beyond what a calendar date can show.
fn formatted(time: EventTime, format: &[Item<'static>]) -> String {
    match i64::try_from(time).ok().and_then(DateTime::<Utc>::from_timestamp_millis) {
        Some(moment) => moment.format_with_items(format.iter()).to_string(),
        None => format!("{time} ms"),
    }
}

/// Now, in microseconds since the Unix epoch.
pub fn wall_clock_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|since| since.as_micros() as u64).unwrap_or(0)
}

/// Now, in milliseconds since the Unix epoch: an event time.
pub fn wall_clock_ms() -> EventTime {
    wall_clock_us() / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_START: EventTime = 1_630_281_087_000; // 2021-08-29 23:51:27 UTC

    #[test]
    fn event_times_print_in_each_form_and_beyond_the_calendar_as_milliseconds() {
        assert_eq!(rfc3339(SEED_START + 42), "2021-08-29T23:51:27.042Z");
        assert_eq!(format_event_time(SEED_START), "2021-08-29 23:51:27");
        assert_eq!(format_utc_date_time(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(rfc3339(u64::MAX), format!("{} ms", u64::MAX));
    }

    #[test]
    fn the_seed_form_with_zone_abbreviations() {
        assert_eq!(parse_created_at("2021-08-29 19:51:27 EDT"), Ok(SEED_START));
        assert_eq!(parse_created_at("2021-08-29 16:51:27 PDT"), Ok(SEED_START));
        assert_eq!(parse_created_at("2021-08-29 23:51:27 UTC"), Ok(SEED_START));
        assert_eq!(parse_created_at("2021-08-29 18:51:27.250 cdt"), Ok(SEED_START + 250));
    }

    #[test]
    fn iso_8601_and_bare_utc() {
        assert_eq!(parse_created_at("2021-08-29T23:51:27Z"), Ok(SEED_START));
        assert_eq!(parse_created_at("2021-08-29T19:51:27-04:00"), Ok(SEED_START));
        assert_eq!(parse_created_at("2021-08-29T23:51:27.123Z"), Ok(SEED_START + 123));
        assert_eq!(parse_created_at("2021-08-29 23:51:27"), Ok(SEED_START));
    }

    #[test]
    fn nonsense_is_rejected_with_the_reason() {
        assert!(matches!(parse_created_at("yesterday"), Err(DateTimeError::Unreadable(_))));
        assert!(matches!(parse_created_at("2021-08-29 19:51:27 XYZ"), Err(DateTimeError::UnknownZone { .. })));
        assert!(matches!(parse_created_at("1970-01-01 00:00:00"), Err(DateTimeError::Absurd(_))));
        assert!(matches!(parse_created_at("2021-13-45 10:00:00"), Err(DateTimeError::Unreadable(_))));
    }

    #[test]
    fn days_and_times_that_do_not_exist_are_refused_not_rolled_over() {
        for text in [
            "2021-02-30 10:00:00 EDT",
            "2021-08-29 24:00:00 UTC",
            "2021-08-29 23:60:00",
            "2021-08-29 10:00:60 UTC",
            "2021-08-29T10:00:60Z",
            "2016-12-31T23:59:60Z",
            "Sun Aug 29 23:59:60 +0000 2021",
        ] {
            assert_eq!(parse_created_at(text), Err(DateTimeError::Unreadable(text.into())));
        }
        assert_eq!(parse_created_at("2021-08-29 23:59:59.999 UTC"), Ok(1_630_281_599_999));
    }
}
