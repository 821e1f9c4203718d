//! `trendflow topics write` and `topics delete` against a real broker of the test's own: deleting
//! topics while others produce has made tansu's storage fail (and, with librdkafka, crashed the
//! clients of other tests in their metadata cache).

use std::fs::File;

use crate::common::{private_broker, run_bounded, Services};

/// The port of the broker this test has to itself.
const BROKER_PORT: &str = "9196";

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn written_lines_read_back_and_topics_are_deleted_only_when_confirmed() {
    let brokers = private_broker(BROKER_PORT, Some("--fresh"));
    let s = Services { brokers, ..Services::fresh("deletion") };
    s.succeed(&["topics", "create", "--partitions", "1"]);
    let input: &[u8] = b"7\t{\"tweet_id\": 7}\nno key, no tab\n\t\xff not UTF-8\n";
    let lines = std::env::temp_dir().join(format!("trendflow-topic-lines-{}", std::process::id()));
    std::fs::write(&lines, input).expect("writing the lines to send");
    let mut writer = s.command(&["topics", "write", "dead-letter"]);
    writer.stdin(File::open(&lines).expect("the lines to send"));
    let written = run_bounded(writer);
    std::fs::remove_file(&lines).expect("removing the lines sent");
    let summary = &written.stdout;
    assert!(
        written.status.success() && summary.starts_with("wrote 3 messages") && summary.contains("(3 confirmed)"),
        "{summary}"
    );
    let read = s.succeed(&["topics", "read", "dead-letter", "--until-idle", "2"]);
    assert_eq!(read, "7\t{\"tweet_id\": 7}\n\tno key, no tab\n\t\u{fffd} not UTF-8\n");

    let unconfirmed = s.run(&["topics", "delete"]);
    let message = &unconfirmed.stderr;
    assert!(!unconfirmed.status.success() && message.contains("add --yes to confirm"), "{message}");
    s.succeed(&["topics", "read", "tweets", "--until-idle", "1"]);

    let deleted = s.succeed(&["topics", "delete", "--yes"]);
    assert!(deleted.starts_with("deleted ") && deleted.contains("tweets_dead_letter"), "{deleted}");
    let gone = s.run(&["topics", "read", "tweets", "--until-idle", "1"]);
    let message = &gone.stderr;
    assert!(!gone.status.success() && message.contains("create it with: trendflow topics create"), "{message}");
    assert!(s.succeed(&["topics", "delete", "--yes"]).starts_with("no trendflow topics to delete"));
}
