//! Bluesky's firehose as Jetstream serves it: one JSON event a line. A post is a `commit` event
//! creating an `app.bsky.feed.post` record; its text, `createdAt` (RFC 3339, set by the client),
//! and first language of `langs` (`und` without one) become the tweet's. Every other event —
//! identity and account changes, likes, follows, reposts, deletions, updates — is skipped.
//!
//! Bluesky has no numeric ids, so they are hashed, stably (64-bit FNV-1a, which never changes):
//! the post's id from its URI `at://DID/app.bsky.feed.post/RKEY`, the author's from the DID, each
//! into [2^62, 2^63). That range is clear of Twitter's ids (below 2^62 until 2045), fits MySQL's
//! signed `bigint`, and is the same whoever computes it, so a post read twice is one post.
//!
//! Hashtags come from the text, as for tweets. Bluesky's own tag facets mostly agree; where they
//! differ, the text decides, so that both layers and every format rank by one rule: a facet tag
//! can be attached without `#tag` in the text (it is not counted), keeps its case (tags are
//! lowercased here), and may break Twitter's rules (such as a tag of digits only).

use std::hash::Hasher;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{missing, Parsed};
use crate::source::seed_tweet::SeedTweet;
use crate::vocabulary::rejection::Reason;

/// The collection of posts.
const POST: &str = "app.bsky.feed.post";

#[derive(Deserialize)]
struct Event {
    did: String,
    kind: String,
    commit: Option<Commit>,
}

#[derive(Deserialize)]
struct Commit {
    operation: String,
    collection: String,
    rkey: String,
    record: Option<Post>,
}

#[derive(Deserialize)]
struct Post {
    text: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: Option<String>,
    #[serde(default)]
    langs: Vec<String>,
}

/// The post an event creates, or what the event is instead.
pub(super) fn parse(record: Map<String, Value>) -> Result<Parsed, Reason> {
    let event = Event::deserialize(Value::Object(record)).map_err(|e| Reason::json("malformed Jetstream event", &e))?;
    let commit = match (event.kind.as_str(), event.commit) {
        ("commit", Some(commit)) => commit,
        ("commit", None) => return Err(missing("malformed Jetstream event: a commit without its commit")),
        (kind, _) => return Ok(Parsed::Skipped(format!("Bluesky {kind} event"))),
    };
    if commit.collection != POST || commit.operation != "create" {
        return Ok(Parsed::Skipped(format!("Bluesky {} of {}", commit.operation, commit.collection)));
    }
    let post =
        commit.record.ok_or_else(|| missing("malformed Jetstream event: a post's creation without its record"))?;
    let uri = format!("at://{}/{POST}/{}", event.did, commit.rkey);
    Ok(Parsed::Rows(vec![SeedTweet {
        tweet_id: bluesky_id(&uri),
        tweet: post.text,
        date_time: post.created_at,
        language: post.langs.into_iter().next(),
        user_id: Some(bluesky_id(&event.did)),
        retweet_of: None,
    }]))
}

/// A stable id in [2^62, 2^63) for a Bluesky URI or DID.
pub fn bluesky_id(text: &str) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(text.as_bytes());
    (hasher.finish() >> 2) | (1 << 62)
}

#[cfg(test)]
mod tests {
    use super::super::{parse_record, Format};
    use super::*;
    use trendflow_dataflows::hashtags::extract_hashtags;

    const POST_EVENT: &str = r##"{"did": "did:plc:eygmaihciaxprqvxpfvl6flk", "time_us": 1725911162329308,
        "kind": "commit", "commit": {"rev": "3l3qo2vuowo2b", "operation": "create",
        "collection": "app.bsky.feed.post", "rkey": "3l3qo2vutsw2b", "cid": "bafyreib",
        "record": {"$type": "app.bsky.feed.post", "createdAt": "2024-09-09T19:46:02.102Z",
        "langs": ["ja", "en"], "text": "台風 #台風10号 and #Typhoon 🌀 #2024",
        "facets": [
          {"features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "台風10号"}], "index": {"byteStart": 7, "byteEnd": 21}},
          {"features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "Typhoon"}], "index": {"byteStart": 26, "byteEnd": 34}},
          {"features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "2024"}], "index": {"byteStart": 40, "byteEnd": 45}}]}}}"##;

    #[test]
    fn a_post_becomes_a_row_with_hashed_ids() {
        let Ok(Parsed::Rows(rows)) = parse_record(POST_EVENT, Format::Auto) else { panic!("a post") };
        let row = &rows[0];
        let uri = "at://did:plc:eygmaihciaxprqvxpfvl6flk/app.bsky.feed.post/3l3qo2vutsw2b";
        assert_eq!(row.tweet_id, bluesky_id(uri));
        assert!((1 << 62..1 << 63).contains(&row.tweet_id), "clear of Twitter's ids, within bigint");
        assert_eq!(row.user_id, Some(bluesky_id("did:plc:eygmaihciaxprqvxpfvl6flk")));
        assert_eq!(row.language.as_deref(), Some("ja"), "the first of langs");
        assert_eq!(row.clone().into_tweet().unwrap().created_at, 1_725_911_162_102);
        // FNV-1a is fixed: these ids never change.
        assert_eq!(bluesky_id("did:plc:eygmaihciaxprqvxpfvl6flk"), bluesky_id("did:plc:eygmaihciaxprqvxpfvl6flk"));
    }

    #[test]
    fn hashtags_from_the_text_agree_with_the_facets_but_for_case_and_digits_only_tags() {
        let Ok(Parsed::Rows(rows)) = parse_record(POST_EVENT, Format::Auto) else { panic!("a post") };
        let from_text = extract_hashtags(rows[0].tweet.as_deref().unwrap());
        let event: Value = serde_json::from_str(POST_EVENT).unwrap();
        let facets: Vec<String> = event["commit"]["record"]["facets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|facet| facet["features"][0]["tag"].as_str().unwrap().to_lowercase())
            .filter(|tag| !tag.chars().all(|c| c.is_ascii_digit()))
            .collect();
        assert_eq!(from_text, facets);
    }

    #[test]
    fn other_events_are_skipped() {
        let skipped = |text: &str| match parse_record(text, Format::Auto) {
            Ok(Parsed::Skipped(what)) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(skipped(r#"{"did": "did:plc:a", "kind": "identity", "identity": {}}"#), "Bluesky identity event");
        let like = r#"{"did": "did:plc:a", "kind": "commit", "commit": {"operation": "create",
            "collection": "app.bsky.feed.like", "rkey": "x", "record": {}}}"#;
        assert_eq!(skipped(like), "Bluesky create of app.bsky.feed.like");
        let deletion = r#"{"did": "did:plc:a", "kind": "commit", "commit": {"operation": "delete",
            "collection": "app.bsky.feed.post", "rkey": "x"}}"#;
        assert_eq!(skipped(deletion), "Bluesky delete of app.bsky.feed.post");
    }
}
