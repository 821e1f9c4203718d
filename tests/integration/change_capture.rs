//! Change capture (`produce --follow`) against a real MariaDB's binary log and a real broker:
//! rows written by other clients than trendflow (the `mariadb` client) reach the speed layer,
//! which then verifies against the batch layer; a follower killed at random moments resumes with
//! nothing missed; a MariaDB restart is ridden out; a purged position ends with the way back;
//! the stream's archive is not followed back into the topic; rows that break the input rules are
//! dead-lettered; a server without the binary log is told what it lacks.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use mysql::prelude::Queryable;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use trendflow::mysql::binlog::{Followed, Snapshot, TweetChange, TweetChanges};
use trendflow::mysql::MysqlArgs;
use trendflow::source::seed_tweet::SeedTweet;
use trendflow::time::format_utc_date_time;
use trendflow::vocabulary::rejection::RejectionKind;
use trendflow::vocabulary::report::produce::ProduceReport;
use trendflow_dataflows::Tweet;

use crate::common::{
    private_mariadb, private_mariadb_database, read_dead_letters, read_topic, report_path, seed_tweets, take_report,
    test_seed, wait_for, Services, Watched, LIMIT,
};

const WINDOWS: [&str; 4] = ["--window", "1m", "--window", "2m/30s"];

/// The port of these tests' own MariaDB, which they restart and purge the logs of.
const MARIADB_PORT: &str = "3309";

/// An `INSERT` of `tweets` with the seed's four columns only, as the seed's application wrote
/// them: no event time (`created_at_ms`), which the follower fills in.
fn seed_insert(tweets: &[Tweet]) -> String {
    let rows: Vec<String> = tweets
        .iter()
        .map(|tweet| {
            format!(
                "({}, {}, {}, {})",
                tweet.id,
                mysql::Value::from(&tweet.text).as_sql(false),
                mysql::Value::from(format_utc_date_time(tweet.created_at)).as_sql(false),
                mysql::Value::from(&tweet.lang).as_sql(false)
            )
        })
        .collect();
    format!("INSERT INTO tweets (tweet_id, tweet, date_time, language) VALUES {};\n", rows.join(", "))
}

/// Runs `sql` through the `mariadb` command-line client, as another application would.
fn mariadb_client(url: &str, sql: &str) {
    let opts = mysql::Opts::from_url(url).expect("URL");
    let client = if Command::new("mariadb").arg("--version").output().is_ok() { "mariadb" } else { "mysql" };
    let mut child = Command::new(client)
        .args([
            "-h",
            opts.get_ip_or_hostname().as_ref(),
            "-P",
            &opts.get_tcp_port().to_string(),
            "-u",
            opts.get_user().unwrap_or_default(),
            &format!("-p{}", opts.get_pass().unwrap_or_default()),
            opts.get_db_name().unwrap_or_default(),
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("running the mariadb client");
    child.stdin.take().expect("stdin").write_all(sql.as_bytes()).expect("writing SQL to the client");
    assert!(child.wait().expect("the mariadb client").success(), "the mariadb client failed on:\n{sql:.400}");
}

fn config(url: &str) -> trendflow::mysql::MysqlConfig {
    MysqlArgs { url: url.to_string(), wait_secs: 60 }.config().expect("MySQL settings")
}

/// The distinct tweet ids the tweets topic holds, reading until at least `at_least` are in.
fn ids_in_topic(s: &Services, at_least: usize) -> BTreeSet<u64> {
    let topic = format!("{}tweets", s.topic_prefix);
    let mut ids = BTreeSet::new();
    wait_for(&format!("{at_least} distinct tweets in {topic}"), LIMIT, || {
        ids = read_topic(&topic, 0)
            .iter()
            .map(|(_, value)| serde_json::from_str::<SeedTweet>(value).expect("a tweet message").tweet_id)
            .collect();
        ids.len() >= at_least
    });
    ids
}

/// Starts the follower against `s`, with `extra` flags, and waits until it follows the log.
fn follower(s: &Services, report: &std::path::Path, extra: &[&str]) -> Watched {
    let report = report.to_str().expect("a path");
    let mut follower = s.watch(&[&["produce", "--follow", "--mysql-wait", "60", "--report", report], extra].concat());
    follower.wait_for_output("following", LIMIT);
    follower
}

/// Stops the follower with SIGTERM and returns its report.
fn stop_follower(follower: Watched, report: &std::path::Path) -> ProduceReport {
    follower.terminate();
    let ended = follower.finish(LIMIT);
    ended.succeeded();
    take_report(report)
}

#[test]
#[ignore = "needs MariaDB: scripts/test.sh starts it and runs this"]
fn the_log_reader_reads_committed_changes_to_tweets_by_column_name() {
    let s = Services::fresh("binlog_reader");
    s.succeed(&["db", "init"]);
    let config = config(&s.mysql_url);
    let mut conn = s.mysql();
    let start = Snapshot::start(&mut conn, &config).expect("a snapshot").position;
    let tweets: Vec<Tweet> = seed_tweets().into_iter().take(3).collect();
    mariadb_client(&s.mysql_url, &seed_insert(&tweets[..2]));
    // Written by a client that marks its writes, as the stream's archive does: not followed.
    let mut archive = config.unfollowed().connect().expect("an unfollowed connection");
    archive.query_drop(seed_insert(&tweets[2..])).expect("an unfollowed insert");
    mariadb_client(
        &s.mysql_url,
        &format!(
            "ALTER TABLE tweets ADD COLUMN added_by_someone varchar(10) DEFAULT 'x' FIRST;\n\
             UPDATE tweets SET language = 'xx' WHERE tweet_id = {};\n\
             DELETE FROM tweets WHERE tweet_id = {};\n",
            tweets[0].id, tweets[1].id
        ),
    );
    let mut reader = TweetChanges::new(&config, 9_000 + std::process::id() % 1000, start);
    let mut changes = Vec::new();
    while changes.len() < 4 {
        match reader.next_committed().expect("reading the log") {
            Followed::Committed { changes: committed, .. } => changes.extend(committed),
            Followed::Idle => panic!("the log went idle after {changes:?}"),
        }
    }
    let written = |change: &TweetChange| match change {
        TweetChange::Written(Ok(logged)) => Some((logged.row.tweet_id, logged.row.language.clone())),
        _ => None,
    };
    let languages: Vec<_> = changes.iter().filter_map(written).collect();
    assert_eq!(
        languages,
        [
            (tweets[0].id, Some(tweets[0].lang.clone())),
            (tweets[1].id, Some(tweets[1].lang.clone())),
            (tweets[0].id, Some("xx".to_string())),
        ],
        "{changes:?}"
    );
    assert_eq!(changes[3], TweetChange::Deleted);
    // A reader resuming where this one stopped reads on from there, with nothing more to read.
    let mut resumed = TweetChanges::new(&config, 9_000 + std::process::id() % 1000, reader.position().clone());
    assert!(matches!(resumed.next_committed().expect("resuming the log"), Followed::Idle));
    match &changes[0] {
        TweetChange::Written(Ok(logged)) => {
            assert!(!logged.has_event_time);
            assert_eq!(logged.row.tweet.as_deref(), Some(tweets[0].text.as_str()));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn rows_another_client_inserts_reach_the_speed_layer_which_verifies() {
    let s = Services::streaming("capture_pipeline", 2);
    let tweets = seed_tweets();
    let (before, after) = tweets.split_at(tweets.len() / 2);
    // Half the seed is stored before the follower starts (its snapshot sends them), half is
    // inserted while it follows, in small transactions, by the mariadb client.
    mariadb_client(&s.mysql_url, &before.chunks(500).map(seed_insert).collect::<String>());
    let report = report_path("capture_pipeline");
    let following = follower(&s, &report, &[]);
    let stream = s.watch(&[&["stream", "-w2", "--until-idle", "8s"], &WINDOWS[..]].concat());
    for chunk in after.chunks(250) {
        mariadb_client(&s.mysql_url, &seed_insert(chunk));
    }
    // Rows that break the input rules: an id outside the range, a date that is none.
    mariadb_client(
        &s.mysql_url,
        "INSERT INTO tweets (tweet_id, tweet, date_time, language) VALUES (-5, '#bad', '2021-08-29 19:51:27 EDT', 'en');\n\
         INSERT INTO tweets (tweet_id, tweet, date_time, language) VALUES (17, '#bad', 'yesterday', 'en');\n",
    );
    let letters = read_dead_letters(&format!("{}tweets_dead_letter", s.topic_prefix), 2);
    let kinds: BTreeSet<RejectionKind> = letters.iter().map(|letter| letter.kind).collect();
    assert_eq!(kinds, BTreeSet::from([RejectionKind::IdOutOfRange, RejectionKind::InvalidDate]), "{letters:?}");
    assert!(letters.iter().all(|letter| letter.topic.contains(".tweets@mysql-bin.")), "{letters:?}");
    let streamed = stream.finish(LIMIT);
    streamed.succeeded();
    let report = stop_follower(following, &report);
    let follow = report.follow.clone().expect("a follow report");
    assert_eq!((follow.snapshot_rows, follow.followed_rows), (before.len() as u64, after.len() as u64), "{report}");
    assert_eq!(follow.dead_lettered, 2);
    assert_eq!(follow.event_times_filled, tweets.len() as u64, "every good row was written without one");
    // The two bad rows stay in MySQL, as the application wrote them; the batch layer leaves them
    // out as the follower did.
    s.succeed(&[&["batch"], &WINDOWS[..]].concat());
    s.verify_every_window(&["1m", "2m/30s"], &WINDOWS);
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_follower_killed_at_random_moments_resumes_with_nothing_missed() {
    let s = Services::streaming("capture_kills", 2);
    let tweets = seed_tweets();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(test_seed());
    let report = report_path("capture_kills");
    let inserts = {
        let url = s.mysql_url.clone();
        let tweets = tweets.clone();
        std::thread::spawn(move || {
            let mut conn = mysql::Conn::new(mysql::Opts::from_url(&url).expect("URL")).expect("connecting");
            for chunk in tweets.chunks(5) {
                conn.query_drop(seed_insert(chunk)).expect("inserting tweets");
            }
        })
    };
    // Each follower is killed once a random number of rows more are stored: while it reads,
    // sends or stores what the inserts wrote.
    let stored = || -> usize {
        let count: Option<usize> = s.mysql().query_first("SELECT COUNT(*) FROM tweets").expect("counting tweets");
        count.unwrap_or(0)
    };
    for _ in 0..4 {
        let killed = follower(&s, &report, &[]);
        let moment = (stored() + rng.random_range(0..1_500)).min(tweets.len());
        wait_for(&format!("{moment} tweets stored"), LIMIT, || stored() >= moment);
        killed.kill();
    }
    inserts.join().expect("the inserting thread");
    let last = follower(&s, &report, &[]);
    let expected: BTreeSet<u64> = tweets.iter().map(|tweet| tweet.id).collect();
    let ids = ids_in_topic(&s, expected.len());
    assert_eq!(ids, expected, "every tweet is in the topic, and nothing else");
    let report = stop_follower(last, &report);
    assert!(report.follow.expect("a follow report").resumed_from.is_some());
    s.succeed(&[&["stream", "-w2", "--until-idle", "5s"], &WINDOWS[..]].concat());
    s.succeed(&[&["batch"], &WINDOWS[..]].concat());
    s.verify_every_window(&["1m", "2m/30s"], &WINDOWS);
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn the_stream_archive_is_not_followed_back_into_the_topic() {
    let s = Services::streaming("capture_loop", 2);
    let report = report_path("capture_loop");
    let following = follower(&s, &report, &["--skip-snapshot"]);
    s.succeed(&["produce", "--from", "generator", "--tweets", "3000"]);
    s.succeed(&[&["stream", "--until-idle", "5s"], &WINDOWS[..]].concat());
    let archived: Option<u64> = s.mysql().query_first("SELECT COUNT(*) FROM tweets").expect("counting");
    assert_eq!(archived, Some(3000));
    // A row of another client's after the archive's writes: once it is in the topic, the follower
    // has read past every one of them.
    let marker = Tweet {
        id: 77,
        text: "#marker".into(),
        created_at: 1_700_000_000_000,
        lang: "en".into(),
        user_id: None,
        retweet_of: None,
    };
    mariadb_client(&s.mysql_url, &seed_insert(&[marker]));
    ids_in_topic(&s, 3001);
    let follow = stop_follower(following, &report).follow.expect("a follow report");
    assert_eq!((follow.snapshot_rows, follow.followed_rows), (0, 1), "only the other client's row is followed");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_mariadb_restart_is_ridden_out_and_a_purged_position_ends_with_the_way_back() {
    private_mariadb(MARIADB_PORT, "start");
    let url = private_mariadb_database(MARIADB_PORT, "capture_restart");
    let s = Services { mysql_url: url.clone(), ..Services::fresh("capture_restart") };
    s.succeed(&["db", "init"]);
    s.succeed(&["topics", "create", "--partitions", "2"]);
    // The server's superuser, through its socket: what an operator would do to it.
    let root = |sql: &str| -> String {
        let socket = format!("{}/mariadb-{MARIADB_PORT}/mariadbd.sock", cache_dir());
        let output = Command::new("mariadb")
            .args(["--no-defaults", "-S", &socket, "-uroot", "-N", "-e", sql])
            .output()
            .expect("the mariadb client");
        assert!(output.status.success(), "{sql}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // A server without column names in its log is told what it lacks, and how to fix it.
    root("SET GLOBAL binlog_row_metadata = 'MINIMAL'");
    let refused = s.run(&["produce", "--follow"]);
    assert!(!refused.status.success());
    assert!(
        refused.stderr.contains("binlog_row_metadata is MINIMAL, not FULL")
            && refused.stderr.contains("SET GLOBAL binlog_row_metadata = 'FULL'"),
        "{}",
        refused.stderr
    );
    root("SET GLOBAL binlog_row_metadata = 'FULL'");

    let tweets = seed_tweets();
    let (first, rest) = tweets.split_at(3000);
    let (second, third) = rest.split_at(3000);
    let report = report_path("capture_restart");
    let following = follower(&s, &report, &[]);
    mariadb_client(&url, &first.chunks(500).map(seed_insert).collect::<String>());
    ids_in_topic(&s, first.len());
    private_mariadb(MARIADB_PORT, "stop");
    private_mariadb(MARIADB_PORT, "start");
    mariadb_client(&url, &second.chunks(500).map(seed_insert).collect::<String>());
    ids_in_topic(&s, first.len() + second.len());
    let stopped = stop_follower(following, &report);
    assert!(stopped.follow.expect("a follow report").stored_position.is_some());

    // While no follower runs, rows come, and the log they are in is purged.
    mariadb_client(&url, &third.chunks(500).map(seed_insert).collect::<String>());
    // MariaDB keeps a log until its transactions are durable in InnoDB: purge until only the
    // newest is left.
    root("FLUSH BINARY LOGS");
    wait_for("the older binary logs to be purged", LIMIT, || {
        let logs = root("SHOW BINARY LOGS");
        let newest = logs.lines().last().and_then(|line| line.split('\t').next()).expect("a binary log").to_string();
        root(&format!("PURGE BINARY LOGS TO '{newest}'"));
        root("SHOW BINARY LOGS").lines().count() == 1
    });
    let purged = s.run(&["produce", "--follow", "--mysql-wait", "60"]);
    assert!(!purged.status.success());
    assert!(purged.stderr.contains("--resnapshot"), "{}", purged.stderr);
    let resnapshot = follower(&s, &report, &["--resnapshot"]);
    let expected: BTreeSet<u64> = tweets.iter().map(|tweet| tweet.id).collect();
    assert_eq!(ids_in_topic(&s, expected.len()), expected, "a new snapshot sends every tweet");
    assert_eq!(stop_follower(resnapshot, &report).follow.expect("a follow report").snapshot_rows, tweets.len() as u64);
    private_mariadb(MARIADB_PORT, "stop");
}

/// Where the scripts keep their services' data.
fn cache_dir() -> String {
    std::env::var("TRENDFLOW_CACHE")
        .unwrap_or_else(|_| format!("{}/.cache/trendflow", std::env::var("HOME").expect("HOME")))
}
