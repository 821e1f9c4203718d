//! The master dataset is immutable (DESIGN.md, "View semantics"): a stored tweet is never
//! overwritten with other values (first write wins); a re-sent id with other values counts once,
//! at its first event time, in both layers, and is reported. Checked through `db load`, through
//! the stream's archive while it runs, and at `produce`, which refuses to restamp stored tweets.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{
    read_dead_letters, run_bounded, seed_dump, seed_tweets, trendflow, wait_for_or_explain, Services, LIMIT,
};
use mysql::prelude::Queryable;
use trendflow::kafka::producer::KafkaSink;
use trendflow::kafka::Topic;
use trendflow::source::seed_tweet::SeedTweet;
use trendflow::time::format_utc_date_time;
use trendflow::vocabulary::dead_letter::DeadLetter;
use trendflow::vocabulary::rejection::RejectionKind;
use trendflow_dataflows::Tweet;

/// Every column of every stored tweet, in id order.
type TweetRow =
    (i64, Option<String>, Option<String>, Option<String>, Option<i64>, Option<i64>, Option<i64>, Option<i64>);

fn stored_tweets(s: &Services) -> Vec<TweetRow> {
    s.mysql()
        .query(
            "SELECT tweet_id, tweet, date_time, language, created_at_ms, user_id, retweet_of, ingested_at_ms \
             FROM tweets ORDER BY tweet_id",
        )
        .expect("reading the stored tweets")
}

/// Every stored hashtag link, in key order.
fn stored_links(s: &Services) -> Vec<(i64, i64, Option<i64>)> {
    s.mysql()
        .query("SELECT tweet_id, hashtag_id, count FROM tweet_hashtags ORDER BY tweet_id, hashtag_id")
        .expect("reading the stored links")
}

/// The rows of `rows` but those of the tweets `left_out`.
fn without(rows: &[TweetRow], left_out: &[u64]) -> Vec<TweetRow> {
    rows.iter().filter(|row| !left_out.contains(&(row.0 as u64))).cloned().collect()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("a clock after 1970").as_millis() as u64
}

/// `tweet` as the seed's producer sends it, stamped `created_at` as `produce --live` stamped it.
fn restamped(tweet: &Tweet, created_at: u64) -> SeedTweet {
    SeedTweet { date_time: Some(format_utc_date_time(created_at)), ..SeedTweet::from_tweet(tweet.clone()) }
}

/// `tweet` with another text, at its own time.
fn edited(tweet: &Tweet) -> SeedTweet {
    SeedTweet { tweet: Some(format!("{} #rewritten", tweet.text)), ..SeedTweet::from_tweet(tweet.clone()) }
}

fn json(row: &SeedTweet) -> Vec<u8> {
    serde_json::to_vec(row).expect("a row encodes as JSON")
}

/// A tweet id the seed does not hold.
const NEW_ID: u64 = 42;

#[test]
fn live_produce_from_mysql_is_refused_saying_what_to_send_instead() {
    // No service is needed: the refusal comes before any connection.
    let ended = run_bounded(trendflow(&["produce", "--live", "--rate", "10"]));
    let stderr = &ended.stderr;
    assert!(!ended.status.success(), "produce --live from MySQL was taken: {stderr}");
    for said in ["--live cannot replay --from mysql", "first write wins", "--from generator", "--speedup"] {
        assert!(stderr.contains(said), "{said:?} not in: {stderr}");
    }
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn db_load_keeps_each_stored_tweet_as_first_written_and_reports_copies_with_other_values() {
    let s = Services::fresh("firstload");
    s.succeed(&["db", "init"]);
    let dump = seed_dump();
    s.succeed(&["db", "load", dump.to_str().expect("UTF-8 path")]);
    let (tweets_before, links_before) = (stored_tweets(&s), stored_links(&s));

    let seed = seed_tweets();
    let picked: Vec<&Tweet> = seed.iter().step_by(1_000).take(5).collect();
    let now = now_ms();
    let mut rows: Vec<SeedTweet> = Vec::new();
    rows.extend(picked.iter().map(|tweet| restamped(tweet, now)));
    rows.extend(picked.iter().map(|tweet| edited(tweet)));
    // The same values, the time spelled in UTC rather than the dump's EDT: harmless.
    rows.extend(picked.iter().map(|tweet| SeedTweet::from_tweet((*tweet).clone())));
    let new = Tweet { id: NEW_ID, text: "#first".into(), created_at: now, ..picked[0].clone() };
    rows.push(SeedTweet::from_tweet(new.clone()));
    rows.push(SeedTweet::from_tweet(Tweet { text: "#second".into(), ..new.clone() }));
    let file = std::env::temp_dir().join(format!("trendflow-first-write-{}.jsonl", std::process::id()));
    let lines: Vec<Vec<u8>> = rows.iter().map(json).collect();
    std::fs::write(&file, lines.join(&b'\n')).expect("writing the copies");
    let loaded = s.succeed(&["db", "load", file.to_str().expect("UTF-8 path")]);
    std::fs::remove_file(&file).expect("removing the copies");

    assert!(loaded.contains("loaded 6 tweets"), "the new tweet and the 5 same copies: {loaded}");
    assert!(loaded.contains("5 of the tweets were stored already with the same values"), "{loaded}");
    assert!(loaded.contains("left 11 tweets as stored"), "{loaded}");
    let first = picked[0];
    let restamp_reason = format!(
        "conflict: tweet {} is stored already with other values (first write wins): created_at {}, not {}",
        first.id,
        trendflow::time::rfc3339(first.created_at),
        trendflow::time::rfc3339(now)
    );
    assert!(loaded.contains(&restamp_reason), "{restamp_reason:?} not in: {loaded}");
    assert!(loaded.contains(&format!("conflict: tweet {NEW_ID} is stored already")), "{loaded}");

    let tweets_after = stored_tweets(&s);
    assert_eq!(without(&tweets_after, &[NEW_ID]), tweets_before, "no stored tweet changed");
    let kept = tweets_after.iter().find(|row| row.0 as u64 == NEW_ID).expect("the new tweet is stored");
    assert_eq!(kept.1.as_deref(), Some("#first"), "the first of its copies");
    let links_after = stored_links(&s);
    let seed_links: Vec<_> = links_after.iter().filter(|link| link.0 as u64 != NEW_ID).cloned().collect();
    assert_eq!(seed_links, links_before, "no stored tweet's hashtags changed");

    // Loading the dump again finds every tweet stored with its values, and changes nothing.
    let reloaded = s.succeed(&["db", "load", dump.to_str().expect("UTF-8 path")]);
    assert!(reloaded.contains("8759 of the tweets were stored already with the same values"), "{reloaded}");
    assert!(!reloaded.contains("left "), "{reloaded}");
    assert_eq!(stored_tweets(&s), tweets_after);
    assert_eq!(stored_links(&s), links_after);
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn resent_ids_with_other_values_change_no_stored_tweet_are_dead_lettered_and_both_layers_still_agree() {
    let s = Services::fresh("firststream");
    s.succeed(&["db", "init"]);
    s.succeed(&["db", "load", seed_dump().to_str().expect("UTF-8 path")]);
    s.succeed(&["topics", "create", "--partitions", "3"]);
    s.succeed(&["produce"]);
    let windows = ["--window", "1m", "--window", "5m/1m"];
    let streamed = s.succeed(&[&["stream", "-w", "2", "--until-idle", "3s"][..], &windows[..]].concat());
    assert!(
        streamed.contains("8759 messages consumed") && streamed.contains("0 dead-lettered"),
        "the stored tweets sent again with their values are taken: {streamed}"
    );
    s.succeed(&[&["batch"][..], &windows[..]].concat());
    let verified = s.succeed(&["verify"]);
    assert!(verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"), "{verified}");
    let (tweets_before, links_before) = (stored_tweets(&s), stored_links(&s));

    // While a stream runs: stored tweets sent again restamped now (as `produce --live` from
    // MySQL did) or with another text, and a new tweet sent twice with other values.
    let mut stream = s.watch(&[&["stream", "-w", "2"][..], &windows[..]].concat());
    stream.wait_for_output("started: ", LIMIT);
    let seed = seed_tweets();
    let picked: Vec<&Tweet> = seed.iter().step_by(400).take(20).collect();
    let now = now_ms();
    let new = Tweet { id: NEW_ID, text: "#first".into(), created_at: now, ..picked[0].clone() };
    let mut conflicting: Vec<SeedTweet> = Vec::new();
    conflicting.extend(picked[..10].iter().map(|tweet| restamped(tweet, now)));
    conflicting.extend(picked[10..].iter().map(|tweet| edited(tweet)));
    conflicting.push(SeedTweet::from_tweet(Tweet { text: "#second".into(), ..new.clone() }));
    let kafka = s.kafka_config();
    // Keyed by id, as `produce` sends them: each copy lands on its first's partition.
    let sink = KafkaSink::new(&kafka).expect("a producer");
    let topic = kafka.topic(Topic::Tweets);
    let mut send =
        |row: &SeedTweet| sink.send(&topic, row.tweet_id.to_string().as_bytes(), &json(row)).expect("sending");
    send(&SeedTweet::from_tweet(new.clone()));
    conflicting.iter().for_each(&mut send);
    let sent = sink.flush().expect("the broker takes the copies");
    assert_eq!(sent.delivered, conflicting.len() as u64 + 1);

    // One dead letter per conflicting message, with the conflict's reason.
    let dead_letters = kafka.topic(Topic::DeadLetter);
    let conflicts = || -> Vec<DeadLetter> {
        let letters = read_dead_letters(&dead_letters, 0);
        letters.into_iter().filter(|letter| letter.kind == RejectionKind::Conflict).collect()
    };
    wait_for_or_explain(
        "a dead letter for each conflicting copy",
        LIMIT,
        || conflicts().len() >= conflicting.len(),
        || format!("; the stream printed:\n{}", stream.printed()),
    );
    stream.terminate();
    let ended = stream.finish(LIMIT);
    let summary = ended.succeeded();
    assert!(summary.contains(&format!("{} dead-lettered", conflicting.len())), "{summary}");
    let letters = conflicts();
    assert_eq!(letters.len(), conflicting.len(), "one dead letter per conflicting message: {letters:?}");
    for row in &conflicting {
        let named = format!("tweet {} ", row.tweet_id);
        let letter = letters.iter().find(|letter| letter.reason.contains(&named));
        let reason = &letter.unwrap_or_else(|| panic!("no {named}")).reason;
        assert!(
            reason.starts_with("conflict: ") && reason.contains("with other values (first write wins): "),
            "{reason}"
        );
    }
    // The restamped copy's reason names the values that differ. Whether the stream found the first
    // copy in its memory of recent tweets (read again when it resumed) or in the master dataset
    // depends on when the burst's frontier lets that memory go; both are the first write.
    let differs = format!(
        "with other values (first write wins): created_at {}, not {}",
        trendflow::time::rfc3339(picked[0].created_at),
        trendflow::time::rfc3339(now)
    );
    let restamped_reasons = ["is stored already", "was read already"]
        .map(|origin| format!("conflict: tweet {} {origin} {differs}", picked[0].id));
    assert!(
        letters.iter().any(|letter| restamped_reasons.contains(&letter.reason)),
        "{restamped_reasons:?}: {letters:?}"
    );

    // The stored tweets are as first written; the new one with its first values.
    let tweets_after = stored_tweets(&s);
    assert_eq!(without(&tweets_after, &[NEW_ID]), tweets_before, "no stored tweet changed");
    let kept = tweets_after.iter().find(|row| row.0 as u64 == NEW_ID).expect("the new tweet is archived");
    assert_eq!(kept.1.as_deref(), Some("#first"));
    let links_after = stored_links(&s);
    let seed_links: Vec<_> = links_after.iter().filter(|link| link.0 as u64 != NEW_ID).cloned().collect();
    assert_eq!(seed_links, links_before, "no stored tweet's hashtags changed");

    // A batch recomputation agrees with every final view the speed layer published.
    s.succeed(&[&["batch"][..], &windows[..]].concat());
    let verified = s.succeed(&["verify"]);
    assert!(verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"), "{verified}");
}
