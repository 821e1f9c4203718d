//! A hostile corpus through the whole pipeline: the seed's real tweets, and among them messages of
//! every kind that must not poison the views — malformed, oversized, ids that do not fit MySQL,
//! languages and hashtags longer than their columns, a tweet dated decades ahead — plus a long
//! post that is good and must be stored whole. Every message is accounted for (archived,
//! dead-lettered with its reason, or dropped as a duplicate), the stream never stops, and the
//! views are those of the good tweets alone, in both layers. `db load` applies the same rules.

use std::collections::HashSet;
use trendflow::vocabulary::Layer;

use crate::common::{
    default_graph, read_dead_letters, seed_json, seed_tweets, send_messages, stored_views, wait_for, Metrics, Services,
    LIMIT,
};
use mysql::prelude::Queryable;
use trendflow::vocabulary::dead_letter::DeadLetter;
use trendflow::vocabulary::rejection::RejectionKind;
use trendflow_dataflows::reference;
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::Tweet;

/// A message that must be dead-lettered, what its reason must say, and its kind.
struct Hostile {
    payload: Vec<u8>,
    reason: &'static str,
    kind: RejectionKind,
}

fn seed_row_json(id: &str, fields: &str) -> Vec<u8> {
    format!(r##"{{"tweet_id": {id}, "tweet": "#hostile test", "date_time": "2021-08-29 20:00:00 EDT"{fields}}}"##)
        .into_bytes()
}

/// One message of every kind the stream must refuse, each with the words its reason must hold.
fn hostile_corpus() -> Vec<Hostile> {
    let long_language = format!(r#", "language": "{}""#, "x".repeat(40));
    let long_hashtag = format!(
        r#"{{"tweet_id": 17, "tweet": "a tag #{} here", "date_time": "2021-08-29 20:00:00 EDT"}}"#,
        "h".repeat(400)
    );
    use RejectionKind::*;
    [
        (b"".to_vec(), "empty message", EmptyMessage),
        (b"{\"tweet_id\": 1, ".to_vec(), "malformed tweet JSON: EOF while parsing", MalformedJson),
        (
            b"{\"tweet\": \"#x\", \"date_time\": \"2021-08-29 19:51:27 EDT\"}".to_vec(),
            "missing field `tweet_id`",
            InvalidField,
        ),
        (b"{\"tweet_id\": \"one\", \"tweet\": \"#x\"}".to_vec(), "invalid type", InvalidField),
        (b"\xff\xfe{}".to_vec(), "invalid UTF-8", InvalidUtf8),
        (vec![b' '; (1 << 20) + 1], "exceeds the limit of 1048576 bytes", TooLarge),
        (
            b"{\"tweet_id\": 2, \"tweet\": \"#x\", \"date_time\": \"1970-01-01 00:00:00 UTC\"}".to_vec(),
            "outside 2006..2100",
            InvalidDate,
        ),
        (seed_row_json("-5", ""), "invalid value: integer `-5`", InvalidField),
        (seed_row_json("0", ""), "tweet_id 0 is outside MySQL's bigint ids", IdOutOfRange),
        (seed_row_json("9223372036854775808", ""), "tweet_id 9223372036854775808 is outside", IdOutOfRange),
        (seed_row_json("11", r#", "retweet_of": 0"#), "retweet_of 0 is outside", IdOutOfRange),
        (
            seed_row_json("12", r#", "user_id": 18446744073709551615"#),
            "user_id 18446744073709551615 is outside",
            IdOutOfRange,
        ),
        (seed_row_json("13", &long_language), "has 40 characters; at most 10 fit", LanguageTooLong),
        (long_hashtag.into_bytes(), "has 400 characters; at most 300 fit", HashtagTooLong),
        (
            br##"{"tweet_id": 14, "tweet": "#fromthefuture", "date_time": "2099-08-29 20:00:00 EDT"}"##.to_vec(),
            "ahead of its ingestion time",
            AheadOfIngestion,
        ),
    ]
    .into_iter()
    .map(|(payload, reason, kind)| Hostile { payload, reason, kind })
    .collect()
}

/// A good post longer than the seed's `TEXT` column holds (64 KiB): stored whole.
fn long_post(at: &Tweet) -> Tweet {
    let text = format!("{} #longform #hurricaneida", "Ida made landfall near Port Fourchon. ".repeat(2_000));
    assert!(text.len() > 65_535);
    Tweet { id: 1_432_000_000_000_000_001, text, ..at.clone() }
}

fn specs() -> Vec<WindowSpec> {
    ["1m", "5m/1m"].iter().map(|text| text.parse().unwrap()).collect()
}

/// Each expected reason is given to exactly one dead letter, of the expected kind, and no letter
/// has another.
fn assert_one_letter_each(letters: &[DeadLetter], corpus: &[Hostile]) {
    for hostile in corpus {
        let matching: Vec<&DeadLetter> =
            letters.iter().filter(|letter| letter.reason.contains(hostile.reason)).collect();
        assert_eq!(matching.len(), 1, "{} dead letters say '{}': {letters:#?}", matching.len(), hostile.reason);
        assert_eq!(matching[0].kind, hostile.kind, "{:?}", matching[0]);
    }
    assert_eq!(letters.len(), corpus.len(), "{letters:#?}");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_hostile_corpus_among_the_seeds_tweets_is_accounted_for_and_changes_no_view() {
    let s = Services::streaming("hostile", 2);
    let mut good = seed_tweets();
    good.push(long_post(&good[good.len() / 2]));
    good.sort_by_key(|tweet| (tweet.created_at, tweet.id));
    let corpus = hostile_corpus();

    // The good tweets in event-time order over two partitions; the hostile messages early in
    // partition 0, so that a watermark moved by one of them would make what follows late.
    let mut messages: Vec<(i32, String, Vec<u8>)> =
        good.iter().enumerate().map(|(i, tweet)| ((i % 2) as i32, tweet.id.to_string(), seed_json(tweet))).collect();
    for (i, hostile) in corpus.iter().enumerate() {
        messages.insert(200 + 37 * i, (0, format!("hostile-{i}"), hostile.payload.clone()));
    }
    // A producer's retry of a good tweet, to the same partition, right after it: well within the
    // lateness, so a copy, not a late tweet.
    let retry = messages[3_000].clone();
    messages.insert(3_003, retry);
    send_messages(&format!("{}tweets", s.topic_prefix), &messages);

    let streamed = s.succeed(&["stream", "--window", "1m", "--window", "5m/1m", "-w", "2", "--until-idle", "3s"]);
    let expected = [
        format!("{} messages consumed", messages.len()),
        format!("{} dead-lettered (0 late", corpus.len()),
        "1 duplicates dropped".to_string(),
        format!("{} archived", good.len()),
    ];
    for line in expected {
        assert!(streamed.contains(&line), "expected '{line}' in: {streamed}");
    }
    let letters = read_dead_letters(&format!("{}tweets_dead_letter", s.topic_prefix), corpus.len());
    assert_one_letter_each(&letters, &corpus);

    // The long post is stored whole, with the time the broker took it.
    let long = good.iter().find(|tweet| tweet.text.len() > 65_535).unwrap();
    let (bytes, ingested): (usize, Option<i64>) = s
        .mysql()
        .exec_first("SELECT LENGTH(tweet), ingested_at_ms FROM tweets WHERE tweet_id = ?", (long.id,))
        .unwrap()
        .expect("the long post is archived");
    assert_eq!(bytes, long.text.len());
    assert!(ingested.is_some_and(|ms| ms > 1_700_000_000_000), "{ingested:?}");

    // Both layers hold the views of the good tweets alone.
    let config = default_graph(specs());
    let reference = reference::final_views(&good, &config);
    let speed = stored_views(&s.mysql_url, Layer::Speed, &specs());
    assert!(speed == reference, "{}", speed.first_difference(&reference).unwrap_or_default());
    s.succeed(&["batch", "--window", "1m", "--window", "5m/1m"]);
    let verified = s.succeed(&["verify"]);
    assert!(verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"), "{verified}");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn db_load_rejects_by_the_same_rules_and_the_batch_views_hold_the_good_rows() {
    let s = Services::fresh("hostileload");
    s.succeed(&["db", "init"]);
    let mut good = seed_tweets();
    good.truncate(1_000);
    good.push(long_post(&good[500]));
    // Every hostile message that is a JSON line at all.
    let corpus: Vec<Hostile> = hostile_corpus()
        .into_iter()
        .filter(|h| std::str::from_utf8(&h.payload).is_ok_and(|text| text.starts_with('{') && text.ends_with('}')))
        .collect();
    let mut lines: Vec<Vec<u8>> = good.iter().map(seed_json).collect();
    for (i, hostile) in corpus.iter().enumerate() {
        lines.insert(10 * i + 5, hostile.payload.clone());
    }
    let path = std::env::temp_dir().join(format!("trendflow-hostile-{}.jsonl", std::process::id()));
    std::fs::write(&path, lines.join(&b'\n')).unwrap();

    let loaded = s.succeed(&["db", "load", path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    assert!(loaded.contains(&format!("loaded {} tweets", good.len())), "{loaded}");
    assert!(loaded.contains(&format!("rejected {} rows", corpus.len())), "{loaded}");
    // The load shows the first ten reasons: each is a different one of the corpus's.
    let shown: Vec<&str> = loaded.lines().skip_while(|line| !line.starts_with("rejected")).skip(1).collect();
    assert_eq!(shown.len(), corpus.len().min(10), "{loaded}");
    let mut matched = HashSet::new();
    for reason in shown {
        let kind = corpus.iter().position(|h| reason.contains(h.reason));
        assert!(kind.is_some_and(|kind| matched.insert(kind)), "unexpected or repeated reason '{reason}': {loaded}");
    }

    s.succeed(&["batch", "--window", "1m", "--window", "5m/1m"]);
    let config = default_graph(specs());
    let reference = reference::final_views(&good, &config);
    let batch = stored_views(&s.mysql_url, Layer::Batch, &specs());
    assert!(batch == reference, "{}", batch.first_difference(&reference).unwrap_or_default());
}

/// The dead-letter metric's labels are the kinds of reasons, never their values: thirty messages
/// refused for two kinds, each naming a value of its own (an id, a language's length), add two
/// series to the stream's metrics, however many values there are.
#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn refusals_with_thirty_values_of_two_kinds_add_at_most_two_metric_series() {
    let s = Services::streaming("hostilelabels", 1);
    let mut stream = s.watch(&["stream", "--window", "1m", "--no-archive", "--metrics-listen", "127.0.0.1:0"]);
    let url = stream.metrics_url();
    let series = || Metrics::scrape(&url).series("trendflow_stream_dead_lettered_total");
    let before = series();
    let messages: Vec<(i32, String, Vec<u8>)> = (0..15u64)
        .flat_map(|i| {
            let id = format!("{}", i64::MAX as u64 + 1 + i);
            let language = format!(r#", "language": "{}""#, "x".repeat(11 + i as usize));
            [
                (0, format!("id-{i}"), seed_row_json(&id, "")),
                (0, format!("language-{i}"), seed_row_json("20", &language)),
            ]
        })
        .collect();
    send_messages(&format!("{}tweets", s.topic_prefix), &messages);
    let dead_lettered = || Metrics::scrape(&url).value("trendflow_stream_dead_lettered_total", &[]);
    wait_for("the stream to dead-letter all thirty messages", LIMIT, || dead_lettered() == Some(30.0));

    let metrics = Metrics::scrape(&url);
    assert!(series() <= before + 2, "{}", metrics.text);
    for kind in [RejectionKind::IdOutOfRange, RejectionKind::LanguageTooLong] {
        let count = metrics.value("trendflow_stream_dead_lettered_total", &[("reason", kind.label())]);
        assert_eq!(count, Some(15.0), "{}", metrics.text);
    }
    // The values live on in the dead letters: thirty reasons, each its own.
    let letters = read_dead_letters(&format!("{}tweets_dead_letter", s.topic_prefix), messages.len());
    let reasons: HashSet<&str> = letters.iter().map(|letter| letter.reason.as_str()).collect();
    assert_eq!(reasons.len(), messages.len(), "{reasons:#?}");
    stream.terminate();
    stream.finish(LIMIT).succeeded();
}
