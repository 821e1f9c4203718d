//! What the integration tests share: the real services, one database and one topic prefix per
//! test (so tests run in parallel without meeting), the trendflow binary, and the seed's dump.

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
use trendflow::service_env::point_at;
use trendflow::sink::mysql::views::read_windows;
use trendflow::source::seed_dump::{DumpReader, DumpRow};
use trendflow::source::seed_tweet::SeedTweet;
use trendflow::time::rfc3339;
use trendflow::vocabulary::dead_letter::DeadLetter;
use trendflow::vocabulary::snapshot::{RankedRow, SnapshotMessage, Span, ViewRows};
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
    pub fn windows_holding_tweets(&self, spec: &str) -> usize {
        let spec: WindowSpec = spec.parse().expect("a window spec");
        let (length, slide) = (spec.length_ms(), spec.slide_ms());
        let times: Vec<u64> = self.mysql().query("SELECT created_at_ms FROM tweets").expect("reading tweet times");
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

/// Every message of a topic (all partitions, from the beginning) as (key, value) text, read
/// until the consumer has reached the end of every partition and holds at least `at_least`
/// messages. Fails the test, saying what it read, if that takes longer than [`LIMIT`] or
/// the topic has no partitions.
pub fn read_topic(topic: &str, at_least: usize) -> Vec<(String, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", "trendflow-tests")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .expect("a test consumer");
    let metadata =
        consumer.fetch_metadata(Some(topic), LIMIT).unwrap_or_else(|e| panic!("reading {topic}'s metadata: {e}"));
    let partitions = metadata.topics().first().map_or(&[][..], |topic| topic.partitions());
    assert!(!partitions.is_empty(), "{topic} has no partitions: was it created?");
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        assignment.add_partition_offset(topic, partition.id(), Offset::Beginning).expect("assigning");
    }
    consumer.assign(&assignment).expect("assigning partitions");
    let deadline = Instant::now() + LIMIT;
    let mut at_end = std::collections::HashSet::new();
    let mut messages = Vec::new();
    while at_end.len() < partitions.len() || messages.len() < at_least {
        assert!(
            Instant::now() < deadline,
            "read {} of at least {at_least} messages of {topic} in {LIMIT:?}, {} of {} partitions to their end",
            messages.len(),
            at_end.len(),
            partitions.len()
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                at_end.remove(&message.partition());
                let text = |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).to_string();
                messages.push((text(message.key()), text(message.payload())));
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                at_end.insert(partition);
            }
            Some(Err(error)) => panic!("reading {topic}: {error}"),
            None => {}
        }
    }
    messages
}

/// A path of the test's own for a job's report (`--report PATH`), in the temporary directory.
pub fn report_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("trendflow_test_{}.json", unique(name)))
}

/// The report a job wrote to `path`, read as its type; the file is removed.
pub fn take_report<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading the report {}: {e}", path.display()));
    std::fs::remove_file(path).expect("removing the report");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("decoding the report {}: {e}\n{text}", path.display()))
}

/// The dead letters of `topic`, read as [`read_topic`] reads, until at least `at_least` are in.
pub fn read_dead_letters(topic: &str, at_least: usize) -> Vec<DeadLetter> {
    let letters = read_topic(topic, at_least);
    letters.iter().map(|(_, value)| serde_json::from_str(value).expect("a dead letter")).collect()
}

/// How many snapshots [`check_snapshots`] checked, of all three ranking topics.
#[derive(Debug)]
pub struct CheckedSnapshots {
    pub live: usize,
    pub finals: usize,
}

/// Checks every snapshot the stream published on the ranking topics (of `topic_prefix`) against
/// the reference for the stream's views of `tweets` under `config`: each one's rows, with their
/// ranks, and the trending view's partial baseline, over the span it states — a final one's
/// window, a live one's `[span_start, as_of)`. Each window of the reference's final views has
/// exactly one final snapshot, and no other window has one. A live snapshot has rows, and none is
/// as of a tick after the last tweet's (`tick_ms`: the stream's tick).
pub fn check_snapshots(topic_prefix: &str, tweets: &[Tweet], config: &GraphConfig, tick_ms: u64) -> CheckedSnapshots {
    let all = Tweets::new(tweets);
    let finals = reference::final_views(tweets, config);
    let mut spans: HashMap<(u64, u64), SpanViews> = HashMap::new();
    let last_tick = tweets.iter().map(|tweet| (tweet.created_at / tick_ms + 1) * tick_ms).max().unwrap_or(0);
    let mut checked = CheckedSnapshots { live: 0, finals: 0 };
    for (topic, kind) in [
        ("top_hashtags", ViewKind::Hashtags),
        ("top_tweets", ViewKind::Tweets),
        ("trending_hashtags", ViewKind::Trending),
    ] {
        let mut final_windows = BTreeSet::new();
        for (key, payload) in read_topic(&format!("{topic_prefix}{topic}"), 1) {
            let snapshot = SnapshotMessage::read(kind, payload.as_bytes())
                .unwrap_or_else(|e| panic!("a snapshot on {topic} ({e}): {payload}"));
            let spec: WindowSpec = snapshot.window.parse().expect("a window spec");
            let (length, as_of, end) = (spec.length_ms(), snapshot.as_of_ms, snapshot.window_end_ms);
            assert_eq!(snapshot.span_start_ms, as_of.saturating_sub(length), "{key}: {payload}");
            if snapshot.is_final {
                assert_eq!((snapshot.span, as_of), (Span::Window, end), "{key}: {payload}");
                assert!(final_windows.insert(Window { spec, end }), "{topic} {key}: a second final snapshot");
                checked.finals += 1;
            } else {
                assert_eq!(snapshot.span, Span::Rolling, "{key}: {payload}");
                assert!(
                    end - spec.slide_ms() < as_of && as_of < end,
                    "{key}: as of {as_of}, not in the slide before its window's end"
                );
                assert!(as_of <= last_tick, "{key}: live as of {as_of}, after the last tweet's tick {last_tick}");
                assert!(!snapshot.rows.is_empty(), "{key}: a live snapshot without rows");
                checked.live += 1;
            }
            let span = spans.entry((length, as_of)).or_insert_with(|| all.views_over(config, length, as_of));
            let expected = match kind {
                ViewKind::Hashtags => ViewRows::Hashtags(RankedRow::numbered(&span.hashtags, None)),
                ViewKind::Tweets => ViewRows::Tweets(RankedRow::numbered(&span.tweets, None)),
                _ => {
                    let trending = span.trending.clone().unwrap_or_default();
                    assert_eq!(snapshot.partial_baseline, Some(trending.partial_baseline), "{key}: {payload}");
                    ViewRows::Trending(RankedRow::numbered(&trending.rows, Some(trending.partial_baseline)))
                }
            };
            assert_eq!(
                snapshot.rows, expected,
                "{topic} {key}: the rows differ from the reference over [{}, {})",
                snapshot.span_start, snapshot.as_of
            );
        }
        let expected: BTreeSet<Window> = match kind {
            ViewKind::Hashtags => finals.hashtags.keys().copied().collect(),
            ViewKind::Tweets => finals.tweets.keys().copied().collect(),
            _ => finals.trending.keys().copied().collect(),
        };
        assert_eq!(final_windows, expected, "{topic}: the windows with a final snapshot");
    }
    checked
}

/// A live snapshot of the window of `spec` ending at `end`, as of a second before its end, with
/// `rows`: as `stream` publishes one before the window closes.
pub fn live_snapshot(spec: &str, end: u64, rows: Value) -> Vec<u8> {
    let length = spec.parse::<WindowSpec>().expect("a window spec").length_ms();
    let as_of = end - 1_000;
    let message = SnapshotMessage {
        window: spec.to_string(),
        window_start: rfc3339(end.saturating_sub(length)),
        window_end: rfc3339(end),
        window_end_ms: end,
        is_final: false,
        span: Span::Rolling,
        span_start: rfc3339(as_of.saturating_sub(length)),
        span_start_ms: as_of.saturating_sub(length),
        as_of: rfc3339(as_of),
        as_of_ms: as_of,
        partial_baseline: None,
        rows,
    };
    serde_json::to_vec(&message).expect("a snapshot encodes")
}

/// Sends raw messages, as (partition, key, payload), waiting until the broker has them all.
/// Messages up to 4 MB may go (the stream must see, and refuse, more than its own limit).
pub fn send_messages(topic: &str, messages: &[(i32, String, Vec<u8>)]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("message.max.bytes", "4000000")
        .create()
        .expect("a test producer");
    for (partition, key, payload) in messages {
        producer
            .send(BaseRecord::to(topic).partition(*partition).key(key).payload(payload))
            .expect("queueing a message");
        producer.poll(Duration::ZERO);
    }
    producer.flush(LIMIT).expect("the broker takes the test messages");
}

/// A tweet as the seed's producer sends it to the `tweets` topic.
pub fn seed_json(tweet: &Tweet) -> Vec<u8> {
    serde_json::to_vec(&SeedTweet::from_tweet(tweet.clone())).expect("a tweet encodes as JSON")
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

/// A running trendflow command whose standard output and error are collected as they come, so a
/// test can wait for what it says.
pub struct Watched {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// Collects what a child writes to `pipe`, on a thread of its own, as it comes. A character whose
/// bytes a read splits waits for the rest, rather than becoming two replacement characters.
fn collect(pipe: Option<impl Read + Send + 'static>) -> (Arc<Mutex<String>>, JoinHandle<()>) {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let reader = std::thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut buffer = [0u8; 8192];
        let mut pending = Vec::new();
        while let Ok(read @ 1..) = pipe.read(&mut buffer) {
            pending.extend_from_slice(&buffer[..read]);
            let complete = match std::str::from_utf8(&pending) {
                Err(error) if error.error_len().is_none() => error.valid_up_to(),
                _ => pending.len(),
            };
            sink.lock().expect("output buffer").push_str(&String::from_utf8_lossy(&pending[..complete]));
            pending.drain(..complete);
        }
        sink.lock().expect("output buffer").push_str(&String::from_utf8_lossy(&pending));
    });
    (text, reader)
}

/// What a [`Watched`] command printed, once it ended.
pub struct Ended {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ended {
    /// Its standard output; fails the test, with both outputs, unless it succeeded.
    pub fn succeeded(&self) -> &str {
        assert!(self.status.success(), "failed ({}):\n{}\n{}", self.status, self.stdout, self.stderr);
        &self.stdout
    }
}

impl Watched {
    pub fn spawn(mut command: Command) -> Self {
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starting the trendflow binary");
        let (stdout, out_reader) = collect(child.stdout.take());
        let (stderr, err_reader) = collect(child.stderr.take());
        Watched { child, stdout, stderr, readers: vec![out_reader, err_reader] }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What it printed so far, standard output then error.
    pub fn printed(&self) -> String {
        format!("{}{}", self.stdout.lock().expect("output buffer"), self.stderr.lock().expect("output buffer"))
    }

    /// Waits for the job to say where it serves its metrics (`--metrics-listen`), and returns
    /// that URL.
    pub fn metrics_url(&mut self) -> String {
        self.wait_for_output("/metrics", LIMIT);
        let printed = self.printed();
        let url = printed.split("metrics on ").nth(1).and_then(|rest| rest.split_whitespace().next());
        url.unwrap_or_else(|| panic!("no metrics URL in:\n{printed}")).to_string()
    }

    /// Waits until it has printed `text` (on either output); fails the test if it ends first or
    /// does not within `limit`.
    pub fn wait_for_output(&mut self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.printed().contains(text) {
            if let Some(status) = self.child.try_wait().expect("polling a command") {
                self.read_to_end();
                assert!(
                    self.printed().contains(text),
                    "ended ({status}) before printing {text:?}:\n{}",
                    self.printed()
                );
                return;
            }
            assert!(Instant::now() < deadline, "waited {limit:?} for {text:?}; printed:\n{}", self.printed());
            sleep(POLL);
        }
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("polling a command").is_none()
    }

    /// Kills it with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaping a killed command");
    }

    /// Sends it SIGTERM, as an operator stopping it would.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.id().to_string()]).status().expect("running kill");
        assert!(status.success(), "kill -TERM {}", self.id());
    }

    /// Waits until everything it printed has been collected: its pipes are closed once it ended.
    fn read_to_end(&mut self) {
        for reader in self.readers.drain(..) {
            reader.join().expect("an output reader");
        }
    }

    /// Waits for it to end; fails the test (and kills it) if it runs longer than `limit`.
    pub fn finish(mut self, limit: Duration) -> Ended {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("polling a command") {
                break status;
            }
            if Instant::now() > deadline {
                self.child.kill().ok();
                panic!("still running after {limit:?}; printed:\n{}", self.printed());
            }
            sleep(POLL);
        };
        self.read_to_end();
        let take = |text: &Arc<Mutex<String>>| std::mem::take(&mut *text.lock().expect("output buffer"));
        Ended { status, stdout: take(&self.stdout), stderr: take(&self.stderr) }
    }
}

/// A command the test no longer waits for (it failed first) is killed, not left running.
impl Drop for Watched {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Metrics in Prometheus' text format, parsed by a Prometheus text parser.
pub struct Metrics {
    scrape: prometheus_parse::Scrape,
    pub text: String,
}

impl Metrics {
    /// Parses `text`; fails the test unless it is Prometheus' text format.
    pub fn parse(text: String) -> Self {
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).expect("Prometheus text");
        Metrics { scrape, text }
    }

    /// Scrapes `url` and parses what it answers.
    pub fn scrape(url: &str) -> Self {
        let mut response = ureq::get(url).call().unwrap_or_else(|e| panic!("scraping {url}: {e}"));
        Metrics::parse(response.body_mut().read_to_string().expect("metrics text"))
    }

    /// The sum of the counters or gauges named `metric` with every label of `labels`; `None` if
    /// there is none.
    pub fn value(&self, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .scrape
            .samples
            .iter()
            .filter(|sample| sample.metric == metric)
            .filter(|sample| labels.iter().all(|(name, value)| sample.labels.get(name) == Some(*value)))
            .map(|sample| match sample.value {
                prometheus_parse::Value::Counter(value) | prometheus_parse::Value::Gauge(value) => value,
                _ => panic!("{metric} is neither a counter nor a gauge"),
            })
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// The time series of `metric`: how many samples of it there are, one per set of labels.
    pub fn series(&self, metric: &str) -> usize {
        self.scrape.samples.iter().filter(|sample| sample.metric == metric).count()
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM to `name`.crt and
/// `name`.key under `dir`; gives both paths and the certificate, for a client to trust.
pub fn self_signed(dir: &std::path::Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("a self-signed certificate");
    let (cert, key) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    std::fs::write(&cert, made.cert.pem()).expect("writing the certificate");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("writing the key");
    (cert, key, made.cert.der().to_vec())
}

/// A client that trusts only `certificate`, presenting `token`.
pub fn trusting(certificate: &[u8]) -> ureq::Agent {
    let roots = RootCerts::Specific(Arc::new(vec![Certificate::from_der(certificate).to_owned()]));
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(LIMIT))
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .build()
        .into()
}

/// A running `trendflow serve` on a port of its own.
pub struct Server {
    pub process: Watched,
    pub base: String,
    pub agent: ureq::Agent,
    /// The bearer token its requests present, for a server started with `--auth-token-file`.
    pub token: Option<String>,
}

impl Server {
    /// Starts `trendflow serve` against `s` on a free port, and waits until it says where.
    pub fn start(s: &Services) -> Self {
        Server::start_with(s, &[])
    }

    /// Starts `trendflow serve` against `s` with `flags` too, as [`Server::start`] does.
    pub fn start_with(s: &Services, flags: &[&str]) -> Self {
        let mut process = s.watch(&[&["serve", "--listen", "127.0.0.1:0"], flags].concat());
        process.wait_for_output("serving on http", LIMIT);
        let printed = process.printed();
        let base = printed
            .split("serving on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("the address it serves on")
            .to_string();
        let agent =
            ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(LIMIT)).build().into();
        Server { process, base, agent, token: None }
    }

    /// The status and body of `GET path`.
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.call().expect("an HTTP answer");
        let body = response.body_mut().read_to_string().expect("a text body");
        (response.status().as_u16(), body)
    }

    /// The JSON body of `GET path`, which must answer `status`.
    pub fn json(&self, path: &str, status: u16) -> Value {
        let (got, body) = self.get(path);
        assert_eq!(got, status, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.process.is_running() {
            self.process.terminate();
        }
    }
}

/// A character a pipe's read splits in two reaches the test whole (the demo's multilingual
/// rankings once compared unequal across processes this way).
#[test]
fn output_split_inside_a_character_is_collected_whole() {
    let mut command = Command::new("sh");
    // One write of 8,191 bytes of `a` and an `é`: the collector's 8 KiB read ends inside the `é`.
    command.args(["-c", "printf '%s\\303\\251\\n' \"$(head -c 8191 /dev/zero | tr '\\0' a)\""]);
    let ended = run_bounded(command);
    assert_eq!(ended.stdout.len(), 8191 + "é\n".len());
    assert!(ended.stdout.ends_with("aé\n"), "{:?}", &ended.stdout[8180..]);
}
