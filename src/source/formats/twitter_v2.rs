//! Twitter API v2 tweets: a tweet object (`id` and `author_id` as strings, `created_at` in RFC
//! 3339, `lang`, `referenced_tweets` with a `retweeted` entry for a retweet, and a long post's
//! whole text in `note_tweet.text`), or a response page holding them in `data` (an object for a
//! lookup, an array for a search or timeline; `includes` and `meta` are not needed). The fields
//! beyond `id` and `text` come only when asked for (`tweet.fields=created_at,lang,author_id,
//! referenced_tweets,note_tweet`); a tweet without `created_at` is rejected as undated.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{id_from_text, Parsed};
use crate::source::seed_tweet::SeedTweet;
use crate::vocabulary::rejection::{Reason, RejectionKind};

#[derive(Deserialize)]
struct V2Tweet {
    id: String,
    text: Option<String>,
    created_at: Option<String>,
    lang: Option<String>,
    author_id: Option<String>,
    #[serde(default)]
    referenced_tweets: Vec<Reference>,
    note_tweet: Option<NoteTweet>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

#[derive(Deserialize)]
struct NoteTweet {
    text: Option<String>,
}

/// The tweets of a page, or the one tweet `record` is.
pub(super) fn parse(mut record: Map<String, Value>) -> Result<Parsed, Reason> {
    let tweets = match record.remove("data") {
        Some(Value::Array(tweets)) => tweets,
        Some(tweet @ Value::Object(_)) => vec![tweet],
        Some(_) => {
            return Err(Reason::new(
                RejectionKind::InvalidField,
                "malformed Twitter v2 page: data is neither a tweet nor a list of tweets",
            ))
        }
        None if record.contains_key("errors") => {
            return Ok(Parsed::Skipped("Twitter v2 page with errors and no data".into()))
        }
        None => vec![Value::Object(record)],
    };
    tweets.into_iter().map(row).collect::<Result<_, _>>().map(Parsed::Rows)
}

fn row(tweet: Value) -> Result<SeedTweet, Reason> {
    let tweet = V2Tweet::deserialize(tweet).map_err(|e| Reason::json("malformed Twitter v2 tweet", &e))?;
    let retweet_of = tweet.referenced_tweets.iter().find(|reference| reference.kind == "retweeted");
    Ok(SeedTweet {
        tweet_id: id_from_text("id", &tweet.id)?,
        tweet: tweet.note_tweet.and_then(|note| note.text).or(tweet.text),
        date_time: tweet.created_at,
        language: tweet.lang,
        user_id: tweet.author_id.map(|id| id_from_text("author_id", &id)).transpose()?,
        retweet_of: retweet_of.map(|reference| id_from_text("referenced_tweets.id", &reference.id)).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{parse_record, Format};
    use super::*;

    #[test]
    fn a_page_becomes_its_tweets_with_retweets_and_long_text() {
        let page = r##"{"data": [
            {"id": "1432128795021086722", "text": "Storm #Ida", "created_at": "2021-08-29T23:51:27.000Z",
             "lang": "en", "author_id": "7"},
            {"id": "1432128795021086723", "text": "RT @a: Storm #Ida", "created_at": "2021-08-29T23:51:28.000Z",
             "author_id": "8", "referenced_tweets": [{"type": "retweeted", "id": "1432128795021086722"}]},
            {"id": "1432128795021086724", "text": "cut short…", "created_at": "2021-08-29T23:51:29.000Z",
             "lang": "en", "note_tweet": {"text": "the whole long post #longform"}}],
            "includes": {"users": [{"id": "7", "username": "a"}]}, "meta": {"result_count": 3}}"##;
        let Ok(Parsed::Rows(rows)) = parse_record(page, Format::Auto) else { panic!("a page") };
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[0].tweet_id, rows[0].user_id, rows[0].retweet_of), (1432128795021086722, Some(7), None));
        assert_eq!(rows[1].retweet_of, Some(1432128795021086722));
        assert_eq!(rows[1].language, None, "missing: und once it becomes a tweet");
        assert_eq!(rows[2].tweet.as_deref(), Some("the whole long post #longform"));
    }

    #[test]
    fn a_single_tweet_an_error_page_and_a_broken_one() {
        let single = r#"{"data": {"id": "5", "text": "x", "created_at": "2021-08-29T23:51:27Z"}}"#;
        assert!(matches!(parse_record(single, Format::Auto), Ok(Parsed::Rows(rows)) if rows[0].tweet_id == 5));
        let errors = r#"{"errors": [{"title": "Not Found Error"}]}"#;
        assert!(matches!(parse_record(errors, Format::Auto), Ok(Parsed::Skipped(_))));
        let reason = parse_record(r#"{"data": [{"id": 5, "text": "x"}]}"#, Format::Auto).unwrap_err();
        assert!(reason.detail().starts_with("malformed Twitter v2 tweet: invalid type"), "{reason}");
        assert_eq!(reason.kind(), RejectionKind::InvalidField);
    }
}
