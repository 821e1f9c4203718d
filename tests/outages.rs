//! Service outages against real services of the tests' own, which they stop and crash without
//! disturbing other tests: a broker (`scripts/kafka.sh` on its own port) crashed and restarted
//! while `produce` and `stream` run, and a MariaDB (`scripts/mariadb-instance`) killed and
//! restarted during `batch` and while `stream` writes. The jobs wait, say what they wait for, and
//! finish with views that verify; a service that stays away past the allowed wait ends the job
//! with a clear error.

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{stored_views, Services};
use mysql::prelude::Queryable;
use trendflow_dataflows::window::WindowSpec;

/// The port of the tests' own broker, and of their own MariaDB.
const BROKER_PORT: &str = "9194";
const MARIADB_PORT: &str = "3307";

const WINDOWS: [&str; 4] = ["--window", "1m", "--window", "2m/30s"];

fn specs() -> Vec<WindowSpec> {
    vec!["1m".parse().unwrap(), "2m/30s".parse().unwrap()]
}

fn script(name: &str) -> Command {
    Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/").to_string() + name)
}

fn run_script(command: &mut Command) {
    let status = command.status().expect("running a script");
    assert!(status.success(), "{command:?} failed");
}

fn broker(argument: Option<&str>) {
    run_script(script("kafka.sh").env("TRENDFLOW_KAFKA_PORT", BROKER_PORT).args(argument));
}

fn mariadb(action: &str) {
    run_script(script("mariadb-instance").args([MARIADB_PORT, action]));
}

/// A database on the tests' own MariaDB, emptied.
fn private_database(name: &str) -> String {
    let server = format!("mysql://trendflow:trendflow@127.0.0.1:{MARIADB_PORT}");
    let mut conn =
        mysql::Conn::new(mysql::Opts::from_url(&server).unwrap()).expect("connecting to the private MariaDB");
    conn.query_drop(format!("DROP DATABASE IF EXISTS trendflow_{name}")).expect("dropping an old database");
    format!("{server}/trendflow_{name}")
}

fn spawn(s: &Services, args: &[&str]) -> Child {
    s.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starting trendflow")
}

/// Waits for a command, failing the test if it runs longer than `limit`.
fn finish(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("polling").is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("still running after {limit:?}");
        }
        sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("collecting output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

fn succeeded(output: &Output) -> (String, String) {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

/// Batches what the stream archived and checks the layers agree on every window.
fn verify_layers(s: &Services) {
    s.succeed(&[&["batch"], &WINDOWS[..]].concat());
    let verified = s.succeed(&[&["verify"], &WINDOWS[..]].concat());
    assert!(verified.starts_with("identical"), "{verified}");
    assert_eq!(s.windows("speed"), s.windows("batch"), "the speed layer has every window");
}

fn stream_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<&str> = vec!["stream", "-w2"];
    args.extend(WINDOWS);
    args.extend(extra);
    args.into_iter().map(String::from).collect()
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Starts 20,000 generated tweets into 2 partitions, at 2,000 a second, and a stream (with
/// `extra` flags, for both) that archives them.
fn start_pipeline(s: &Services, extra: &[&str]) -> (Child, Child) {
    s.succeed(&["db", "init"]);
    s.succeed(&["topics", "create", "--partitions", "2"]);
    let produce = ["produce", "--from", "generator", "--tweets", "20000", "--event-rate", "50", "--rate", "2000"];
    let producer = spawn(s, &[&produce[..], extra].concat());
    let stream = spawn(s, &refs(&stream_args(&[&["--until-idle", "8s"], extra].concat())));
    (producer, stream)
}

/// Waits for the pipeline: every tweet confirmed and archived once, none dead-lettered, and the
/// layers verify. Returns what the stream logged.
fn finish_pipeline(s: &Services, producer: Child, stream: Child) -> String {
    let (produced, _) = succeeded(&finish(producer, Duration::from_secs(120)));
    assert!(produced.contains("20000 confirmed, 0 failed"), "{produced}");
    let (streamed, logged) = succeeded(&finish(stream, Duration::from_secs(180)));
    assert!(streamed.contains(" 0 dead-lettered") && streamed.contains("20000 archived"), "{streamed}");
    let tweets: Option<u64> = s.mysql().query_first("SELECT COUNT(*) FROM tweets").unwrap();
    assert_eq!(tweets, Some(20000));
    verify_layers(s);
    logged
}

#[test]
fn produce_and_stream_ride_out_a_broker_crash_and_end_when_it_stays_away() {
    broker(Some("--fresh"));
    let s = Services { brokers: format!("127.0.0.1:{BROKER_PORT}"), ..Services::fresh("brokeroutage") };
    // After a crash tansu sometimes rejects an idempotent producer's retried batches as out of
    // sequence, which ends it for good (see the README); without idempotence it just retries.
    let (producer, stream) = start_pipeline(&s, &["--kafka-wait", "30", "-X", "enable.idempotence=false"]);
    sleep(Duration::from_secs(3));
    broker(Some("--crash"));
    sleep(Duration::from_secs(4));
    broker(None);
    let waited = finish_pipeline(&s, producer, stream);
    assert!(waited.contains("not answering") && waited.contains("answering again"), "{waited}");

    // Away for longer than --kafka-wait: the stream ends, and says why.
    let stream = spawn(&s, &refs(&stream_args(&["--kafka-wait", "3"])));
    sleep(Duration::from_secs(3));
    broker(Some("--crash"));
    let ended = finish(stream, Duration::from_secs(60));
    let message = text(&ended.stderr);
    assert!(!ended.status.success(), "{message}");
    assert!(message.contains("has not answered") && message.contains("--kafka-wait"), "{message}");
    broker(None);
}

#[test]
fn batch_and_stream_ride_out_a_database_crash_and_end_when_it_stays_away() {
    mariadb("start");
    let s = Services { mysql_url: private_database("outage_batch"), ..Services::fresh("dboutage") };
    s.succeed(&["db", "init"]);
    s.succeed(&["db", "generate", "--tweets", "600000"]);
    let batch_args = [&["batch", "--mysql-wait", "60"], &WINDOWS[..]].concat();
    let batch = spawn(&s, &batch_args);
    sleep(Duration::from_millis(700));
    mariadb("kill");
    sleep(Duration::from_secs(2));
    mariadb("start");
    let (_, waited) = succeeded(&finish(batch, Duration::from_secs(180)));
    assert!(waited.contains("connection lost while reading tweets for the batch layer"), "{waited}");
    assert!(waited.contains("reconnected"), "{waited}");
    let after_crash = stored_views(&s.mysql_url, "batch", &specs());
    s.succeed(&batch_args);
    let undisturbed = stored_views(&s.mysql_url, "batch", &specs());
    assert!(!undisturbed.hashtags.is_empty());
    assert!(after_crash == undisturbed, "{}", after_crash.first_difference(&undisturbed).unwrap_or_default());

    // Away for longer than --mysql-wait: the batch ends, and says why.
    let batch = spawn(&s, &[&["batch", "--mysql-wait", "3"], &WINDOWS[..]].concat());
    sleep(Duration::from_millis(700));
    mariadb("kill");
    let ended = finish(batch, Duration::from_secs(60));
    let message = text(&ended.stderr);
    assert!(!ended.status.success(), "{message}");
    assert!(message.contains("did not come back") || message.contains("is the server running?"), "{message}");
    mariadb("start");

    // The stream archives and writes views while the database crashes and comes back.
    let s = Services { mysql_url: private_database("outage_stream"), ..Services::fresh("dboutage") };
    let (producer, stream) = start_pipeline(&s, &["--mysql-wait", "60"]);
    sleep(Duration::from_secs(3));
    mariadb("kill");
    sleep(Duration::from_secs(3));
    mariadb("start");
    let waited = finish_pipeline(&s, producer, stream);
    assert!(waited.contains("connection lost while"), "{waited}");
}
