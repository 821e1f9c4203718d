//! A request's parameters, read and checked: each refusal says what would be right.

use std::collections::HashMap;

use clap::ValueEnum;
use trendflow_dataflows::EventTime;

use crate::serve::error::ApiError;
use crate::time::{parse_created_at, rfc3339};
use crate::vocabulary::ViewKind;

/// The view named `kind` in a path.
pub fn view_kind(kind: &str) -> Result<ViewKind, ApiError> {
    ViewKind::from_str(kind, true)
        .map_err(|_| ApiError::not_found(format!("no view '{kind}'"), "hashtags, tweets, languages or trending"))
}

/// Refuses a parameter not in `allowed`.
pub fn only(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(unknown) => Err(ApiError::bad_request(format!("unknown parameter '{unknown}'"), allowed.join(", "))),
        None => Ok(()),
    }
}

/// The whole-number parameter `name`, `default` when absent.
pub fn number(
    params: &HashMap<String, String>,
    name: &str,
    default: usize,
    allowed: std::ops::RangeInclusive<usize>,
) -> Result<usize, ApiError> {
    match params.get(name) {
        None => Ok(default),
        Some(text) => text.parse::<usize>().ok().filter(|n| allowed.contains(n)).ok_or_else(|| {
            let expected = format!("a whole number from {} to {}", allowed.start(), allowed.end());
            ApiError::bad_request(format!("{name} '{text}'"), expected)
        }),
    }
}

/// The `from` and `to` parameters: both required, `from` not after `to`.
pub fn time_range(params: &HashMap<String, String>) -> Result<(EventTime, EventTime), ApiError> {
    let time = |name: &str| {
        let text = params.get(name).ok_or_else(|| {
            ApiError::bad_request(format!("{name} is missing"), "from and to, as epoch ms or RFC 3339")
        })?;
        parse_time(text)
    };
    let (from, to) = (time("from")?, time("to")?);
    if from > to {
        let error = format!("from {} is after to {}", rfc3339(from), rfc3339(to));
        return Err(ApiError::bad_request(error, "from at or before to"));
    }
    Ok((from, to))
}

/// The latest time a request may name, 9999-12-31T23:59:59.999Z: the arithmetic on a time (its
/// window's end, a range's windows) then stays far from overflowing.
const LATEST_TIME: EventTime = 253_402_300_799_999;

/// A time given as epoch milliseconds or RFC 3339, at most [`LATEST_TIME`].
pub fn parse_time(text: &str) -> Result<EventTime, ApiError> {
    let expected = "epoch milliseconds or RFC 3339 up to year 9999, such as 2021-08-29T23:55:00Z";
    let time = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok().filter(|time| *time <= LATEST_TIME)
    } else {
        Some(
            parse_created_at(text)
                .map_err(|error| ApiError::bad_request(format!("time '{text}': {error}"), expected))?,
        )
    };
    time.filter(|time| *time <= LATEST_TIME)
        .ok_or_else(|| ApiError::bad_request(format!("time '{text}' is out of range"), expected))
}
