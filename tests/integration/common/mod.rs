//! What the integration tests share: the real services, one database and one topic prefix per
//! test (so tests run in parallel without meeting), the trendflow binary, and the seed's dump;
//! reading and checking what the jobs wrote to the broker ([`topics`]) and MySQL (here), the
//! processes a test runs ([`processes`]) and the server it queries ([`server`]); hosts of their
//! own in network namespaces ([`hosts`]).

mod hosts;
mod processes;
mod server;
mod topics;

pub use hosts::*;
pub use processes::*;
pub use server::*;
pub use topics::*;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{sleep, JoinHandle};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use trendflow::mysql::views::read_windows;
use trendflow::service_env::point_at;
use trendflow::source::seed_dump::{DumpReader, DumpRow};
use trendflow::source::seed_tweet::SeedTweet;
use trendflow::vocabulary::dead_letter::DeadLetter;
use trendflow::vocabulary::snapshot::{Coverage, RankedRow, SnapshotMessage, Span, ViewRows};
use trendflow::vocabulary::{Layer, ViewKind};
use trendflow_dataflows::config::{GraphConfig, TrendConfig};
use trendflow_dataflows::reference::{self, SpanViews, Tweets};
use trendflow_dataflows::views::{FinalViews, TrendingWindow};
use trendflow_dataflows::window::{Window, WindowSpec};
use trendflow_dataflows::Tweet;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

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

/// The trendflow binary with `args`, pointed at no service.
pub fn trendflow(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trendflow"));
    command.args(args);
    command
}

/// Runs `command` to its end, collecting what it prints; fails the test (and kills it) if it runs
/// longer than [`LIMIT`].
pub fn run_bounded(command: Command) -> Ended {
    Watched::spawn(command).finish(LIMIT)
}

/// One of the project's scripts (`scripts/NAME`).
pub fn script(name: &str) -> Command {
    Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/").to_string() + name)
}

/// Runs a script; fails the test if it fails.
pub fn run_script(command: &mut Command) {
    let status = command.status().expect("running a script");
    assert!(status.success(), "{command:?} failed");
}

/// Notes a service of a test's own for `scripts/test.sh` to stop when the run ends (its
/// `TRENDFLOW_TEST_SERVICES` file; a test run by hand without it leaves the service running).
fn note_started(kind: &str, port: &str) {
    let Some(path) = std::env::var_os("TRENDFLOW_TEST_SERVICES") else { return };
    let mut file = std::fs::OpenOptions::new().append(true).create(true).open(&path).expect("the services file");
    writeln!(file, "{kind} {port}").expect("noting a started service");
}

/// A broker of a test's own on `port` (`scripts/kafka.sh` with `argument`: `--fresh`, `--crash`,
/// or none to start it), for what must not disturb the other tests' broker: crashing it, or
/// deleting topics, which has made tansu's storage fail while others produce.
pub fn private_broker(port: &str, argument: Option<&str>) -> String {
    note_started("broker", port);
    run_script(script("kafka.sh").env("TRENDFLOW_KAFKA_PORT", port).args(argument));
    format!("127.0.0.1:{port}")
}

/// Does `action` (`start`, `stop`, `kill`) to a MariaDB of a test's own on `port`
/// (`scripts/mariadb-instance`), for what must not disturb the other tests' server: crashing it.
pub fn private_mariadb(port: &str, action: &str) {
    note_started("mariadb", port);
    run_script(script("mariadb-instance").args([port, action]));
}

/// A database `name` on the private MariaDB on `port`, emptied; returns its URL.
pub fn private_mariadb_database(port: &str, name: &str) -> String {
    let server = format!("mysql://trendflow:trendflow@127.0.0.1:{port}");
    let mut conn =
        mysql::Conn::new(mysql::Opts::from_url(&server).expect("URL")).expect("connecting to the private MariaDB");
    conn.query_drop(format!("DROP DATABASE IF EXISTS trendflow_{name}")).expect("dropping an old database");
    format!("{server}/trendflow_{name}")
}

/// Where one test's trendflow commands point: its database, and its own topics on the broker.
pub struct Services {
    pub mysql_url: String,
    pub topic_prefix: String,
    pub brokers: String,
}

impl Services {
    /// trendflow's own Kafka settings for these services: their brokers and topic prefix.
    pub fn kafka_config(&self) -> trendflow::kafka::KafkaConfig {
        trendflow::kafka::KafkaArgs {
            brokers: self.brokers.clone(),
            settings: Vec::new(),
            topic_prefix: self.topic_prefix.clone(),
            kafka_wait_secs: 10,
        }
        .config()
        .expect("Kafka settings")
    }

    /// A fresh database and a topic prefix no other test uses.
    pub fn fresh(name: &str) -> Self {
        Services { mysql_url: fresh_database(name), topic_prefix: format!("{}.", unique(name)), brokers: brokers() }
    }

    /// Fresh services ready for a stream: the schema in the database, and the topics with
    /// `partitions` partitions each.
    pub fn streaming(name: &str, partitions: u32) -> Self {
        let s = Services::fresh(name);
        s.succeed(&["db", "init"]);
        s.succeed(&["topics", "create", "--partitions", &partitions.to_string()]);
        s
    }

    /// Only a database, at `url` (for tests of connection errors).
    pub fn with_mysql_url(url: &str) -> Self {
        Services { mysql_url: url.to_string(), topic_prefix: String::new(), brokers: brokers() }
    }

    /// Starts trendflow against these services, watching what it prints.
    pub fn watch(&self, args: &[&str]) -> Watched {
        Watched::spawn(self.command(args))
    }

    /// A trendflow command against these services.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = trendflow(args);
        self.point(&mut command);
        command
    }

    /// Points `command`, a trendflow process or a script that starts them, at these services.
    pub fn point<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        point_at(command, &self.mysql_url, &self.brokers, &self.topic_prefix)
    }

    /// Runs trendflow against these services to its end, within [`LIMIT`].
    pub fn run(&self, args: &[&str]) -> Ended {
        run_bounded(self.command(args))
    }

    /// Runs trendflow and returns its standard output; fails the test, with both outputs, if the
    /// command fails.
    pub fn succeed(&self, args: &[&str]) -> String {
        let ended = self.run(args);
        assert!(
            ended.status.success(),
            "trendflow {args:?} failed ({}):\n{}\n{}",
            ended.status,
            ended.stdout,
            ended.stderr
        );
        ended.stdout
    }

    /// Runs `verify` with `args` and checks that it found the layers identical over exactly the
    /// windows of `specs` that hold a stored tweet. `verify` compares the range of windows both
    /// layers cover, so without the count a layer that lost its last windows would pass.
    pub fn verify_every_window(&self, specs: &[&str], args: &[&str]) -> String {
        let verified = self.succeed(&[&["verify"], args].concat());
        let expected: BTreeMap<&str, usize> =
            specs.iter().map(|spec| (*spec, self.windows_holding_tweets(spec))).collect();
        let counts: Vec<String> = expected.iter().map(|(spec, count)| format!("{count} windows of {spec}")).collect();
        let expected = format!("identical: {} (", counts.join(", "));
        assert!(verified.starts_with(&expected), "expected {expected:?}, verify printed:\n{verified}");
        verified
    }

    /// How many windows of `spec` hold a stored tweet, counted from the `tweets` table: the
    /// window ends `E`, multiples of the slide, with `E - L <= t < E` for some tweet's time `t`.
    /// A row without an event time (one another client wrote that breaks the input rules) holds
    /// none.
    pub fn windows_holding_tweets(&self, spec: &str) -> usize {
        let spec: WindowSpec = spec.parse().expect("a window spec");
        let (length, slide) = (spec.length_ms(), spec.slide_ms());
        let times: Vec<u64> = self
            .mysql()
            .query("SELECT created_at_ms FROM tweets WHERE created_at_ms IS NOT NULL")
            .expect("reading tweet times");
        let ends: BTreeSet<u64> =
            times.iter().flat_map(|&t| (t / slide + 1..=(t + length) / slide).map(move |n| n * slide)).collect();
        ends.len()
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

    /// Makes every insert into `table` fail from now on, as a full disk or a revoked grant would;
    /// returns the error message the inserts get.
    pub fn refuse_writes(&self, table: &str) -> String {
        let message = format!("{table} is unwritable in this test");
        self.mysql()
            .query_drop(format!(
                "CREATE TRIGGER `unwritable_{table}` BEFORE INSERT ON `{table}` FOR EACH ROW \
                 SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{message}'"
            ))
            .expect("creating a trigger that refuses writes");
        message
    }

    /// A connection to the test's database.
    pub fn mysql(&self) -> mysql::Conn {
        mysql::Conn::new(mysql::Opts::from_url(&self.mysql_url).expect("URL")).expect("connecting to the test database")
    }
}

/// A path of the test's own for a job's report (`--report PATH`), in the temporary directory.
pub fn report_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("trendflow_test_{}.json", unique(name)))
}

/// A path of the test's own in the temporary directory, for a file or directory it makes.
pub fn scratch_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("trendflow_test_{}", unique(name)))
}

/// The report a job wrote to `path`, read as its type; the file is removed.
pub fn take_report<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading the report {}: {e}", path.display()));
    std::fs::remove_file(path).expect("removing the report");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("decoding the report {}: {e}\n{text}", path.display()))
}

/// The graph the jobs run by default for `specs` (top 10, the trending view with its defaults),
/// for the reference to compute the views they should store; the tick plays no part in those.
pub fn default_graph(specs: Vec<WindowSpec>) -> GraphConfig {
    let graph = GraphConfig::new(specs, 10, 60_000).expect("valid specs");
    graph.with_trending(TrendConfig::default()).expect("the default baseline is a multiple of the tick")
}

/// A layer's stored final views of `specs`: every view, the trending view's floats as the f64
/// values the table holds, read as `views` and `verify` read them.
pub fn stored_views(url: &str, layer: Layer, specs: &[WindowSpec]) -> FinalViews {
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).expect("URL")).expect("connecting");
    let mut views = FinalViews::default();
    for spec in specs {
        for kind in ViewKind::ALL {
            let windows = read_windows(&mut conn, layer, kind, &spec.to_string(), 0..=i64::MAX as u64, usize::MAX)
                .expect("reading the view tables");
            for (end, rows) in windows {
                let window = Window { spec: *spec, end };
                match rows {
                    ViewRows::Hashtags(rows) => drop(views.hashtags.insert(window, unranked(rows))),
                    ViewRows::Tweets(rows) => drop(views.tweets.insert(window, unranked(rows))),
                    ViewRows::Languages(rows) => drop(views.languages.insert(window, unranked(rows))),
                    ViewRows::Trending(rows) => {
                        let partial_baseline = rows.iter().any(|ranked| ranked.partial_baseline == Some(true));
                        views.trending.insert(window, TrendingWindow { partial_baseline, rows: unranked(rows) });
                    }
                }
            }
        }
    }
    views
}

/// Rows without their ranks (their order is their rank).
fn unranked<R>(rows: Vec<RankedRow<R>>) -> Vec<R> {
    rows.into_iter().map(|ranked| ranked.row).collect()
}

/// The seed's real dump: `TRENDFLOW_SEED_DUMP`, or the shared data beside the project (never
/// copied into it). `scripts/test.sh` checks for it before any test runs; this says the same to a
/// test run by hand.
pub fn seed_dump() -> PathBuf {
    let path = std::env::var_os("TRENDFLOW_SEED_DUMP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/tweet_hashtags_db.sql"));
    assert!(path.is_file(), "{}", missing_seed_dump(&path));
    path
}

/// What the seed dump is and where to put it, for a run that cannot find it.
fn missing_seed_dump(path: &std::path::Path) -> String {
    format!(
        "the seed's MySQL dump (tweet_hashtags_db.sql: 8,759 real tweets of 2021-08-29, with Twitter's hashtag \
         entities) is not at {}; put it there (beside the project, as ../shared/data/), or set TRENDFLOW_SEED_DUMP \
         to its path",
        path.display()
    )
}

/// The seed's tweets, as the dump holds them.
pub fn seed_tweets() -> Vec<Tweet> {
    let path = seed_dump();
    let file = File::open(&path).unwrap_or_else(|e| panic!("opening the seed dump {}: {e}", path.display()));
    DumpReader::new(BufReader::new(file))
        .filter_map(|row| match row.expect("the seed dump parses") {
            DumpRow::Tweet(row) => Some(row.into_tweet().expect("seed rows are valid")),
            _ => None,
        })
        .collect()
}

/// How often a condition is checked while a test waits for it.
const POLL: Duration = Duration::from_millis(100);

/// How long any one step of a test may take — a command, a read of a topic, a wait for a
/// condition: a bound on a hang (a stream whose `--until-idle` never fires), not an expectation
/// of speed, so generous that a loaded machine never meets it.
pub const LIMIT: Duration = Duration::from_secs(600);

/// A TCP port on 127.0.0.1 for a process a test starts, when the process must be told its port
/// before it binds it (a cluster's hostfile). Taken from a range below Linux's ephemeral ports
/// (32768 and up), which `bind(:0)` and outgoing connections use, so no other socket is given
/// it in the meantime; a counter keeps this binary's tests apart, the process id other runs'.
pub fn unused_port() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    const FIRST: usize = 20_000;
    const PORTS: usize = 12_000;
    let offset = std::process::id() as usize * 97;
    loop {
        let port = (FIRST + (offset + NEXT.fetch_add(1, Ordering::Relaxed)) % PORTS) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The seed of a test's randomness: `TRENDFLOW_TEST_SEED` to replay a run, or a new one. Printed,
/// so that a failing run's output says how to replay it.
pub fn test_seed() -> u64 {
    let seed = match std::env::var("TRENDFLOW_TEST_SEED") {
        Ok(seed) => seed.parse().unwrap_or_else(|e| panic!("TRENDFLOW_TEST_SEED={seed}: {e}")),
        Err(_) => rand::random(),
    };
    eprintln!("random seed {seed}: replay with TRENDFLOW_TEST_SEED={seed}");
    seed
}

/// Waits until `condition` holds, checking every 100 ms; fails the test, saying `what` it waited
/// for, if it does not within `limit`. Limits are generous: they only bound a test that would
/// otherwise hang, on machines of any speed.
pub fn wait_for(what: &str, limit: Duration, condition: impl FnMut() -> bool) {
    wait_for_or_explain(what, limit, condition, String::new);
}

/// As [`wait_for`]; if the condition never holds, the failure also says what `explain` tells
/// (what a process involved printed, say).
pub fn wait_for_or_explain(
    what: &str,
    limit: Duration,
    mut condition: impl FnMut() -> bool,
    explain: impl FnOnce() -> String,
) {
    let deadline = Instant::now() + limit;
    while !condition() {
        if Instant::now() >= deadline {
            panic!("waited {limit:?} for {what}{}", explain());
        }
        sleep(POLL);
    }
}
