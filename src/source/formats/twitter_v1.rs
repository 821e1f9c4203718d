//! Twitter API v1.1 statuses, as the streaming API delivered them and the public archives keep
//! them (JSON lines): `id_str` (never `id`, a number too large for many JSON readers), `created_at`
//! as `Sun Aug 29 23:51:27 +0000 2021`, the full text of an extended tweet, `lang`,
//! `user.id_str`, and `retweeted_status.id_str` for a retweet. The stream's notices (deletions,
//! limits, withheld content) hold no tweet and are skipped.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{id_from_text, missing, Parsed};
use crate::source::seed_tweet::SeedTweet;
use crate::vocabulary::rejection::Reason;

/// The top-level fields of the stream's notices, which are not statuses.
const NOTICES: [&str; 8] =
    ["delete", "scrub_geo", "limit", "status_withheld", "user_withheld", "disconnect", "warning", "event"];

#[derive(Deserialize)]
struct Status {
    id_str: Option<String>,
    created_at: Option<String>,
    text: Option<String>,
    full_text: Option<String>,
    extended_tweet: Option<ExtendedTweet>,
    lang: Option<String>,
    user: Option<IdOnly>,
    retweeted_status: Option<IdOnly>,
}

#[derive(Deserialize)]
struct ExtendedTweet {
    full_text: Option<String>,
}

#[derive(Deserialize)]
struct IdOnly {
    id_str: Option<String>,
}

/// Whether `record` is one of the stream's notices.
pub(super) fn is_notice(record: &Map<String, Value>) -> bool {
    NOTICES.iter().any(|notice| record.contains_key(*notice))
}

/// The status `record` holds, or the notice it is.
pub(super) fn parse(record: Map<String, Value>) -> Result<Parsed, Reason> {
    if let Some(notice) = NOTICES.iter().find(|notice| record.contains_key(**notice)) {
        return Ok(Parsed::Skipped(format!("Twitter v1.1 {notice} notice")));
    }
    let status =
        Status::deserialize(Value::Object(record)).map_err(|e| Reason::json("malformed Twitter v1.1 status", &e))?;
    let id = status.id_str.ok_or_else(|| missing("a Twitter v1.1 status without id_str"))?;
    let optional_id = |field: &str, holder: Option<IdOnly>| {
        holder.and_then(|holder| holder.id_str).map(|id| id_from_text(field, &id)).transpose()
    };
    // A tweet longer than 140 characters carries its whole text in extended_tweet (streaming API)
    // or full_text (REST API with tweet_mode=extended); text is then cut short.
    let text = status.extended_tweet.and_then(|extended| extended.full_text).or(status.full_text).or(status.text);
    Ok(Parsed::Rows(vec![SeedTweet {
        tweet_id: id_from_text("id_str", &id)?,
        tweet: text,
        date_time: status.created_at,
        language: status.lang,
        user_id: optional_id("user.id_str", status.user)?,
        retweet_of: optional_id("retweeted_status.id_str", status.retweeted_status)?,
    }]))
}

#[cfg(test)]
mod tests {
    use super::super::{parse_record, Format};
    use super::*;

    #[test]
    fn an_extended_retweet_becomes_a_row_with_its_full_text() {
        let status = r##"{"created_at": "Sun Aug 29 23:51:27 +0000 2021", "id": 1432128795021086700,
            "id_str": "1432128795021086722", "text": "RT @a: Storm #Ida is…", "truncated": true,
            "extended_tweet": {"full_text": "RT @a: Storm #Ida is now a hurricane #HurricaneIda"},
            "lang": "en", "user": {"id": 7, "id_str": "7"},
            "retweeted_status": {"id_str": "1432128000000000000", "text": "Storm #Ida"}}"##;
        let Ok(Parsed::Rows(rows)) = parse_record(status, Format::Auto) else { panic!("a status") };
        let row = &rows[0];
        assert_eq!(row.tweet_id, 1432128795021086722, "from id_str, not the rounded id");
        assert_eq!(row.tweet.as_deref(), Some("RT @a: Storm #Ida is now a hurricane #HurricaneIda"));
        assert_eq!((row.user_id, row.retweet_of), (Some(7), Some(1432128000000000000)));
        let tweet = row.clone().into_tweet().unwrap();
        assert_eq!(tweet.created_at, 1_630_281_087_000);
    }

    #[test]
    fn notices_are_skipped_and_broken_statuses_rejected() {
        let deletion =
            r#"{"delete": {"status": {"id": 1, "id_str": "1", "user_id": 3}, "timestamp_ms": "1630281087000"}}"#;
        assert_eq!(parse_record(deletion, Format::Auto), Ok(Parsed::Skipped("Twitter v1.1 delete notice".into())));
        let reason = parse_record(r##"{"id_str": "12x", "text": "#a"}"##, Format::Auto).unwrap_err();
        assert_eq!(reason.detail(), "id_str '12x' is not a decimal id");
        let reason = parse_record(r##"{"id_str": 12, "text": "#a"}"##, Format::Auto).unwrap_err();
        assert!(reason.detail().starts_with("malformed Twitter v1.1 status: invalid type"), "{reason}");
    }
}
