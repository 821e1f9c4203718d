//! The batch layer against a real MariaDB (started by `scripts/test.sh`): the seed's dump loaded,
//! `trendflow batch` run, and its stored views checked against the reference implementation and
//! against the same ranking computed by MariaDB itself in SQL; plus the errors a user meets.

use std::collections::BTreeMap;

use crate::common::{
    default_graph, report_path, seed_dump, seed_tweets, server_url, stored_views, take_report, Services,
};
use mysql::prelude::Queryable;
use trendflow::mysql::history::Share;
use trendflow::vocabulary::rejection::RejectionKind;
use trendflow::vocabulary::report::batch::BatchReport;
use trendflow::vocabulary::report::db::LoadReport;
use trendflow::vocabulary::Layer;
use trendflow_dataflows::reference;
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::Tweet;

/// Top-10 hashtags per window as MariaDB computes them from `tweets` and `tweet_hashtags` (the
/// dump's own entities), independently of trendflow's code: window end, rank, hashtag, count.
fn sql_top_hashtags(url: &str, spec: WindowSpec) -> Vec<(i64, i64, String, i64)> {
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).expect("URL")).expect("connecting");
    let windows_per_tweet = (spec.length_ms() / spec.slide_ms()) as i64;
    conn.exec(
        "WITH RECURSIVE offsets (i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM offsets WHERE i + 1 < ?),
         occurrences AS (
           SELECT (FLOOR(t.created_at_ms / ?) + 1 + o.i) * ? AS window_end, h.hashtag, th.count AS n
           FROM tweets t JOIN tweet_hashtags th ON th.tweet_id = t.tweet_id
                JOIN hashtags h ON h.hashtag_id = th.hashtag_id CROSS JOIN offsets o),
         counts AS (SELECT window_end, hashtag, SUM(n) AS c FROM occurrences GROUP BY window_end, hashtag),
         ranked AS (SELECT window_end, hashtag, c,
                           ROW_NUMBER() OVER (PARTITION BY window_end ORDER BY c DESC, hashtag) AS r FROM counts)
         SELECT CAST(window_end AS SIGNED), CAST(r AS SIGNED), hashtag, CAST(c AS SIGNED)
         FROM ranked WHERE r <= 10 ORDER BY window_end, r",
        (windows_per_tweet, spec.slide_ms(), spec.slide_ms()),
    )
    .expect("the oracle query runs")
}

/// In the seed's nine minutes #hurricaneida is steady, about ten a minute, while #ida jumps from
/// about ten a minute to 24 in the minute to 23:57 as the storm's news spread: with one-minute
/// windows and a three-minute baseline (complete from 23:55, the dump starting at 23:51), #ida
/// trends there and #hurricaneida does not.
#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn ida_trends_in_the_seed_as_the_news_spread() {
    let db = Services::fresh("seed_trending");
    let dump = seed_dump();
    db.succeed(&["db", "init"]);
    db.succeed(&["db", "load", dump.to_str().expect("UTF-8 path")]);
    db.succeed(&["batch", "--window", "1m", "--trend-baseline", "3m"]);
    let json = db.succeed(&["views", "--layer", "batch", "--window", "1m", "--kind", "trending", "--format", "json"]);
    let rows: Vec<serde_json::Value> =
        json.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    let window = |end: &str| rows.iter().filter(|row| row["window_end"] == end).collect::<Vec<_>>();
    let rising = window("2021-08-29 23:57:00");
    let ida = rising.iter().find(|row| row["hashtag"] == "ida").expect("#ida trends at 23:57");
    // Its counts from the dump's own entities, in SQL: 24 in the window, 29 in the baseline.
    let end = 1_630_281_420_000u64; // 2021-08-29 23:57:00 UTC
    let occurrences = |from: u64, to: u64| -> u64 {
        db.mysql()
            .exec_first(
                "SELECT CAST(SUM(th.count) AS UNSIGNED) FROM tweets t JOIN tweet_hashtags th USING (tweet_id) \
                 JOIN hashtags h USING (hashtag_id) WHERE h.hashtag = 'ida' AND t.created_at_ms >= ? AND t.created_at_ms < ?",
                (from, to),
            )
            .expect("counting #ida")
            .flatten()
            .unwrap_or(0)
    };
    let (c, b) = (occurrences(end - 60_000, end), occurrences(end - 240_000, end - 60_000));
    assert_eq!((c, b), (24, 29));
    assert_eq!((ida["count"].as_u64(), ida["baseline"].as_u64()), (Some(c), Some(b)), "{ida}");
    assert_eq!(ida["partial_baseline"], false, "the baseline 23:53–23:56 is all in the dump");
    // DESIGN.md's score, written out here: μ = b·L/B, z = (c − μ)/√(μ + 1).
    let mu = b as f64 * 60_000.0 / 180_000.0;
    let z = (c as f64 - mu) / (mu + 1.0).sqrt();
    assert_eq!((ida["expected"].as_f64(), ida["score"].as_f64()), (Some(mu), Some(z)), "{ida}");
    assert!(!rising.iter().any(|row| row["hashtag"] == "hurricaneida"), "a steady hashtag does not trend: {rising:?}");
    let first = window("2021-08-29 23:52:00");
    assert!(first.iter().all(|row| row["partial_baseline"] == true), "the first window's baseline precedes the dump");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn batch_views_of_the_seed_equal_the_reference_and_the_sql_oracle() {
    let db = Services::fresh("seed");
    let url = db.mysql_url.clone();
    let dump = seed_dump();
    db.succeed(&["db", "init"]);
    let loaded = db.succeed(&["db", "load", dump.to_str().expect("UTF-8 path")]);
    assert!(loaded.contains("loaded 8759 tweets"), "{loaded}");
    let specs: Vec<WindowSpec> = vec!["1m".parse().unwrap(), "5m/1m".parse().unwrap()];
    db.succeed(&["batch", "--window", "1m", "--window", "5m/1m", "--top", "10", "-w", "2"]);

    let stored = stored_views(&url, Layer::Batch, &specs);
    let config = default_graph(specs.clone());
    let expected = reference::final_views(&seed_tweets(), &config);
    assert!(stored.window_count() > 10, "the seed's nine minutes give windows: {}", stored.window_count());
    assert!(stored == expected, "{}", stored.first_difference(&expected).unwrap_or_default());

    for spec in specs {
        let tsv = db.succeed(&["views", "--layer", "batch", "--window", &spec.to_string(), "--format", "tsv"]);
        let oracle: Vec<String> = sql_top_hashtags(&url, spec)
            .into_iter()
            .map(|(end, rank, hashtag, count)| {
                let end = trendflow::time::format_event_time(end as u64);
                format!("{end}\t{rank}\t{hashtag}\t{count}")
            })
            .collect();
        let printed: Vec<&str> = tsv.lines().collect();
        assert!(!oracle.is_empty());
        assert_eq!(printed, oracle, "window {spec}: trendflow views (left) and MariaDB's own ranking (right)");
    }

    // The run's time boundary per spec: the latest window end at or before its newest tweet.
    let newest = seed_tweets().iter().map(|tweet| tweet.created_at).max().unwrap();
    let runs: Vec<(String, u64, u64)> =
        db.mysql().query("SELECT window_spec, boundary_ms, tweets_read FROM batch_runs ORDER BY window_spec").unwrap();
    let minute_before_newest = newest - newest % 60_000;
    assert_eq!(
        runs,
        [("1m".to_string(), minute_before_newest, 8759), ("5m/1m".to_string(), minute_before_newest, 8759)]
    );
}

fn specs() -> Vec<WindowSpec> {
    vec!["1m".parse().unwrap(), "5m/1m".parse().unwrap()]
}

/// A rerun over a history that changed (its last three minutes deleted, as an operator purging
/// tweets would) stores the views of the history as it is now: every view of every window
/// recomputed, and the windows no tweet is left in deleted.
#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn rerunning_the_batch_over_a_changed_history_replaces_every_view_and_deletes_emptied_windows() {
    let db = Services::fresh("rerun");
    db.succeed(&["db", "init"]);
    db.succeed(&["db", "load", seed_dump().to_str().expect("UTF-8 path")]);
    db.succeed(&["batch", "--window", "1m", "--window", "5m/1m"]);
    let config = default_graph(specs());
    let before = stored_views(&db.mysql_url, Layer::Batch, &specs());
    let all = seed_tweets();
    let expected = reference::final_views(&all, &config);
    assert!(before == expected, "{}", before.first_difference(&expected).unwrap_or_default());

    let cutoff = all.iter().map(|tweet| tweet.created_at).max().expect("seed tweets") - 180_000;
    db.mysql().exec_drop("DELETE FROM tweets WHERE created_at_ms >= ?", (cutoff,)).expect("deleting tweets");
    db.succeed(&["batch", "--window", "1m", "--window", "5m/1m"]);
    let left: Vec<Tweet> = all.into_iter().filter(|tweet| tweet.created_at < cutoff).collect();
    let expected = reference::final_views(&left, &config);
    let after = stored_views(&db.mysql_url, Layer::Batch, &specs());
    assert!(after == expected, "{}", after.first_difference(&expected).unwrap_or_default());
    assert!(after.languages.len() < before.languages.len(), "windows were emptied: {}", after.languages.len());
}

/// Each worker reads a share of its own, and the server reads the shares apart: by MariaDB's own
/// handler counters, each of N workers makes it examine about 1/N of the rows (the hash of the id
/// once sat in the `WHERE` clause of a walk of the whole time index, and each worker's read
/// examined every row). The views are those one worker computes, over a history read in several
/// slices with a gap of years between the seed's tweets and generated ones.
#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn each_worker_makes_the_server_examine_only_its_share_of_the_history() {
    let db = Services::fresh("shares");
    db.succeed(&["db", "init"]);
    db.succeed(&["db", "load", seed_dump().to_str().expect("UTF-8 path")]);
    db.succeed(&["db", "generate", "--tweets", "50000"]);
    let stored: u64 = db.mysql().query_first("SELECT COUNT(*) FROM tweets").unwrap().unwrap();
    let batch = |workers: usize| -> BatchReport {
        let report = report_path("shares_report");
        let workers = workers.to_string();
        db.succeed(&[
            "batch",
            "--window",
            "1m",
            "--window",
            "5m/1m",
            "-w",
            &workers,
            "--report",
            report.to_str().unwrap(),
        ]);
        take_report(&report)
    };
    let alone = batch(1);
    let one_worker_views = stored_views(&db.mysql_url, Layer::Batch, &specs());
    assert_eq!(alone.shares.len(), 1);
    let examined = alone.shares[0].rows_examined;
    assert!(alone.shares[0].rows == stored && (stored..stored + 100).contains(&examined), "{alone}");

    for workers in [2, 3] {
        let report = batch(workers);
        let readers: Vec<usize> = report.shares.iter().map(|share| share.reader).collect();
        assert_eq!(readers, (0..workers).collect::<Vec<_>>(), "{report}");
        assert_eq!(report.shares.iter().map(|share| share.rows).sum::<u64>(), stored, "{report}");
        let about_a_share = stored as f64 / workers as f64;
        for share in &report.shares {
            assert!(share.rows as f64 > 0.9 * about_a_share, "an even split: {report}");
            // The share's own rows, plus the start and end of each bucket's range per slice.
            assert!(share.rows_examined as f64 <= 1.1 * about_a_share, "each examines about 1/{workers}: {report}");
        }
        let views = stored_views(&db.mysql_url, Layer::Batch, &specs());
        assert!(views == one_worker_views, "{}", views.first_difference(&one_worker_views).unwrap_or_default());
    }
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn csv_and_json_lines_load_with_their_hashtags_and_bad_rows_are_counted() {
    let db = Services::fresh("files");
    let url = db.mysql_url.clone();
    db.succeed(&["db", "init"]);
    let dir = std::env::temp_dir().join(format!("trendflow-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("tweets.csv");
    std::fs::write(
        &csv,
        "tweet_id,date_time,language,tweet\n1,2021-08-29 19:51:27 EDT,en,\"Hello #Rust, #rust\"\n2,not a date,en,x\n3,2021-08-29T23:51:30Z,ja,#東京\n",
    )
    .unwrap();
    let jsonl = dir.join("tweets.jsonl");
    std::fs::write(
        &jsonl,
        "{\"tweet_id\": 4, \"tweet\": \"#Rust\", \"date_time\": \"2021-08-29 23:52:00 UTC\", \"language\": \"en\"}\n{broken\n",
    )
    .unwrap();
    let loaded = db.succeed(&["db", "load", csv.to_str().unwrap()]);
    assert!(
        loaded.contains("loaded 2 tweets") && loaded.contains("rejected 1 rows") && loaded.contains("tweet 2"),
        "{loaded}"
    );
    let report = report_path("files");
    let loaded = db.succeed(&["db", "load", jsonl.to_str().unwrap(), "--report", report.to_str().unwrap()]);
    assert!(
        loaded.contains("loaded 1 tweets") && loaded.contains("rejected 1 rows") && loaded.contains("line 2"),
        "{loaded}"
    );
    // The report counts the refusals by kind, and keeps their reasons.
    let report: LoadReport = take_report(&report);
    assert_eq!(report.loaded, 1);
    assert_eq!(report.left_out.rejected, BTreeMap::from([(RejectionKind::MalformedJson, 1)]), "{loaded}");
    assert!(report.left_out.rejected_examples[0].starts_with("line 2: malformed tweet JSON"), "{loaded}");

    let mut conn = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
    let rust: Option<i64> = conn
        .query_first(
            "SELECT SUM(th.count) FROM tweet_hashtags th JOIN hashtags h USING (hashtag_id) WHERE h.hashtag = 'rust'",
        )
        .unwrap();
    assert_eq!(rust, Some(3), "two #rust in tweet 1 and one in tweet 4");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn generated_tweets_go_into_the_three_tables() {
    let db = Services::fresh("generate");
    let url = db.mysql_url.clone();
    db.succeed(&["db", "init"]);
    let out = db.succeed(&["db", "generate", "--tweets", "5000"]);
    assert!(out.contains("generated 5000 tweets"), "{out}");
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
    let (tweets, links, retweets): (i64, i64, i64) = conn
        .query_first("SELECT (SELECT COUNT(*) FROM tweets), (SELECT COUNT(*) FROM tweet_hashtags), (SELECT COUNT(retweet_of) FROM tweets)")
        .unwrap()
        .unwrap();
    assert_eq!(tweets, 5000);
    assert!(links > 2000 && retweets > 500, "links {links}, retweets {retweets}");

    // Workers' shares of the history partition it evenly. (Generated snowflake ids are all even:
    // shares by MOD(tweet_id, 2) once gave one worker everything.)
    let everything = (i64::MIN, i64::MAX);
    let shares: Vec<usize> = (0..2)
        .map(|reader| {
            let (query, params) = Share { reader, readers: 2 }.slice_query(everything.0, everything.1);
            conn.exec::<mysql::Row, _, _>(query, params).unwrap().len()
        })
        .collect();
    assert_eq!(shares.iter().sum::<usize>(), 5000);
    assert!(shares.iter().all(|share| *share > 2000), "{shares:?}");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_missing_server_wrong_password_and_missing_schema_get_one_clear_line() {
    let down =
        Services::with_mysql_url("mysql://trendflow:s3cret@127.0.0.1:1/trendflow").run(&["batch", "--mysql-wait", "0"]);
    let message = &down.stderr;
    assert!(!down.status.success());
    assert!(message.contains("127.0.0.1:1") && message.contains("is the server running?"), "{message}");
    assert!(!message.contains("s3cret"), "the password leaked: {message}");

    let user = server_url().replace("trendflow:trendflow@", "trendflow:wrong-password@");
    let denied = Services::with_mysql_url(&format!("{user}/trendflow")).run(&["batch"]);
    let message = &denied.stderr;
    assert!(!denied.status.success() && message.contains("check the user and password"), "{message}");
    assert!(!message.contains("wrong-password"), "the password leaked: {message}");

    let db = Services::fresh("noschema");
    let url = db.mysql_url.clone();
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(&server_url()).unwrap()).unwrap();
    conn.query_drop(format!("CREATE DATABASE `{}`", url.rsplit('/').next().unwrap())).unwrap();
    let missing = db.run(&["batch"]);
    let message = &missing.stderr;
    assert!(!missing.status.success() && message.contains("run trendflow db init"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "one line: {message}");
}

#[test]
#[ignore = "needs MariaDB: scripts/test.sh starts it and runs this"]
fn db_init_renames_the_view_columns_of_an_older_schema_and_keeps_their_rows() {
    let db = Services::fresh("renamed_columns");
    db.succeed(&["db", "init"]);
    let mut conn = db.mysql();
    // The view tables as versions before one name per field created them.
    for (table, old, new) in [
        ("view_top_hashtags", "occurrences", "count"),
        ("view_languages", "tweets", "count"),
        ("view_trending_hashtags", "occurrences", "count"),
        ("view_trending_hashtags", "baseline_occurrences", "baseline"),
    ] {
        conn.query_drop(format!("ALTER TABLE `{table}` CHANGE COLUMN `{new}` `{old}` bigint(20) NOT NULL"))
            .expect("restoring an older column name");
    }
    conn.query_drop(
        "INSERT INTO view_languages (layer, window_spec, window_end_ms, position, language, tweets) \
         VALUES ('batch', '1m', 60000, 1, 'en', 7)",
    )
    .expect("a row of the older shape");
    db.succeed(&["db", "init"]);
    db.succeed(&["db", "init"]);
    let json = db.succeed(&["views", "--layer", "batch", "--window", "1m", "--kind", "languages", "--format", "json"]);
    let row: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON line");
    assert_eq!((row["language"].as_str(), row["count"].as_u64(), row["rank"].as_u64()), (Some("en"), Some(7), Some(1)));
    assert_eq!(row["window_end_ms"], 60_000, "{row}");
}
