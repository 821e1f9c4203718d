//! A database an earlier trendflow used, brought up to date by `trendflow db init`: a stream's
//! stored positions, progress and heartbeats were kept under a phrase naming its views
//! (`stream 1m top 10 without trending`); this version names them by their view set as JSON, and
//! `db init` renames what was stored, so that an upgraded stream resumes where the old one stopped.

use mysql::prelude::Queryable;
use trendflow::checkpoint::consumer::consumer_name;
use trendflow_dataflows::config::GraphConfig;

use crate::common::Services;

/// The tables an earlier version keyed by a stream's name.
const NAMED_BY_CONSUMER: [&str; 3] = ["source_offsets", "stream_progress", "stream_heartbeats"];

/// Turns the tables back into what an earlier version made: names of at most 191 characters.
fn narrow_names_as_an_earlier_version_had_them(conn: &mut mysql::Conn) {
    for table in NAMED_BY_CONSUMER {
        conn.query_drop(format!("ALTER TABLE `{table}` MODIFY COLUMN `consumer` varchar(191) NOT NULL"))
            .expect("narrowing the names of streams");
    }
}

/// What the tables hold, by stream name: every row's name and the rest of its key.
fn stored(conn: &mut mysql::Conn) -> Vec<(String, String)> {
    conn.query(
        "SELECT consumer, CONCAT('offsets ', kafka_partition, '@', next_offset) FROM source_offsets \
         UNION ALL SELECT consumer, CONCAT('progress ', process, ' ', published_before_ms) FROM stream_progress \
         UNION ALL SELECT consumer, CONCAT('heartbeat ', process) FROM stream_heartbeats ORDER BY 1, 2",
    )
    .expect("reading what the streams stored")
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn db_init_renames_what_an_earlier_version_stored_to_the_name_of_the_same_views() {
    let s = Services::fresh("upgrade_names");
    s.succeed(&["db", "init"]);
    let mut conn = s.mysql();
    narrow_names_as_an_earlier_version_had_them(&mut conn);
    let (old, unknown) = ("stream 1m top 10 without trending", "a name no version gave");
    for name in [old, unknown] {
        conn.exec_drop(
            "INSERT INTO source_offsets (consumer, topic, kafka_partition, next_offset, handled_to, rebuild_from_ms) \
             VALUES (?, 'tweets', 0, 42, 40, 60000), (?, 'tweets', 1, 7, 7, 60000)",
            (name, name),
        )
        .expect("storing positions");
    }
    conn.exec_drop(
        "INSERT INTO stream_progress (consumer, topic, process, published_before_ms) VALUES (?, 'tweets', 0, 120000)",
        (old,),
    )
    .expect("storing progress");
    conn.exec_drop("INSERT INTO stream_heartbeats (consumer, process, beat_ms, stopped) VALUES (?, 0, 1, 1)", (old,))
        .expect("storing a heartbeat");

    // This version's stream would not find them under its own name: it refuses to start over them.
    let stream = ["stream", "--window", "1m", "--no-trending", "--until-idle", "1s"];
    let refused = s.run(&stream);
    assert!(!refused.status.success(), "{}", refused.stdout);
    assert!(refused.stderr.contains("run trendflow db init"), "{}", refused.stderr);

    let printed = s.succeed(&["db", "init"]);
    assert!(printed.contains("carried over to this version's names of their views: 1 streams"), "{printed}");
    let graph = GraphConfig::new(vec!["1m".parse().expect("a spec")], 10, 1_000).expect("a graph");
    let name = consumer_name(&graph);
    let name = name.as_str();
    let expected: Vec<(String, String)> = [
        (unknown, "offsets 0@42"),
        (unknown, "offsets 1@7"),
        (name, "heartbeat 0"),
        (name, "offsets 0@42"),
        (name, "offsets 1@7"),
        (name, "progress 0 120000"),
    ]
    .map(|(name, row)| (name.to_string(), row.to_string()))
    .to_vec();
    assert_eq!(stored(&mut conn), expected);
    // Run again, it has nothing left to rename.
    let again = s.succeed(&["db", "init"]);
    assert!(!again.contains("carried over"), "{again}");
    assert_eq!(stored(&mut conn), expected);
}

/// A stream of this version stored under the new name before `db init` renamed the old one (it
/// cannot, as it refuses the old tables, but a database restored from a copy might): its rows are
/// the newer, and the old name's go.
#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn positions_stored_under_the_new_name_win_over_an_earlier_versions() {
    let s = Services::fresh("upgrade_newer");
    s.succeed(&["db", "init"]);
    let graph = GraphConfig::new(vec!["1m".parse().expect("a spec")], 10, 1_000).expect("a graph");
    let name = consumer_name(&graph);
    let mut conn = s.mysql();
    conn.exec_drop(
        "INSERT INTO source_offsets (consumer, topic, kafka_partition, next_offset, handled_to, rebuild_from_ms) \
         VALUES (?, 'tweets', 0, 99, 99, 60000)",
        (&name,),
    )
    .expect("storing positions");
    conn.exec_drop(
        "INSERT INTO source_offsets (consumer, topic, kafka_partition, next_offset, handled_to, rebuild_from_ms) \
         VALUES ('stream 1m top 10 without trending', 'tweets', 0, 42, 40, 60000)",
        (),
    )
    .expect("storing positions");
    s.succeed(&["db", "init"]);
    assert_eq!(stored(&mut conn), [(name, "offsets 0@99".to_string())]);
}

/// The whole upgrade: a stream stores its positions, the database is turned back into what an
/// earlier version would have left (its names, its columns), and after `db init` the stream
/// resumes from those positions instead of reading its topic again from the start.
#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn an_upgraded_stream_resumes_from_the_positions_an_earlier_version_stored() {
    let s = Services::streaming("upgrade_resume", 2);
    s.succeed(&["produce", "--from", "generator", "--tweets", "3000"]);
    // Without the trending view's baseline, which reaches back before the first tweet, a restart
    // rereads only the windows not yet written: none, once the first run has closed them all.
    let stream = ["stream", "--window", "10s", "--no-trending", "--until-idle", "3s", "--no-archive"];
    let first = s.succeed(&stream);
    assert!(first.contains("3000 messages consumed") && !first.contains(" 0 checkpoints stored"), "{first}");
    let mut conn = s.mysql();
    for table in NAMED_BY_CONSUMER {
        conn.query_drop(format!("UPDATE `{table}` SET consumer = 'stream 10s top 10 without trending'"))
            .expect("renaming");
    }
    narrow_names_as_an_earlier_version_had_them(&mut conn);

    s.succeed(&["db", "init"]);
    let resumed = s.succeed(&stream);
    assert!(resumed.contains("resuming from stored positions"), "{resumed}");
    assert!(!resumed.contains("3000 messages consumed"), "the topic was read again from the start: {resumed}");
}
