//! A request's query, read into a typed struct ([`Params`]): an unknown parameter or a malformed
//! value is refused naming the parameter, with what the endpoint takes. Checks that need the
//! server's state (which window specs it holds) are the handlers'.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use clap::ValueEnum;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use trendflow_dataflows::EventTime;

use crate::serve::error::ApiError;
use crate::time::{parse_created_at, rfc3339};
use crate::vocabulary::ViewKind;

/// A query an endpoint takes, and how to tell a client what it takes.
pub trait Query: DeserializeOwned {
    /// The parameters and their values, for a refusal.
    const TAKES: &'static str;
}

/// The query of a request, as `T`.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: Query> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(Params).map_err(|error| {
            let error = match error.path().to_string().as_str() {
                "." => error.inner().to_string(),
                parameter => format!("{parameter}: {}", error.inner()),
            };
            ApiError::bad_request(error, T::TAKES)
        })
    }
}

/// The most rows a ranking request may ask for, and the default.
pub const MAX_K: usize = 1_000;

/// The most windows one page of a range holds, and the default.
pub const MAX_PAGE: usize = 500;
pub const DEFAULT_PAGE: usize = 60;

/// The most tweets one request may ask for.
pub const MAX_TWEETS: usize = 100;

/// `GET /api/v1/windows/{kind}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    pub spec: Option<String>,
    pub at: Option<Time>,
    pub k: Option<Bounded<MAX_K>>,
}

impl Query for WindowQuery {
    const TAKES: &'static str = "spec (a window spec the server holds), at (a window end: epoch ms or RFC 3339, \
        the latest by default), k (the rows: a whole number from 1 to 1000)";
}

/// `GET /api/v1/windows/{kind}/range`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    pub spec: Option<String>,
    pub from: Time,
    pub to: Time,
    pub k: Option<Bounded<MAX_K>>,
    pub limit: Option<Bounded<MAX_PAGE>>,
    pub cursor: Option<EventTime>,
}

impl Query for RangeQuery {
    const TAKES: &'static str = "spec (a window spec the server holds), from and to (epoch ms or RFC 3339), \
        k (the rows: a whole number from 1 to 1000), limit (windows a page: from 1 to 500), \
        cursor (the next_cursor of the page before)";
}

/// `GET /api/v1/hashtags/{hashtag}/history`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub spec: Option<String>,
    pub from: Time,
    pub to: Time,
}

impl Query for HistoryQuery {
    const TAKES: &'static str = "spec (a window spec the server holds), from and to (epoch ms or RFC 3339)";
}

/// `GET /api/v1/tweets`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TweetsQuery {
    pub ids: TweetIds,
}

impl Query for TweetsQuery {
    const TAKES: &'static str = "ids, from 1 to 100 tweet ids separated by commas";
}

/// `GET /api/v1/live`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveQuery {
    pub spec: Option<String>,
    pub kind: Option<ViewKind>,
}

impl Query for LiveQuery {
    const TAKES: &'static str =
        "spec (a window spec such as 5m/1m), kind (a view: hashtags, tweets, languages, trending); both optional";
}

/// A whole number from 1 to `MAX`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "String")]
pub struct Bounded<const MAX: usize>(pub usize);

impl<const MAX: usize> TryFrom<String> for Bounded<MAX> {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
            .ok()
            .filter(|n| (1..=MAX).contains(n))
            .map(Bounded)
            .ok_or_else(|| format!("'{text}' is not a whole number from 1 to {MAX}"))
    }
}

/// Tweet ids separated by commas, from 1 to [`MAX_TWEETS`] of them.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "String")]
pub struct TweetIds(pub Vec<u64>);

impl TryFrom<String> for TweetIds {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let ids: Vec<u64> = text
            .split(',')
            .map(|id| id.trim().parse().map_err(|_| format!("tweet id '{id}' is not a number")))
            .collect::<Result<_, _>>()?;
        match ids.len() {
            1..=MAX_TWEETS => Ok(TweetIds(ids)),
            n => Err(format!("{n} tweet ids")),
        }
    }
}

/// The latest time a request may name, 9999-12-31T23:59:59.999Z: the arithmetic on a time (its
/// window's end, a range's windows) then stays far from overflowing.
const LATEST_TIME: EventTime = 253_402_300_799_999;

/// A time given as epoch milliseconds or RFC 3339, at most [`LATEST_TIME`].
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "String")]
pub struct Time(pub EventTime);

impl TryFrom<String> for Time {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let time = match !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            true => text.parse().ok(),
            false => Some(parse_created_at(&text).map_err(|error| format!("time '{text}': {error}"))?),
        };
        time.filter(|time| *time <= LATEST_TIME)
            .map(Time)
            .ok_or_else(|| format!("time '{text}' is out of range (up to year 9999)"))
    }
}

/// `from` and `to` as a range: refused when `from` is after `to`.
pub fn time_range(from: Time, to: Time) -> Result<(EventTime, EventTime), ApiError> {
    if from.0 > to.0 {
        let error = format!("from {} is after to {}", rfc3339(from.0), rfc3339(to.0));
        return Err(ApiError::bad_request(error, "from at or before to"));
    }
    Ok((from.0, to.0))
}

/// The view named `kind` in a path.
pub fn view_kind(kind: &str) -> Result<ViewKind, ApiError> {
    ViewKind::from_str(kind, true).map_err(|_| {
        let views: Vec<&str> = ViewKind::ALL.iter().map(|kind| kind.name()).collect();
        ApiError::not_found(format!("no view '{kind}'"), format!("one of: {}", views.join(", ")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query of `uri` as `T`, or the refusal's error and expected text.
    fn read<T: Query>(uri: &str) -> Result<T, (String, String)> {
        let (mut parts, ()) = axum::http::Request::get(uri).body(()).expect("a request").into_parts();
        let read = futures_executor::block_on(Params::<T>::from_request_parts(&mut parts, &()));
        read.map(|Params(query)| query).map_err(|error| match error {
            ApiError::BadRequest { error, expected } => (error, expected),
            other => panic!("refused otherwise: {other:?}"),
        })
    }

    #[test]
    fn a_query_is_read_typed_and_a_refusal_names_the_parameter_and_what_the_endpoint_takes() {
        let window: WindowQuery = read("/w?spec=1m&at=2021-08-29T23:55:00Z&k=3").unwrap();
        assert_eq!(
            (window.spec.as_deref(), window.at.map(|at| at.0), window.k.map(|k| k.0)),
            (Some("1m"), Some(1_630_281_300_000), Some(3))
        );
        let (error, expected) = read::<WindowQuery>("/w?spec=1m&limit=3").unwrap_err();
        assert!(error.contains("unknown field `limit`"), "{error}");
        assert_eq!(expected, WindowQuery::TAKES);
        let (error, _) = read::<WindowQuery>("/w?k=0").unwrap_err();
        assert_eq!(error, "k: '0' is not a whole number from 1 to 1000");
        let (error, _) = read::<WindowQuery>("/w?at=253402300800000").unwrap_err();
        assert!(error.starts_with("at: time '253402300800000' is out of range"), "{error}");
        let (error, _) = read::<WindowQuery>("/w?at=yesterday").unwrap_err();
        assert!(error.starts_with("at: time 'yesterday'"), "{error}");
        let (error, _) = read::<RangeQuery>("/r?spec=1m&to=0").unwrap_err();
        assert!(error.contains("missing field `from`"), "{error}");
        let ids: TweetsQuery = read("/t?ids=1,%202").unwrap();
        assert_eq!(ids.ids.0, [1, 2]);
        assert!(read::<TweetsQuery>("/t?ids=1,x").unwrap_err().0.contains("tweet id 'x'"));
        let many = vec!["1"; MAX_TWEETS + 1].join(",");
        assert_eq!(read::<TweetsQuery>(&format!("/t?ids={many}")).unwrap_err().0, "ids: 101 tweet ids");
        let live: LiveQuery = read("/l?kind=trending").unwrap();
        assert_eq!((live.spec, live.kind), (None, Some(ViewKind::Trending)));
        assert!(read::<LiveQuery>("/l?kind=emoji").unwrap_err().0.contains("unknown variant `emoji`"));
    }

    #[test]
    fn a_range_must_not_end_before_it_starts() {
        assert_eq!(time_range(Time(1), Time(2)).unwrap(), (1, 2));
        assert!(matches!(time_range(Time(2), Time(1)), Err(ApiError::BadRequest { .. })));
    }
}
