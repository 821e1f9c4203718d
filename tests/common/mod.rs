//! What the integration tests share: the real services, one database and one topic prefix per
//! test (so tests run in parallel without meeting), the trendflow binary, and the seed's dump.

#![allow(dead_code)] // Each test crate uses its own part of this module.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use mysql::prelude::Queryable;
use trendflow::source::seed_dump::{DumpReader, DumpRow};
use trendflow_dataflows::views::{FinalViews, HashtagCount, LanguageCount, TweetScore};
use trendflow_dataflows::window::{Window, WindowSpec};
use trendflow_dataflows::Tweet;

/// The MariaDB the tests use: `scripts/mysql.sh` prepares this user.
pub fn server_url() -> String {
    std::env::var("TRENDFLOW_TEST_MYSQL").unwrap_or_else(|_| "mysql://trendflow:trendflow@127.0.0.1:3306".into())
}

/// The broker the tests use: `scripts/kafka.sh` starts it.
pub fn brokers() -> String {
    std::env::var("TRENDFLOW_TEST_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn unique(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{name}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A database of its own for a test (`scripts/test.sh` drops old ones); returns its URL.
pub fn fresh_database(name: &str) -> String {
    let database = format!("trendflow_test_{}", unique(name));
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(&server_url()).expect("test server URL")).expect(
        "connecting to the test MariaDB; scripts/test.sh starts it (scripts/mysql.sh), or set TRENDFLOW_TEST_MYSQL",
    );
    conn.query_drop(format!("DROP DATABASE IF EXISTS `{database}`")).expect("dropping an old test database");
    format!("{}/{database}", server_url())
}

/// Where one test's trendflow commands point: its database, and its own topics on the broker.
pub struct Services {
    pub mysql_url: String,
    pub topic_prefix: String,
    pub brokers: String,
}

impl Services {
    /// A fresh database and a topic prefix no other test uses.
    pub fn fresh(name: &str) -> Self {
        Services { mysql_url: fresh_database(name), topic_prefix: format!("{}.", unique(name)), brokers: brokers() }
    }

    /// Only a database, at `url` (for tests of connection errors).
    pub fn with_mysql_url(url: &str) -> Self {
        Services { mysql_url: url.to_string(), topic_prefix: String::new(), brokers: brokers() }
    }

    /// A trendflow command against these services.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trendflow"));
        command
            .args(args)
            .env("TRENDFLOW_MYSQL_URL", &self.mysql_url)
            .env("TRENDFLOW_BROKERS", &self.brokers)
            .env("TRENDFLOW_TOPIC_PREFIX", &self.topic_prefix);
        command
    }

    /// Runs trendflow against these services.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running the trendflow binary")
    }

    /// Runs trendflow and returns its standard output; fails the test, with both outputs, if the
    /// command fails.
    pub fn succeed(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert!(
            output.status.success(),
            "trendflow {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// The windows a layer has final views of, as (spec, end), in order.
    pub fn windows(&self, layer: &str) -> Vec<(String, u64)> {
        self.mysql()
            .exec(
                "SELECT DISTINCT window_spec, window_end_ms FROM view_languages WHERE layer = ? ORDER BY 1, 2",
                (layer,),
            )
            .expect("listing windows")
    }

    /// A connection to the test's database.
    pub fn mysql(&self) -> mysql::Conn {
        mysql::Conn::new(mysql::Opts::from_url(&self.mysql_url).expect("URL")).expect("connecting to the test database")
    }
}

/// A layer's stored final views of `specs`.
pub fn stored_views(url: &str, layer: &str, specs: &[WindowSpec]) -> FinalViews {
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).expect("URL")).expect("connecting");
    let mut views = FinalViews::default();
    for spec in specs {
        let window = |end: i64| Window { spec: *spec, end: end as u64 };
        let key = (layer, spec.to_string());
        let rows: Vec<(i64, String, u64)> = conn
            .exec("SELECT window_end_ms, hashtag, occurrences FROM view_top_hashtags WHERE layer = ? AND window_spec = ? ORDER BY window_end_ms, position", key.clone())
            .expect("reading hashtags");
        for (end, hashtag, count) in rows {
            views.hashtags.entry(window(end)).or_default().push(HashtagCount { hashtag, count });
        }
        let rows: Vec<(i64, i64, u64, u64)> = conn
            .exec("SELECT window_end_ms, tweet_id, retweets, hashtags FROM view_top_tweets WHERE layer = ? AND window_spec = ? ORDER BY window_end_ms, position", key.clone())
            .expect("reading tweets");
        for (end, tweet_id, retweets, hashtags) in rows {
            views.tweets.entry(window(end)).or_default().push(TweetScore {
                tweet_id: tweet_id as u64,
                retweets,
                hashtags,
            });
        }
        let rows: Vec<(i64, String, u64)> = conn
            .exec("SELECT window_end_ms, language, tweets FROM view_languages WHERE layer = ? AND window_spec = ? ORDER BY window_end_ms, position", key)
            .expect("reading languages");
        for (end, lang, count) in rows {
            views.languages.entry(window(end)).or_default().push(LanguageCount { lang, count });
        }
    }
    views
}

/// The seed's real dump, from the shared data beside the project (never copied into it).
pub fn seed_dump() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/tweet_hashtags_db.sql")
}

/// The seed's tweets, as the dump holds them.
pub fn seed_tweets() -> Vec<Tweet> {
    let file = File::open(seed_dump()).expect("opening the seed dump");
    DumpReader::new(BufReader::new(file))
        .filter_map(|row| match row.expect("the seed dump parses") {
            DumpRow::Tweet(row) => Some(row.into_tweet().expect("seed rows are valid")),
            _ => None,
        })
        .collect()
}
