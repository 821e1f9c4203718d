//! Tweets in the shapes people hold them — Twitter API v1.1 statuses, Twitter API v2 tweets and
//! pages, Bluesky Jetstream events — plain and compressed, through `db load`, `produce --from
//! FILE` and the stream's decoder, against the real MariaDB and broker. The fixtures
//! (`tests/fixtures/formats/`) hold the same six tweets in each shape (a retweet, a long post,
//! a missing language, text beyond the Basic Multilingual Plane), among records that hold no tweet
//! and malformed ones: every shape must give the seed form's views.

use std::io::Write;
use std::path::{Path, PathBuf};
use trendflow::vocabulary::Layer;

use crate::common::{stored_views, Services};
use trendflow_dataflows::views::FinalViews;
use trendflow_dataflows::window::WindowSpec;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats").join(name)
}

/// `path` compressed as `extension` (gz, bz2 or zst) into the temporary directory.
fn compressed(path: &Path, extension: &str) -> PathBuf {
    let plain = std::fs::read(path).unwrap();
    let bytes = match extension {
        "gz" => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(&plain).unwrap();
            encoder.finish().unwrap()
        }
        "bz2" => {
            let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            encoder.write_all(&plain).unwrap();
            encoder.finish().unwrap()
        }
        _ => zstd::encode_all(&plain[..], 3).unwrap(),
    };
    let name = format!("trendflow-{}-{}.{extension}", std::process::id(), path.file_name().unwrap().to_string_lossy());
    let target = std::env::temp_dir().join(name);
    std::fs::write(&target, bytes).unwrap();
    target
}

fn specs() -> Vec<WindowSpec> {
    ["1m", "5m/1m"].iter().map(|spec| spec.parse().unwrap()).collect()
}

/// Loads `file` into a database of its own, checks what the load says, runs the batch layer and
/// returns its views.
fn loaded_views(file: &Path, expected: &[&str]) -> FinalViews {
    let s = Services::fresh("formats");
    s.succeed(&["db", "init"]);
    let loaded = s.succeed(&["db", "load", file.to_str().unwrap()]);
    for line in expected {
        assert!(loaded.contains(line), "{}: expected '{line}' in:\n{loaded}", file.display());
    }
    s.succeed(&["batch", "--window", "1m", "--window", "5m/1m"]);
    stored_views(&s.mysql_url, Layer::Batch, &specs())
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn every_format_plain_or_compressed_loads_into_the_seed_forms_views() {
    let seed = loaded_views(&fixture("seed.jsonl"), &["loaded 6 tweets"]);
    assert_eq!(seed.hashtags.len(), 12, "4 windows of 1m and 8 of 5m/1m hold tweets");
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "twitter_v1.jsonl",
            "gz",
            &[
                "loaded 6 tweets",
                "skipped 2 records that hold no tweet: 1 Twitter v1.1 delete notice, 1 Twitter v1.1 limit notice",
                "rejected 2 rows",
                "id_str '14321287950210867xx' is not a decimal id",
                "EOF while parsing",
            ],
        ),
        (
            "twitter_v2.jsonl",
            "bz2",
            &[
                "loaded 6 tweets",
                "skipped 1 records that hold no tweet: 1 Twitter v2 page with errors and no data",
                "rejected 1 rows",
                "malformed Twitter v2 tweet: invalid type",
            ],
        ),
        (
            "jetstream.jsonl",
            "zst",
            &[
                "loaded 6 tweets",
                "skipped 3 records that hold no tweet: 1 Bluesky create of app.bsky.feed.like, \
                 1 Bluesky delete of app.bsky.feed.post, 1 Bluesky identity event",
                "rejected 1 rows",
                "a post's creation without its record",
            ],
        ),
        ("twitter_v1.jsonl", "", &["loaded 6 tweets"]),
    ];
    for (name, compression, expected) in cases {
        let file = match compression {
            "" => fixture(name),
            extension => compressed(&fixture(name), extension),
        };
        let views = loaded_views(&file, expected);
        if name.starts_with("jetstream") {
            // Bluesky's ids are its own, and it has no retweets: the tweet ranking differs, the
            // hashtags and languages may not.
            assert!(views.hashtags == seed.hashtags, "{name}: {}", views.first_difference(&seed).unwrap_or_default());
            assert!(views.languages == seed.languages, "{name}: languages differ");
        } else {
            assert!(views == seed, "{name}: {}", views.first_difference(&seed).unwrap_or_default());
        }
        if !compression.is_empty() {
            std::fs::remove_file(file).unwrap();
        }
    }
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_stream_reads_every_format_from_its_topic_and_produce_sends_files() {
    let seed = loaded_views(&fixture("seed.jsonl"), &["loaded 6 tweets"]);
    // Twitter v1.1 statuses as a firehose topic would hold them, notices and broken ones included.
    let s = Services::streaming("formatstream", 1);
    let lines = std::fs::read_to_string(fixture("twitter_v1.jsonl")).unwrap();
    let messages: Vec<(i32, String, Vec<u8>)> =
        lines.lines().enumerate().map(|(i, line)| (0, i.to_string(), line.as_bytes().to_vec())).collect();
    crate::common::send_messages(&format!("{}tweets", s.topic_prefix), &messages);
    let streamed = s.succeed(&["stream", "--window", "1m", "--window", "5m/1m", "--until-idle", "3s"]);
    for expected in ["10 messages consumed", "2 dead-lettered (0 late", "2 skipped (no tweet)", "6 archived"] {
        assert!(streamed.contains(expected), "expected '{expected}' in: {streamed}");
    }
    let speed = stored_views(&s.mysql_url, Layer::Speed, &specs());
    assert!(speed == seed, "{}", speed.first_difference(&seed).unwrap_or_default());

    // A compressed Twitter v2 file, produced as the seed's rows and streamed, gives them too.
    let s = Services::streaming("formatproduce", 2);
    let file = compressed(&fixture("twitter_v2.jsonl"), "gz");
    let produced = s.succeed(&["produce", "--from", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert!(produced.contains("produce: 6 tweets") && produced.contains("6 confirmed, 0 failed"), "{produced}");
    assert!(produced.contains("left out of the file: 1 records that hold no tweet, 1 unreadable"), "{produced}");
    s.succeed(&["stream", "--window", "1m", "--window", "5m/1m", "--until-idle", "3s"]);
    let speed = stored_views(&s.mysql_url, Layer::Speed, &specs());
    assert!(speed == seed, "{}", speed.first_difference(&seed).unwrap_or_default());
}
